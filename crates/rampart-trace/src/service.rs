use http::{Request, Response};
use std::task::{Context, Poll};
use tower_service::Service;

use crate::body::TracedBody;
use crate::future::{ResponseFuture, Traced};
use crate::parent::RemoteParent;
use crate::{TraceContext, span};

/// Runs each request inside its span, with its [`TraceContext`] in the extensions. Made by
/// [`TraceLayer`](crate::TraceLayer).
#[derive(Debug, Clone)]
pub struct Trace<S> {
    pub(crate) inner: S,
}

impl<S> Trace<S> {
    rampart_core::inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Trace<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The inner future is built in place, in each branch's struct literal: a service's
        // future holds every layer inside it, and moving it through a constructor copied
        // hundreds of bytes per request.
        if request.extensions().get::<TraceContext>().is_some() {
            return ResponseFuture {
                inner: self.inner.call(request),
                traced: None,
            };
        }
        let span = span::request_span(&request);
        // Without a span, nothing needs the ids yet: a handler that asks for the context makes
        // it then (`TraceContext`'s extractor), and a request that never asks pays nothing.
        if span.is_disabled() {
            return ResponseFuture {
                inner: self.inner.call(request),
                traced: None,
            };
        }
        let parent = RemoteParent::from_headers(request.headers());
        let context = crate::otel::link(&span, parent);
        let trace_id = context.trace_id();
        span.record("trace_id", tracing::field::display(trace_id));
        request.extensions_mut().insert(context);
        ResponseFuture {
            inner: {
                let _entered = span.enter();
                self.inner.call(request)
            },
            traced: Some(Traced { span, trace_id }),
        }
    }
}
