use http::{Request, Response};
use rampart_core::deadline::Deadline;
use rampart_core::{ResponseBody, RouteTable};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use tokio::time::Instant;
use tower_service::Service;

use crate::breaker::{Admission, Breaker};
use crate::future::{Call, ResponseFuture};
use crate::layer::Fallback;
use crate::telemetry::CallOutcome;
use crate::{BreakerConfig, BreakerScope, Breakers, CircuitOpen, Classifier};

/// Guards the inner service with circuit breakers. Made by
/// [`CircuitBreakerLayer`](crate::CircuitBreakerLayer).
#[derive(Clone)]
pub struct CircuitBreaker<S, C> {
    pub(crate) inner: S,
    pub(crate) shared: Arc<Shared<C>>,
}

impl<S, C> CircuitBreaker<S, C> {
    rampart_core::inner_service_accessors!();
}

/// What one wrapped service needs, behind one `Arc` (axum clones the service per request).
pub(crate) struct Shared<C> {
    pub(crate) configs: Arc<RouteTable<Option<BreakerConfig>>>,
    pub(crate) scope: BreakerScope,
    pub(crate) classifier: C,
    pub(crate) breakers: Breakers,
    pub(crate) fallback: Option<Fallback>,
    /// The first breaker this service used. Inside a router each route has its own service,
    /// so with the route scope every call hits this and skips the registry.
    pub(crate) last: OnceLock<Arc<Breaker>>,
}

impl<C> Shared<C> {
    fn breaker(&self, name: &str, config: &BreakerConfig) -> Arc<Breaker> {
        if let Some(breaker) = self.last.get() {
            if **breaker.name() == *name {
                return Arc::clone(breaker);
            }
        }
        let breaker = self.breakers.get_or_create(name, config);
        let _ = self.last.set(Arc::clone(&breaker));
        breaker
    }
}

impl<S: fmt::Debug, C: fmt::Debug> fmt::Debug for CircuitBreaker<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .field("scope", &self.shared.scope)
            .field("classifier", &self.shared.classifier)
            .field("breakers", &self.shared.breakers)
            .finish_non_exhaustive()
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
        let shared = &self.shared;
        let Some(config) = shared.configs.get(&request) else {
            return ResponseFuture::passthrough(self.inner.call(request));
        };
        let breaker = shared.breaker(shared.scope.name(&request), config);
        let now = Instant::now();
        match breaker.admit(now) {
            Admission::Tracked(permit) => {
                tracing::debug!(
                    breaker = &**breaker.name(),
                    state = if permit.is_probe() {
                        "half_open"
                    } else {
                        "closed"
                    },
                    "circuit breaker let the call through"
                );
                let deadline = request.extensions().get::<Deadline>().cloned();
                let call = Call::new(breaker, permit, now, deadline, shared.classifier.clone());
                ResponseFuture::guarded(self.inner.call(request), call)
            }
            Admission::Untracked => ResponseFuture::passthrough(self.inner.call(request)),
            Admission::Rejected { state, retry_after } => {
                breaker.telemetry().call(CallOutcome::Rejected);
                tracing::debug!(
                    breaker = &**breaker.name(),
                    %state,
                    retry_after_s = retry_after.map(|wait| wait.as_secs_f64()),
                    "circuit breaker refused the call"
                );
                let rejection = CircuitOpen {
                    breaker: breaker.name().clone(),
                    state,
                    retry_after,
                };
                ResponseFuture::rejected(rejection, shared.fallback.clone())
            }
        }
    }
}
