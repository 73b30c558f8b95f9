use http::{Request, Response};
use std::task::{Context, Poll};
use tower_service::Service;

use crate::RequestSpan;
use crate::body::TracedBody;
use crate::future::ResponseFuture;

/// Runs each request inside its span, with its [`TraceContext`](crate::TraceContext) in the
/// extensions. Made by [`TraceLayer`](crate::TraceLayer).
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
        let span = RequestSpan::start(&mut request);
        let _entered = span.entered();
        // The inner future is built in place, in the struct literal: a service's future holds
        // every layer inside it, and moving it through a constructor copied hundreds of bytes
        // per request.
        ResponseFuture {
            inner: self.inner.call(request),
            span,
        }
    }
}
