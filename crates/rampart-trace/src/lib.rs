//! A span per request, continuing the caller's W3C Trace Context, for `tracing` and (feature
//! `opentelemetry`, or `otlp` to export) for OpenTelemetry.
//!
//! [`TraceLayer`] makes, for every request:
//!
//! - a `tracing` span, `INFO`, target `rampart_trace`, named `METHOD /route/template` for
//!   OpenTelemetry (`otel.name`) and carrying the HTTP server span attributes of the
//!   OpenTelemetry semantic conventions: `http.request.method`, `http.route`, `url.path`,
//!   `url.scheme`, `network.protocol.version`, `client.address`, and once answered
//!   `http.response.status_code` and, for a 5xx or an answer a rampart layer made itself,
//!   `error.type` (the layer's problem code, `rate_limited` say, else the status). It also
//!   carries `trace_id`, so a log line written inside it names the trace. The span stays
//!   open until the response body has been sent.
//! - the request's [`TraceId`] in the response's extensions, for an access log outside the
//!   layer (tower-http's `TraceLayer`, whose `on_response` sees the response). Only when the
//!   span is enabled: it is a log's concern, and without a log nothing is added.
//! - a [`TraceContext`], an extractor for handlers: trace id, span id, the caller's span, the
//!   sampling flag and `tracestate`, and [`TraceContext::traceparent`] for calls onwards.
//!
//! [`RequestSpan`] is what the layer is made of, for a layer that already wraps each response
//! future and body and can hold the span itself (the `Stack`'s metrics layer does).
//!
//! The rampart layers below it record what they decide as events inside the span (target
//! `rampart_*`, level `DEBUG`): a rate-limit refusal with its policy, key kind and wait, the
//! cache's `Cache-Status`, a breaker's refusal, a timeout, an overload refusal, a caught panic.
//! With `tracing-opentelemetry` these become span events.
//!
//! # What a client can send
//!
//! `traceparent` and `tracestate` are read as the W3C Recommendation says, and whatever is
//! malformed (uppercase hex, zero ids, version `ff`, two `traceparent` fields, a `tracestate`
//! with a bad member, a repeated key, more than 32 members or more than 512 bytes) is ignored:
//! the request starts a new trace and is answered as usual. Nothing a client sends reaches a
//! span name (made-up methods become `HTTP`, paths are replaced by the route template), and
//! what is kept of `tracestate` is printable ASCII.
//!
//! # Cost
//!
//! Without a subscriber that wants `INFO` spans of `rampart_trace`, the span is one disabled
//! check, and the `TraceContext` (two random ids, one extension) is made only for a handler
//! that asks for it. `docs/benchmarks.md` has the figures.
//!
//! # Why not tower-http's `TraceLayer`
//!
//! It makes a span of your choosing and logs around it, well; it reads no `traceparent`,
//! names no span by route, and gives handlers no trace id. The usual glue (an `OtelAxumLayer`,
//! a propagator call per request) depends on the OpenTelemetry SDK even when nothing exports;
//! here only the `opentelemetry` feature does.
//!
//! # Features
//!
//! - `opentelemetry`: the request span joins the caller's trace in `tracing-opentelemetry`,
//!   and the `TraceContext` holds the exported span's ids.
//! - `otlp`: also `OtlpExport`, a batching OTLP/HTTP exporter configured by the standard
//!   `OTEL_*` environment variables.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::Request;
//! use rampart_trace::{SpanId, TraceContext, TraceId, TraceLayer};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new()
//!     .route(
//!         "/api/items/{id}",
//!         get(|trace: TraceContext| async move {
//!             trace.trace_id().to_string()
//!         }),
//!     )
//!     .layer(TraceLayer::new());
//!
//! let request = Request::get("/api/items/7")
//!     .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
//!     .body(Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! // No subscriber here wants the span, so the response carries no trace id for a log.
//! assert!(response.extensions().get::<TraceId>().is_none());
//! let body = axum::body::to_bytes(response.into_body(), 64).await.unwrap();
//! assert_eq!(&body[..], b"4bf92f3577b34da6a3ce929d0e0e4736");
//!
//! let trace_id = TraceId::from_bytes([0x4b; 16]).unwrap();
//! assert_eq!(trace_id.to_bytes(), [0x4b; 16]);
//! assert_eq!(SpanId::from_bytes([0; 8]), None);
//! # }
//! ```

mod body;
mod context;
mod future;
mod id;
mod layer;
mod otel;
#[cfg(feature = "otlp")]
mod otlp;
mod parent;
mod request_span;
mod service;
mod span;

#[doc(inline)]
pub use body::TracedBody;
#[doc(inline)]
pub use context::TraceContext;
#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use id::{SpanId, TraceId};
#[doc(inline)]
pub use layer::TraceLayer;
#[cfg(feature = "otlp")]
#[doc(inline)]
pub use otlp::{OtlpError, OtlpExport};
#[doc(inline)]
pub use request_span::RequestSpan;
#[doc(inline)]
pub use service::Trace;
