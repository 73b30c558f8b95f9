//! `MetricsLayer::request_span`: the request span of `rampart_trace::TraceLayer`, held in the
//! metrics layer's own future and body (as the `Stack` runs it).

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::{Router, routing::get};
use bytes::Bytes;
use futures_util::stream;
use http::{Request, StatusCode};
use rampart_core::MetricsRecorder;
use rampart_metrics::MetricsLayer;
use rampart_test_support::{RecordedSpan, SpanRecorder};
use rampart_trace::{TraceContext, TraceId, TraceLayer};
use std::io;
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn routes() -> Router {
    Router::new()
        .route(
            "/items/{id}",
            get(|trace: TraceContext| async move {
                tracing::debug!(target: "rampart_cache", cache_status = "miss", "decided");
                trace.trace_id().to_string()
            }),
        )
        .route(
            "/cut",
            get(|| async {
                let chunks = [
                    Ok(Bytes::from_static(b"half")),
                    Err(io::Error::other("gone")),
                ];
                Body::from_stream(stream::iter(chunks))
            }),
        )
}

fn metrics(request_span: bool) -> MetricsLayer {
    MetricsLayer::new()
        .with_recorder(MetricsRecorder::new(metrics::NoopRecorder))
        .request_span(request_span)
}

/// Sends a GET with the caller's `traceparent`; returns the status, the trace id the response
/// carries, the body (or its error) and every span made.
async fn send(app: Router, path: &str) -> (StatusCode, Option<TraceId>, String, Vec<RecordedSpan>) {
    let recorder = SpanRecorder::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let request = Request::get(path)
        .header("traceparent", TRACEPARENT)
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let trace_id = response.extensions().get::<TraceId>().copied();
    let body = match axum::body::to_bytes(response.into_body(), 1 << 10).await {
        Ok(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
        Err(error) => format!("error: {error}"),
    };
    (status, trace_id, body, recorder.spans())
}

#[tokio::test]
async fn the_metrics_layer_holds_the_same_span_as_the_trace_layer() {
    let (status, trace_id, body, spans) = send(routes().layer(metrics(true)), "/items/7").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(
        trace_id.map(|id| id.to_string()).as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.name, "request");
    assert_eq!(span.field("otel.name"), Some("GET /items/{id}"));
    assert_eq!(span.field("http.response.status_code"), Some("200"));
    assert_eq!(
        span.field("trace_id"),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(
        span.events.len(),
        1,
        "the handler's event is inside the span"
    );
    assert!(span.closed);
}

#[tokio::test]
async fn a_body_cut_off_after_its_head_marks_the_span_failed() {
    let (status, _, body, spans) = send(routes().layer(metrics(true)), "/cut").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("error:"), "{body}");
    assert_eq!(spans[0].field("error.type"), Some("response_body"));
    assert_eq!(spans[0].field("otel.status_code"), Some("error"));
    assert!(spans[0].closed);
}

#[tokio::test]
async fn off_by_default_and_standing_aside_under_an_outer_trace_layer() {
    let (_, trace_id, _, spans) = send(routes().layer(MetricsLayer::new()), "/items/7").await;
    assert!(spans.is_empty());
    assert_eq!(trace_id, None);

    let app = routes().layer(metrics(true)).layer(TraceLayer::new());
    let (_, trace_id, body, spans) = send(app, "/items/7").await;
    assert_eq!(spans.len(), 1, "one span per request");
    assert_eq!(body, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(trace_id.is_some());
}
