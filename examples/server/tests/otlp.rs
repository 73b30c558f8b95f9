//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 example-server` exports request spans
//! over OTLP/HTTP: checked against a real OTLP receiver on a free loopback port, decoding what
//! the server sends with `opentelemetry-proto`.

#![allow(clippy::unwrap_used)]

mod support;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use prost::Message;
use std::time::Duration;
use support::{bound_address, client, log_of, read_until, server};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP trace receiver: every export request, decoded, on a channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<ExportTraceServiceRequest>) {
    let (sent, received) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sent = sent.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                let _ = sent.send(request);
                (
                    [("content-type", "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
}

/// Spans received until one satisfies `wanted`, for at most 30 s; with the resource's
/// attributes of the batch it came in.
async fn span_where(
    received: &mut mpsc::UnboundedReceiver<ExportTraceServiceRequest>,
    wanted: impl Fn(&Span) -> bool,
) -> (Span, Vec<KeyValue>) {
    let find = async {
        loop {
            let request = received.recv().await.unwrap();
            for resource_spans in request.resource_spans {
                let resource = resource_spans
                    .resource
                    .map(|r| r.attributes)
                    .unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    if let Some(span) = scope.spans.into_iter().find(|span| wanted(span)) {
                        return (span, resource);
                    }
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), find)
        .await
        .unwrap()
}

#[tokio::test]
async fn request_spans_reach_an_otlp_receiver_in_the_callers_trace() {
    let (endpoint, mut received) = receiver().await;
    let mut child = server()
        .args(["--listen", "127.0.0.1:0"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SERVICE_NAME", "rampart-e2e")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .spawn()
        .unwrap();
    let addr = bound_address(&mut child).await;

    let response = client()
        .get(format!("http://{addr}/api/items/42"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .header("tracestate", "rojo=00f067aa0ba902b7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let (span, resource) = span_where(&mut received, |span| {
        hex(&span.trace_id) == TRACE_ID && span.kind == SpanKind::Server as i32
    })
    .await;
    assert_eq!(span.name, "GET /api/items/{id}");
    assert_eq!(hex(&span.parent_span_id), PARENT_ID);
    assert_eq!(span.trace_state, "rojo=00f067aa0ba902b7");
    let string = |value: Option<&Value>| match value {
        Some(Value::StringValue(text)) => text.clone(),
        other => panic!("not a string: {other:?}"),
    };
    assert_eq!(
        string(attribute(&span.attributes, "http.route")),
        "/api/items/{id}"
    );
    assert_eq!(
        string(attribute(&span.attributes, "http.request.method")),
        "GET"
    );
    assert_eq!(
        string(attribute(&span.attributes, "url.path")),
        "/api/items/42"
    );
    assert_eq!(
        string(attribute(&span.attributes, "client.address")),
        "127.0.0.1"
    );
    assert_eq!(
        attribute(&span.attributes, "http.response.status_code"),
        Some(&Value::IntValue(200))
    );
    assert_eq!(string(attribute(&resource, "service.name")), "rampart-e2e");
    // The cache's decision is an event of the request span.
    let cache = span
        .events
        .iter()
        .find(|event| event.name == "cache answered")
        .unwrap_or_else(|| panic!("no cache event in {:?}", span.events));
    assert!(string(attribute(&cache.attributes, "cache_status")).starts_with("rampart;"));

    // Without a traceparent the span starts a trace of its own, with no parent.
    let response = client()
        .get(format!("http://{addr}/api/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (span, _) = span_where(&mut received, |span| span.name == "GET /api/hello").await;
    assert!(span.parent_span_id.is_empty());
    assert_ne!(hex(&span.trace_id), TRACE_ID);
}

#[tokio::test]
async fn an_unreachable_collector_loses_spans_never_requests() {
    // A port nothing listens on: bound, then closed.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = server()
        .args(["--listen", "127.0.0.1:0"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{closed}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "200")
        .spawn()
        .unwrap();
    let mut log = log_of(&mut child);
    let addr = read_until(&mut log, support::listening_address).await;
    // The log is read as it is written: a full pipe would stall the server, not the export.
    let (said, lost) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        read_until(&mut log, |line| {
            line.contains("OTLP export lost spans").then_some(())
        })
        .await;
        let _ = said.send(());
        while let Ok(Some(_)) = log.next_line().await {}
    });

    let client = client();
    // Health checks: no rate limit stands between these requests and their answers.
    for _ in 0..200 {
        let response = client
            .get(format!("http://{addr}/health/live"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    tokio::time::timeout(Duration::from_secs(30), lost)
        .await
        .unwrap()
        .unwrap();
}
