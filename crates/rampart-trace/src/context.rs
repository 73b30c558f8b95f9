use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{HeaderValue, Request};
use std::convert::Infallible;
use std::fmt::Write;

use crate::parent::RemoteParent;
use crate::{SpanId, TraceId};

/// Where a request sits in its distributed trace: for handlers (it is an extractor), access
/// logs and calls to other services.
///
/// The trace id is the caller's when the request carried a valid `traceparent`, else a fresh
/// one; the span id is this request's own span. With the `opentelemetry` feature and a
/// `tracing-opentelemetry` layer installed, both are the exported span's ids.
///
/// [`TraceLayer`](crate::TraceLayer) puts it in the request's extensions when it makes the
/// request span; when no subscriber wants the span, it is made the first time it is asked for
/// (the extractor, [`TraceContext::of`]) and kept in the extensions, so that every later
/// reader sees the same ids.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_trace::{TraceContext, TraceLayer};
///
/// async fn handler(trace: TraceContext) -> String {
///     // The header a call to another service carries, to join this trace.
///     let traceparent = trace.traceparent();
///     format!("trace {} ({traceparent:?})", trace.trace_id())
/// }
/// let app: Router = Router::new().route("/", get(handler)).layer(TraceLayer::new());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    sampled: bool,
    trace_state: Option<HeaderValue>,
}

impl TraceContext {
    /// The context of a request: a child of `parent` if it has one, else a new trace.
    pub(crate) fn child_of(parent: Option<RemoteParent>) -> Self {
        match parent {
            Some(parent) => Self {
                trace_id: parent.trace_id,
                span_id: SpanId::random(),
                parent_span_id: Some(parent.span_id),
                sampled: parent.sampled,
                trace_state: parent.trace_state,
            },
            None => Self {
                trace_id: TraceId::random(),
                span_id: SpanId::random(),
                parent_span_id: None,
                sampled: true,
                trace_state: None,
            },
        }
    }

    /// Takes the ids an exporter gave the request's span, so that what handlers and logs see
    /// is what the tracing backend shows.
    #[cfg(feature = "opentelemetry")]
    pub(crate) const fn exported_as(
        mut self,
        trace_id: TraceId,
        span_id: SpanId,
        sampled: bool,
    ) -> Self {
        self.trace_id = trace_id;
        self.span_id = span_id;
        self.sampled = sampled;
        self
    }

    /// The request's context: the one in its extensions, else one made from its headers and
    /// put there.
    pub fn of<B>(request: &mut Request<B>) -> Self {
        if let Some(context) = request.extensions().get::<Self>() {
            return context.clone();
        }
        let context = Self::child_of(RemoteParent::from_headers(request.headers()));
        request.extensions_mut().insert(context.clone());
        context
    }

    fn kept_in(headers: &http::HeaderMap, extensions: &mut http::Extensions) -> Self {
        if let Some(context) = extensions.get::<Self>() {
            return context.clone();
        }
        let context = Self::child_of(RemoteParent::from_headers(headers));
        extensions.insert(context.clone());
        context
    }

    /// The id of the trace the request belongs to.
    pub const fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The id of the request's own span.
    pub const fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The caller's span, when the request carried a valid `traceparent`.
    pub const fn parent_span_id(&self) -> Option<SpanId> {
        self.parent_span_id
    }

    /// Whether the trace is sampled: the caller's decision, or the exporter's sampler's.
    pub const fn sampled(&self) -> bool {
        self.sampled
    }

    /// The caller's `tracestate`, checked and joined into one value; `None` when it sent none
    /// or one that was malformed.
    pub const fn trace_state(&self) -> Option<&HeaderValue> {
        self.trace_state.as_ref()
    }

    /// The `traceparent` value for a call this request makes to another service: same trace,
    /// this request's span as the parent. Send [`TraceContext::trace_state`] along with it.
    pub fn traceparent(&self) -> HeaderValue {
        let mut value = String::with_capacity(55);
        let flags = u8::from(self.sampled);
        // Writing into a String cannot fail.
        let _ = write!(value, "00-{}-{}-{flags:02x}", self.trace_id, self.span_id);
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// A handler's `trace: TraceContext`; never refuses.
impl<S: Send + Sync> FromRequestParts<S> for TraceContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::kept_in(&parts.headers, &mut parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    #[test]
    fn a_child_keeps_the_trace_and_gets_its_own_span() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
        );
        headers.insert("tracestate", HeaderValue::from_static("rojo=1"));
        let child = TraceContext::child_of(RemoteParent::from_headers(&headers));
        assert_eq!(
            child.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            child.parent_span_id().map(|id| id.to_string()).as_deref(),
            Some("00f067aa0ba902b7")
        );
        assert_ne!(child.span_id(), child.parent_span_id().unwrap());
        assert!(!child.sampled());
        assert_eq!(
            child.trace_state(),
            Some(&HeaderValue::from_static("rojo=1"))
        );
        let traceparent = child.traceparent();
        assert_eq!(
            traceparent.to_str().unwrap(),
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-00", child.span_id())
        );
    }

    #[test]
    fn asked_twice_a_request_has_one_context() {
        let mut request = Request::get("/")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .body(())
            .unwrap();
        let first = TraceContext::of(&mut request);
        assert_eq!(
            first.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(TraceContext::of(&mut request), first);
    }

    #[test]
    fn without_a_parent_a_new_sampled_trace_starts() {
        let root = TraceContext::child_of(None);
        assert_eq!(root.parent_span_id(), None);
        assert!(root.sampled());
        assert_ne!(root.trace_id(), TraceContext::child_of(None).trace_id());
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", root.traceparent());
        let parent = RemoteParent::from_headers(&headers).unwrap();
        assert_eq!(
            (parent.trace_id, parent.span_id),
            (root.trace_id(), root.span_id())
        );
    }
}
