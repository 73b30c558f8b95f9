use http::{Request, Response, header};
use http_body::Body;
use std::task::{Context, Poll};
use tower_service::Service;

use crate::mark::MarkEncoded;
use crate::{CompressedBody, CompressiblePredicate, ResponseFuture};

/// Compresses the inner service's responses. Made by [`CompressionLayer`](crate::CompressionLayer).
#[derive(Clone)]
pub struct Compression<S> {
    pub(crate) inner: tower_http::compression::Compression<MarkEncoded<S>, CompressiblePredicate>,
    pub(crate) predicate: CompressiblePredicate,
}

impl<S> Compression<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner.get_ref().inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner.get_mut().inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner.into_inner().inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Compression<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<CompressedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if request.headers().contains_key(header::ACCEPT_ENCODING) {
            ResponseFuture::encoded(self.inner.call(request))
        } else {
            // Nothing to negotiate: the response goes out as it is.
            ResponseFuture::plain(self.inner.get_mut().inner.call(request), self.predicate)
        }
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for Compression<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compression").finish_non_exhaustive()
    }
}
