use axum::extract::MatchedPath;
use http::{Request, Response};
use rampart_core::ResponseBody;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::{Context, Poll};
use tower_service::Service;

use crate::CatchPanicLayer;
use crate::future::{ResponseFuture, Witness};

/// Answers `500` when the inner service panics. Made by [`CatchPanicLayer`].
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    pub(crate) inner: S,
    pub(crate) layer: CatchPanicLayer,
}

impl<S> CatchPanic<S> {
    rampart_core::inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CatchPanic<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let witness = Witness {
            route: request.extensions().get::<MatchedPath>().cloned(),
            counters: self.layer.counters.clone(),
        };
        // The service is not used again after a panic in `call` leaves it half-updated: this
        // request gets its 500, and the next one finds out whatever state it is in.
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => ResponseFuture::running(future, witness),
            Err(payload) => ResponseFuture::panicked(&payload, &witness),
        }
    }
}
