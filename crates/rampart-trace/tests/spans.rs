//! What the request span says, read by a subscriber that keeps every span and event.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::{Router, routing::get};
use http::{Request, StatusCode};
use rampart_test_support::{RecordedSpan, SpanRecorder};
use rampart_trace::{TraceContext, TraceId, TraceLayer};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn app() -> Router {
    Router::new()
        .route(
            "/items/{id}",
            get(|trace: TraceContext| async move {
                tracing::debug!(target: "rampart_cache", cache_status = "miss", "decided");
                trace.trace_id().to_string()
            }),
        )
        .route("/broken", get(|| async { StatusCode::BAD_GATEWAY }))
        .route(
            "/refused",
            get(|| async {
                rampart_core::Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            }),
        )
        .layer(TraceLayer::new())
}

/// Sends `request` with the capturing subscriber as the default, reading the whole body.
async fn send(app: Router, request: Request<Body>) -> (StatusCode, String, Vec<RecordedSpan>) {
    let spans = SpanRecorder::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        String::from_utf8(body.to_vec()).unwrap(),
        spans.spans(),
    )
}

fn get_request(path: &str) -> http::request::Builder {
    Request::get(path)
}

#[tokio::test]
async fn the_span_continues_the_callers_trace_and_names_the_route() {
    let request = get_request("/items/7")
        .header("traceparent", TRACEPARENT)
        .body(Body::empty())
        .unwrap();
    let (status, body, spans) = send(app(), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    let field = |name: &str| span.fields.get(name).map(String::as_str);
    assert_eq!(span.name, "request");
    assert_eq!(field("otel.name"), Some("GET /items/{id}"));
    assert_eq!(field("otel.kind"), Some("server"));
    assert_eq!(field("http.request.method"), Some("GET"));
    assert_eq!(field("http.route"), Some("/items/{id}"));
    assert_eq!(field("url.path"), Some("/items/7"));
    assert_eq!(field("url.scheme"), Some("http"));
    assert_eq!(field("network.protocol.version"), Some("1.1"));
    assert_eq!(field("http.response.status_code"), Some("200"));
    assert_eq!(field("trace_id"), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(field("error.type"), None);
    assert!(span.closed);
    // What a layer below decides is an event inside the request span.
    assert_eq!(span.events.len(), 1);
    assert_eq!(
        span.events[0].get("cache_status").map(String::as_str),
        Some("miss")
    );
}

#[tokio::test]
async fn a_malformed_traceparent_starts_a_new_trace_and_is_answered_as_usual() {
    for bad in [
        &TRACEPARENT.to_uppercase()[..],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\tinjected=1",
        "",
    ] {
        let request = get_request("/items/7")
            .header("traceparent", bad)
            .header("tracestate", "a=1,a=2")
            .body(Body::empty())
            .unwrap();
        let (status, body, spans) = send(app(), request).await;
        assert_eq!(status, StatusCode::OK, "{bad:?}");
        assert_eq!(body.len(), 32);
        assert_ne!(body, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(spans[0].fields.get("trace_id"), Some(&body));
    }
    let obs_text = http::HeaderValue::from_bytes(b"00-\xff\xfe").unwrap();
    let request = get_request("/items/7")
        .header("traceparent", obs_text)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(app(), request).await.0, StatusCode::OK);
}

#[tokio::test]
async fn errors_carry_an_error_type() {
    let (status, _, spans) = send(app(), get_request("/broken").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        spans[0].fields.get("error.type").map(String::as_str),
        Some("502")
    );
    assert_eq!(
        spans[0].fields.get("otel.status_code").map(String::as_str),
        Some("error")
    );

    // An answer a rampart layer made is named by its problem code, and a 4xx is no span error.
    let (status, _, spans) =
        send(app(), get_request("/refused").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        spans[0].fields.get("error.type").map(String::as_str),
        Some("rate_limited")
    );
    assert_eq!(spans[0].fields.get("otel.status_code"), None);
}

#[tokio::test]
async fn unrouted_requests_and_made_up_methods_never_name_a_span_by_client_input() {
    let request = Request::builder()
        .method("BREW")
        .uri("/no/such/path")
        .body(Body::empty())
        .unwrap();
    let (status, _, spans) = send(app(), request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        spans[0].fields.get("otel.name").map(String::as_str),
        Some("HTTP")
    );
    assert_eq!(
        spans[0]
            .fields
            .get("http.request.method")
            .map(String::as_str),
        Some("_OTHER")
    );
    assert_eq!(spans[0].fields.get("http.route"), None);
}

#[tokio::test]
async fn the_span_ends_when_the_body_has_been_sent() {
    let spans = SpanRecorder::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    let response = app()
        .oneshot(get_request("/items/1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(!spans.spans()[0].closed, "closed before the body was sent");
    let _ = axum::body::to_bytes(response.into_body(), 1 << 10)
        .await
        .unwrap();
    assert!(spans.spans()[0].closed);
}

#[tokio::test]
async fn an_outer_trace_layer_means_no_second_span() {
    let app = app().layer(TraceLayer::new());
    let request = get_request("/items/7")
        .header("traceparent", TRACEPARENT)
        .body(Body::empty())
        .unwrap();
    let (status, body, spans) = send(app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(spans.len(), 1);
}

#[tokio::test]
async fn the_response_names_the_trace_for_an_access_log_outside_the_layer() {
    let spans = SpanRecorder::default();
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(spans));
    let request = get_request("/broken")
        .header("traceparent", TRACEPARENT)
        .body(Body::empty())
        .unwrap();
    let response = app().oneshot(request).await.unwrap();
    assert_eq!(
        response
            .extensions()
            .get::<TraceId>()
            .map(ToString::to_string),
        Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned())
    );
}
