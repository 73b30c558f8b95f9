//! With `tracing-opentelemetry` installed, the request span is the exported span: in the
//! caller's trace, under the caller's span, and with the ids the handler sees.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::{Router, routing::get};
use http::Request;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use rampart_trace::{TraceContext, TraceLayer};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

/// Sends `request` through a traced app; the body the handler wrote and the exported spans.
async fn exported(request: Request<Body>) -> (String, Vec<SpanData>) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _default = tracing::subscriber::set_default(subscriber);
    let app = Router::new()
        .route(
            "/items/{id}",
            get(|trace: TraceContext| async move {
                format!("{} {}", trace.trace_id(), trace.span_id())
            }),
        )
        .layer(TraceLayer::new());
    let response = app.oneshot(request).await.unwrap();
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    provider.force_flush().unwrap();
    (
        String::from_utf8(body.to_vec()).unwrap(),
        exporter.get_finished_spans().unwrap(),
    )
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|KeyValue { key: name, .. }| name.as_str() == key)
        .map(|attribute| &attribute.value)
}

#[tokio::test]
async fn the_exported_span_continues_the_callers_trace_with_the_ids_the_handler_saw() {
    let request = Request::get("/items/7")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("tracestate", "rojo=1")
        .body(Body::empty())
        .unwrap();
    let (body, spans) = exported(request).await;
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.name, "GET /items/{id}");
    assert_eq!(span.span_kind, opentelemetry::trace::SpanKind::Server);
    let context = &span.span_context;
    assert_eq!(
        context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(span.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(context.trace_state().header(), "rojo=1");
    assert_eq!(
        body,
        format!("{} {}", context.trace_id(), context.span_id())
    );
    assert_eq!(
        attribute(span, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(
        attribute(span, "http.route").map(Value::as_str).as_deref(),
        Some("/items/{id}")
    );
}

#[tokio::test]
async fn without_a_traceparent_the_handler_sees_the_exported_trace() {
    let (body, spans) = exported(Request::get("/items/7").body(Body::empty()).unwrap()).await;
    let context = &spans[0].span_context;
    assert_eq!(
        body,
        format!("{} {}", context.trace_id(), context.span_id())
    );
    assert_eq!(
        spans[0].parent_span_id,
        opentelemetry::trace::SpanId::INVALID
    );
}
