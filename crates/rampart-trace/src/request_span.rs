//! The request span as a value, for a layer that already follows each request to the end of
//! its response body.

use http::{Request, Response};
use rampart_core::semconv::ErrorType;
use tracing::Span;
use tracing::span::{Entered, EnteredSpan};

use crate::parent::RemoteParent;
use crate::{TraceContext, TraceId, span};

/// The span of one request, from its arrival to the end of its response body, with what
/// [`TraceLayer`](crate::TraceLayer) does with it.
///
/// `TraceLayer` is made of it; a layer that already wraps each response future and body can
/// hold it instead, so that a request pays for one wrapper, not two (`rampart-metrics` does,
/// in the `Stack`). Empty, every method does nothing: when no subscriber wants the span, when
/// an outer layer already made one, or as [`RequestSpan::default`].
///
/// # Example
///
/// ```
/// use http::{Request, Response};
/// use rampart_trace::{RequestSpan, TraceContext, TraceId};
///
/// // No subscriber here wants the span: the value is empty, and a handler asking for the
/// // context still gets one (made on demand).
/// let mut request = Request::new(());
/// let span = RequestSpan::start(&mut request);
/// assert!(span.is_empty());
/// assert!(span.enter().is_none());
/// assert!(span.entered().is_none());
/// let mut response = Response::new(());
/// span.answered(&mut response);
/// span.failed();
/// assert!(response.extensions().get::<TraceId>().is_none());
/// assert!(TraceContext::of(&mut request).sampled());
/// let mut span = span;
/// span.body_failed();
/// assert!(RequestSpan::default().is_empty());
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct RequestSpan {
    // Boxed: the value rides in every response future and body, which the layers above move
    // by value; a pointer keeps them within the sizes moved without a `memcpy` call.
    traced: Option<Box<Traced>>,
}

#[derive(Debug)]
struct Traced {
    span: Span,
    trace_id: TraceId,
}

impl RequestSpan {
    /// Starts the span of `request`, continuing the caller's trace when it sent a valid
    /// `traceparent`, and puts the request's [`TraceContext`] in its extensions. Empty when
    /// the request already has a `TraceContext` (an outer layer's span is the request's) or
    /// when no subscriber wants `INFO` spans of target `rampart_trace`.
    pub fn start<B>(request: &mut Request<B>) -> Self {
        // The process-wide level check first: with every subscriber below `INFO` (a log at
        // `warn`), nothing else is looked at.
        if !tracing::level_enabled!(tracing::Level::INFO)
            || request.extensions().get::<TraceContext>().is_some()
        {
            return Self::default();
        }
        let span = span::request_span(request);
        // Without a span, nothing needs the ids yet: a handler that asks for the context makes
        // it then (`TraceContext`'s extractor), and a request that never asks pays nothing.
        if span.is_disabled() {
            return Self::default();
        }
        let parent = RemoteParent::from_headers(request.headers());
        let context = crate::otel::link(&span, parent);
        let trace_id = context.trace_id();
        span.record("trace_id", tracing::field::display(trace_id));
        request.extensions_mut().insert(context);
        Self {
            traced: Some(Box::new(Traced { span, trace_id })),
        }
    }

    /// Whether there is no span (nothing is recorded).
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.traced.is_none()
    }

    /// Enters the span, until the guard is dropped: for the time of one poll of the request's
    /// future or body, so that what the layers below log lands in it.
    #[inline]
    pub fn enter(&self) -> Option<Entered<'_>> {
        self.traced.as_ref().map(|traced| traced.span.enter())
    }

    /// Enters the span until the guard is dropped, through a handle of its own, so that this
    /// value can move meanwhile: for the inner service's `call`, whose future is then built
    /// in place next to the span (borrowing it instead cost a copy of that whole future).
    #[inline]
    pub fn entered(&self) -> Option<EnteredSpan> {
        self.traced
            .as_ref()
            .map(|traced| traced.span.clone().entered())
    }

    /// Records how the request was answered (status, and `error.type` for a 5xx or an answer a
    /// rampart layer made itself) and puts the request's [`TraceId`] in the response's
    /// extensions, for an access log outside the layer.
    #[inline]
    pub fn answered<B>(&self, response: &mut Response<B>) {
        if let Some(traced) = &self.traced {
            span::record_response(&traced.span, response);
            response.extensions_mut().insert(traced.trace_id);
        }
    }

    /// Records a request the service failed with an error instead of a response.
    #[inline]
    pub fn failed(&self) {
        if let Some(traced) = &self.traced {
            span::record_error(&traced.span);
        }
    }

    /// Records a response body that failed after the head was sent (the client got a cut-off
    /// body: the request failed after its status), and ends the span.
    #[inline]
    pub fn body_failed(&mut self) {
        if let Some(traced) = self.traced.take() {
            traced
                .span
                .record("error.type", ErrorType::ResponseBody.as_str());
            traced.span.record("otel.status_code", "error");
        }
    }
}
