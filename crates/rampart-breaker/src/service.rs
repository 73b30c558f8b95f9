use http::{Request, Response};
use rampart_core::ResponseBody;
use std::fmt;
use std::task::{Context, Poll};
use tokio::time::Instant;
use tower_service::Service;

use crate::breaker::Admission;
use crate::future::{Call, ResponseFuture};
use crate::telemetry::CallOutcome;
use crate::{CircuitBreakerLayer, CircuitOpen, Classifier};

/// Guards the inner service with circuit breakers. Made by [`CircuitBreakerLayer`].
#[derive(Clone)]
pub struct CircuitBreaker<S, C> {
    pub(crate) inner: S,
    pub(crate) layer: CircuitBreakerLayer<C>,
}

impl<S: fmt::Debug, C: fmt::Debug> fmt::Debug for CircuitBreaker<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for CircuitBreaker<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: Classifier<ResBody, S::Error> + Clone,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(config) = self.layer.configs.get(&request) else {
            return ResponseFuture::passthrough(self.inner.call(request));
        };
        let name = self.layer.scope.name(&request);
        let breaker = self.layer.breakers.get_or_create(name, config);
        let now = Instant::now();
        match breaker.admit(now) {
            Admission::Tracked(permit) => {
                let call = Call::new(breaker, permit, now, self.layer.classifier.clone());
                ResponseFuture::guarded(self.inner.call(request), call)
            }
            Admission::Untracked => ResponseFuture::passthrough(self.inner.call(request)),
            Admission::Rejected { state, retry_after } => {
                breaker.telemetry().call(CallOutcome::Rejected);
                let rejection = CircuitOpen {
                    breaker: breaker.name().clone(),
                    state,
                    retry_after,
                };
                ResponseFuture::rejected(rejection, self.layer.fallback.clone())
            }
        }
    }
}
