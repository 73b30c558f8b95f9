//! The OpenTelemetry HTTP server labels beyond method, route and status: `url_scheme`,
//! `network_protocol_version` and, on failed requests only, `error_type`.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream;
use http::{Request, StatusCode, Version};
use http_body_util::BodyExt;
use rampart_core::semconv::ConnectionScheme;
use rampart_core::{Problem, codes};
use rampart_metrics::{MetricsLayer, Prometheus};
use rampart_test_support::{series, series_lines};
use tower::ServiceExt;

const COUNT: &str = "http_server_request_duration_seconds_count";

fn app(prometheus: &Prometheus) -> Router {
    Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route("/broken", get(|| async { StatusCode::BAD_GATEWAY }))
        .route(
            "/refused",
            get(|| async {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED)
                    .into_http_response::<Body>()
                    .into_response()
            }),
        )
        .route(
            "/cut",
            get(|| async {
                let chunks = stream::iter([
                    Ok(Bytes::from_static(b"first")),
                    Err(std::io::Error::other("upstream went away")),
                ]);
                Body::from_stream(chunks)
            }),
        )
        .layer(MetricsLayer::new().with_recorder(prometheus.recorder()))
}

async fn send(app: &Router, request: Request<Body>) -> StatusCode {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    // A body that fails is read to its error, as a server would send it.
    let _ = response.into_body().collect().await;
    status
}

fn request(uri: &str, version: Version) -> Request<Body> {
    Request::get(uri)
        .version(version)
        .body(Body::empty())
        .unwrap()
}

/// The scheme is the connection's, not the request line's: a plain-TCP client that writes an
/// absolute-form `https://` line, or an HTTP/2 client with a made-up `:scheme`, is `http`
/// (both used to label themselves, and multiply the series).
#[tokio::test]
async fn scheme_comes_from_the_connection_and_protocol_from_the_request() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    send(&app, request("/ok", Version::HTTP_11)).await;
    send(&app, request("https://example.com/ok", Version::HTTP_11)).await;
    send(&app, request("https://example.com/ok", Version::HTTP_2)).await;
    send(
        &app,
        request("gopher-7f3a://example.com/ok", Version::HTTP_2),
    )
    .await;
    for _ in 0..2 {
        let mut tls = request("https://example.com/ok", Version::HTTP_2);
        tls.extensions_mut().insert(ConnectionScheme::Https);
        send(&app, tls).await;
    }
    send(&app, request("/ok", Version::HTTP_10)).await;

    let text = prometheus.render();
    let ok = |scheme, version| {
        let labels = [
            ("http_route", "/ok"),
            ("url_scheme", scheme),
            ("network_protocol_version", version),
        ];
        series(&text, COUNT, &labels)
    };
    assert_eq!(ok("http", "1.1"), Some(2.0), "{text}");
    assert_eq!(ok("http", "2"), Some(2.0), "{text}");
    assert_eq!(ok("https", "2"), Some(2.0), "{text}");
    assert_eq!(ok("http", "1.0"), Some(1.0), "{text}");
    assert!(
        !text.contains("_OTHER") && !text.contains("gopher"),
        "{text}"
    );
    // The in-flight gauge carries the scheme too (and, per the conventions, no version).
    let gauge = [("http_route", "/ok"), ("url_scheme", "https")];
    assert_eq!(
        series(&text, "http_server_active_requests", &gauge),
        Some(0.0)
    );
    assert!(
        series_lines(&text, "http_server_active_requests", &[])
            .all(|line| !line.contains("network_protocol_version")),
        "{text}"
    );
}

#[tokio::test]
async fn error_type_names_server_errors_and_the_stacks_own_answers_only() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    assert_eq!(send(&app, request("/ok", Version::HTTP_11)).await, 200);
    assert_eq!(send(&app, request("/missing", Version::HTTP_11)).await, 404);
    assert_eq!(send(&app, request("/broken", Version::HTTP_11)).await, 502);
    assert_eq!(send(&app, request("/refused", Version::HTTP_11)).await, 429);
    assert_eq!(send(&app, request("/cut", Version::HTTP_11)).await, 200);

    let text = prometheus.render();
    let error_type = |route| {
        let labels = [("http_route", route)];
        // A request is given its series when its head is answered: one whose body then fails
        // leaves the series of its status without an error at 0.
        let lines: Vec<_> = series_lines(&text, COUNT, &labels)
            .filter(|line| !line.ends_with(" 0"))
            .collect();
        assert_eq!(lines.len(), 1, "{route}: {lines:?}");
        lines[0]
            .split_once("error_type=\"")
            .map(|(_, rest)| rest.split('"').next().unwrap().to_owned())
    };
    assert_eq!(error_type("/ok"), None);
    // A 4xx a handler made is the client's error, not the server's.
    assert_eq!(error_type("/missing"), None);
    assert_eq!(error_type("/broken").as_deref(), Some("502"));
    // A layer's own answer names the layer's reason, whatever its status.
    assert_eq!(error_type("/refused").as_deref(), Some("rate_limited"));
    // Its head said 200; its body failed: the request failed.
    assert_eq!(error_type("/cut").as_deref(), Some("response_body"));
    // Its bytes are counted in the failed series (the one without an error type is at 0).
    let cut = [("http_route", "/cut"), ("error_type", "response_body")];
    assert_eq!(
        series(&text, "http_server_response_body_size_bytes_sum", &cut),
        Some(5.0)
    );
}
