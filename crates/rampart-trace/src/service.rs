use http::{Request, Response};
use std::task::{Context, Poll};
use tower_service::Service;
use tracing::Span;

use crate::body::TracedBody;
use crate::future::ResponseFuture;
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
        if request.extensions().get::<TraceContext>().is_some() {
            return ResponseFuture::new(self.inner.call(request), Span::none());
        }
        let span = span::request_span(&request);
        // Without a span, nothing needs the ids yet: a handler that asks for the context makes
        // it then (`TraceContext`'s extractor), and a request that never asks pays nothing.
        if span.is_disabled() {
            return ResponseFuture::new(self.inner.call(request), span);
        }
        let parent = RemoteParent::from_headers(request.headers());
        let context = crate::otel::link(&span, parent);
        span.record("trace_id", tracing::field::display(context.trace_id()));
        request.extensions_mut().insert(context);
        let future = span.in_scope(|| self.inner.call(request));
        ResponseFuture::new(future, span)
    }
}
