use http::{Request, Response};
use rampart_core::ResponseBody;
use rampart_core::deadline::Deadline;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

use crate::ResponseFuture;
use crate::layer::Shared;

/// Admits calls to the inner service within the limit. Made by
/// [`ConcurrencyLimitLayer`](crate::ConcurrencyLimitLayer).
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit<S> {
    pub(crate) inner: S,
    pub(crate) shared: Arc<Shared>,
}

impl<S> ConcurrencyLimit<S> {
    rampart_core::inner_service_accessors!();
}

impl<S, B, ResBody> Service<Request<B>> for ConcurrencyLimit<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    /// Admission is decided here, not in `poll_ready`: axum does not drive readiness, and a
    /// refusal must cost nothing but its answer.
    fn call(&mut self, request: Request<B>) -> Self::Future {
        let layer = &*self.shared;
        let Some(route) = layer.routes.get(&request) else {
            return ResponseFuture::passthrough(self.inner.call(request));
        };
        let limiter = &route.limit.limiter;
        let permit = if route.critical {
            limiter.acquire_critical(&layer.recorder)
        } else {
            let deadline = request.extensions().get::<Deadline>().cloned();
            let bucket = limiter.holdings.bucket_of(&request);
            match limiter.try_acquire(deadline, bucket, &layer.recorder) {
                Some(permit) => permit,
                None => return ResponseFuture::refused(route.limit.clone(), layer.retry_after),
            }
        };
        ResponseFuture::admitted(self.inner.call(request), permit)
    }
}
