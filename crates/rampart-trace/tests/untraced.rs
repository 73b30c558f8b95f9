//! A process with no subscriber: what the layer costs and leaves behind when nobody wants spans.
//! In a file of its own because `tracing` caches a callsite's interest across every thread's
//! subscriber, so a test beside others that capture spans could see the span enabled.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::{Router, routing::get};
use http::{Request, StatusCode};
use rampart_trace::{TraceContext, TraceId, TraceLayer};
use tower::ServiceExt;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn without_a_span_the_response_carries_no_trace_and_a_handler_still_gets_its_context() {
    let app = Router::new()
        .route(
            "/broken",
            get(|trace: TraceContext| async move {
                (StatusCode::BAD_GATEWAY, trace.trace_id().to_string())
            }),
        )
        .layer(TraceLayer::new());
    let request = Request::get("/broken")
        .header("traceparent", TRACEPARENT)
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.extensions().get::<TraceId>().is_none());
    let body = axum::body::to_bytes(response.into_body(), 1 << 10)
        .await
        .unwrap();
    assert_eq!(body, "4bf92f3577b34da6a3ce929d0e0e4736");
}
