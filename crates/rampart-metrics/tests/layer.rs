//! Behaviour of `MetricsLayer` inside an axum router, read back through `Prometheus::render`.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use bytes::Bytes;
use futures_util::stream;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use rampart_metrics::{MetricsLayer, Prometheus};
use rampart_test_support::series;
use std::convert::Infallible;
use std::time::Duration;
use tower::ServiceExt;

async fn panics() -> &'static str {
    panic!("handler bug")
}

fn app(prometheus: &Prometheus) -> Router {
    Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .route(
            "/upload",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route("/never", get(std::future::pending::<&'static str>))
        .route("/panic", get(panics))
        .route(
            "/stream",
            get(|| async {
                let chunks = stream::unfold(0u8, |sent| async move {
                    if sent == 2 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let chunk = Bytes::from_static(b"0123456789");
                    Some((Ok::<_, Infallible>(chunk), sent + 1))
                });
                Body::from_stream(chunks)
            }),
        )
        .layer(MetricsLayer::new().with_recorder(prometheus.recorder()))
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

fn get_request(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn labels_use_the_route_template_and_fold_unknowns() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    for id in 0..5 {
        send(&app, get_request(&format!("/items/{id}"))).await;
    }
    for path in ["/nope", "/also/nope", "/x?y=z"] {
        let (status, _) = send(&app, get_request(path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let purge = Request::builder()
        .method(Method::from_bytes(b"PURGE").unwrap())
        .uri("/items/1")
        .body(Body::empty())
        .unwrap();
    send(&app, purge).await;

    let text = prometheus.render();
    let count = "http_server_request_duration_seconds_count";
    let items = [
        ("http_request_method", "GET"),
        ("http_route", "/items/{id}"),
        ("http_response_status_code", "200"),
    ];
    assert_eq!(series(&text, count, &items), Some(5.0));
    let unmatched = [
        ("http_route", "unmatched"),
        ("http_response_status_code", "404"),
    ];
    assert_eq!(series(&text, count, &unmatched), Some(3.0));
    let other = [("http_request_method", "_OTHER")];
    assert_eq!(series(&text, count, &other), Some(1.0));
    assert!(!text.contains("/items/1\""), "raw path in a label:\n{text}");
    assert!(!text.contains("/nope"), "raw path in a label:\n{text}");
    assert!(
        !text.contains("PURGE"),
        "unknown method in a label:\n{text}"
    );
}

#[tokio::test]
async fn histograms_have_explicit_buckets() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    send(&app, get_request("/items/1")).await;
    let text = prometheus.render();
    assert!(text.contains("# TYPE http_server_request_duration_seconds histogram"));
    assert!(text.contains("le=\"0.001\""));
    // The latency objective of deploy/prometheus/rampart.rules.yml is a bucket's edge.
    assert!(
        text.contains("http_server_request_duration_seconds_bucket{")
            && text.contains("le=\"0.2\"")
    );
    assert!(text.contains("le=\"10\""));
    assert!(text.contains("# TYPE http_server_response_body_size_bytes histogram"));
    assert!(text.contains("le=\"16777216\""));
    assert!(
        !text.contains("quantile="),
        "a summary was rendered:\n{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn duration_runs_until_the_body_has_streamed() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let (status, body) = send(&app, get_request("/stream")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), 20);

    let text = prometheus.render();
    let route = [("http_route", "/stream")];
    let sum = "http_server_request_duration_seconds_sum";
    let seconds = series(&text, sum, &route).unwrap();
    assert!(
        (4.0..4.1).contains(&seconds),
        "two chunks 2 s apart took {seconds} s"
    );
    let size_sum = "http_server_response_body_size_bytes_sum";
    assert_eq!(series(&text, size_sum, &route), Some(20.0));
}

#[tokio::test]
async fn request_body_sizes_are_recorded_with_and_without_content_length() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let sized = Request::post("/upload")
        .header("content-length", "5")
        .body(Body::from("hello"))
        .unwrap();
    assert_eq!(send(&app, sized).await.1, "5");
    let chunks = stream::iter([
        Ok::<_, Infallible>(Bytes::from_static(b"abc")),
        Ok(Bytes::from_static(b"defg")),
    ]);
    let chunked = Request::post("/upload")
        .body(Body::from_stream(chunks))
        .unwrap();
    assert_eq!(send(&app, chunked).await.1, "7");

    let text = prometheus.render();
    let route = [("http_route", "/upload")];
    let sum = "http_server_request_body_size_bytes_sum";
    assert_eq!(series(&text, sum, &route), Some(12.0));
}

#[tokio::test]
async fn in_flight_gauge_returns_to_zero_when_the_client_goes_away() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let gauge = "http_server_active_requests";
    let never = [("http_route", "/never")];

    let pending = tokio::spawn(app.clone().oneshot(get_request("/never")));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(series(&prometheus.render(), gauge, &never), Some(1.0));

    pending.abort();
    assert!(pending.await.unwrap_err().is_cancelled());
    let text = prometheus.render();
    assert_eq!(series(&text, gauge, &never), Some(0.0));
    let count = "http_server_request_duration_seconds_count";
    assert_eq!(series(&text, count, &never), None, "no response, no sample");
}

#[tokio::test]
async fn in_flight_gauge_returns_to_zero_when_the_body_is_dropped_half_sent() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let gauge = "http_server_active_requests";
    let route = [("http_route", "/stream")];
    let response = app.clone().oneshot(get_request("/stream")).await.unwrap();
    assert_eq!(series(&prometheus.render(), gauge, &route), Some(1.0));
    drop(response);
    let text = prometheus.render();
    assert_eq!(series(&text, gauge, &route), Some(0.0));
    // The response had started, so its status is known and the request is counted.
    let count = "http_server_request_duration_seconds_count";
    assert_eq!(series(&text, count, &route), Some(1.0));
}

#[tokio::test]
async fn in_flight_gauge_returns_to_zero_when_the_handler_panics() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let task = tokio::spawn(app.clone().oneshot(get_request("/panic")));
    assert!(task.await.unwrap_err().is_panic());
    let route = [("http_route", "/panic")];
    let gauge = "http_server_active_requests";
    assert_eq!(series(&prometheus.render(), gauge, &route), Some(0.0));
}

#[tokio::test]
async fn two_registries_in_one_process_stay_apart() {
    let first = Prometheus::new();
    let second = Prometheus::new();
    send(&app(&first), get_request("/items/1")).await;
    assert!(first.render().contains("/items/{id}"));
    assert!(!second.render().contains("/items/{id}"));
}

#[test]
fn installing_the_global_recorder_twice_does_not_panic() {
    let installed = [
        Prometheus::new().install_global(),
        Prometheus::new().install_global(),
    ];
    // At most one install wins, and once one has, every later one says so.
    assert!(installed.iter().filter(|ok| **ok).count() <= 1);
    assert!(!Prometheus::new().install_global());
}

#[tokio::test]
async fn endpoint_serves_the_text_format() {
    let prometheus = Prometheus::new();
    prometheus
        .recorder()
        .counter("rampart_probe_total", &[])
        .increment(2);
    let endpoint = Router::new().route_service("/metrics", prometheus.endpoint());
    let response = endpoint
        .clone()
        .oneshot(get_request("/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("rampart_probe_total 2"));

    let post = Request::post("/metrics").body(Body::empty()).unwrap();
    let response = endpoint.oneshot(post).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}
