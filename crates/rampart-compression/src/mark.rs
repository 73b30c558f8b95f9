//! Marks responses that arrive already encoded, so the outer future can tell its own
//! encoding apart from the inner service's, and fuses their bodies for tower-http's encoder.

use http::{Response, header};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower_service::Service;

use crate::fuse::Fused;

/// Extension set on a response whose `Content-Encoding` came from the inner service.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncodedUpstream;

#[derive(Debug, Clone)]
pub(crate) struct MarkEncoded<S> {
    pub(crate) inner: S,
}

impl<S, R, B> Service<R> for MarkEncoded<S>
where
    S: Service<R, Response = Response<B>>,
{
    type Response = Response<Fused<B>>;
    type Error = S::Error;
    type Future = MarkEncodedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        MarkEncodedFuture {
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    pub(crate) struct MarkEncodedFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B, E> Future for MarkEncodedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<Fused<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(self.project().inner.poll(cx))?;
        if response.headers().contains_key(header::CONTENT_ENCODING) {
            response.extensions_mut().insert(EncodedUpstream);
        }
        Poll::Ready(Ok(response.map(Fused::new)))
    }
}
