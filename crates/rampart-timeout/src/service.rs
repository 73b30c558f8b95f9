use axum::extract::MatchedPath;
use http::{Request, Response};
use rampart_core::ResponseBody;
use rampart_core::deadline::Deadline;
use std::task::{Context, Poll};
use tokio::time::Instant;
use tower_service::Service;

use crate::TimeoutLayer;
use crate::future::{Expiry, ResponseFuture};

/// Answers `504` when the inner service outlives the request's deadline. Made by
/// [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    pub(crate) inner: S,
    pub(crate) layer: TimeoutLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Timeout<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        let deadline = *self.layer.deadlines.get_matched(route.as_ref());
        let at = Instant::now() + deadline;
        if *self.layer.published.get_matched(route.as_ref()) {
            request.extensions_mut().insert(Deadline::new(at));
        }
        let expiry = Expiry {
            route,
            deadline,
            counters: self.layer.counters.clone(),
        };
        ResponseFuture::new(self.inner.call(request), expiry, at)
    }
}
