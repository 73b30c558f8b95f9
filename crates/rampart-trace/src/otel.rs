//! Joining the request span to an OpenTelemetry trace (feature `opentelemetry`).
//!
//! `tracing-opentelemetry` turns the request span into an OpenTelemetry span; what it cannot
//! know is the caller's span, which arrived in a header. Here the caller's context becomes the
//! span's parent, and the ids the exporter gave the span become the request's
//! [`TraceContext`], so that the trace id a handler logs is the one the backend shows.

use tracing::Span;

use crate::TraceContext;
use crate::parent::RemoteParent;

#[cfg(not(feature = "opentelemetry"))]
pub(crate) fn link(_span: &Span, parent: Option<RemoteParent>) -> TraceContext {
    TraceContext::child_of(parent)
}

#[cfg(feature = "opentelemetry")]
pub(crate) fn link(span: &Span, parent: Option<RemoteParent>) -> TraceContext {
    use opentelemetry::trace::{
        SpanContext, SpanId as OtelSpanId, TraceContextExt, TraceFlags, TraceId as OtelTraceId,
        TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use crate::{SpanId, TraceId};

    if span.is_disabled() {
        return TraceContext::child_of(parent);
    }
    if let Some(parent) = &parent {
        let trace_state = parent
            .trace_state
            .as_ref()
            .and_then(|state| state.to_str().ok()?.parse::<TraceState>().ok())
            .unwrap_or_default();
        let remote = SpanContext::new(
            OtelTraceId::from_bytes(parent.trace_id.to_bytes()),
            OtelSpanId::from_bytes(parent.span_id.to_bytes()),
            if parent.sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            },
            true,
            trace_state,
        );
        // Fails only without a tracing-opentelemetry layer: then there is nothing to join.
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let context = TraceContext::child_of(parent);
    let exported = span.context();
    let exported = exported.span().span_context().clone();
    match (
        TraceId::from_bytes(exported.trace_id().to_bytes()),
        SpanId::from_bytes(exported.span_id().to_bytes()),
    ) {
        (Some(trace_id), Some(span_id)) => {
            context.exported_as(trace_id, span_id, exported.is_sampled())
        }
        _ => context,
    }
}
