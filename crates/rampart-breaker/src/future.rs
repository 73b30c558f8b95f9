use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use rampart_core::deadline::Deadline;
use rampart_core::shed::Shed;
use rampart_core::{Problem, ResponseBody, codes};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::time::Instant;

use crate::breaker::{Breaker, Permit};
use crate::layer::Fallback;
use crate::telemetry::CallOutcome;
use crate::{CircuitOpen, Classifier};

/// A call in flight through a breaker. Dropped unfinished, it tells the breaker why.
pub(crate) struct Call<C> {
    breaker: Arc<Breaker>,
    permit: Permit,
    start: Instant,
    /// The request's deadline, when a timeout layer above set one.
    deadline: Option<Deadline>,
    classifier: C,
    finished: bool,
}

impl<C> Call<C> {
    pub(crate) const fn new(
        breaker: Arc<Breaker>,
        permit: Permit,
        start: Instant,
        deadline: Option<Deadline>,
        classifier: C,
    ) -> Self {
        Self {
            breaker,
            permit,
            start,
            deadline,
            classifier,
            finished: false,
        }
    }

    fn finish(&mut self, failed: bool) {
        self.finished = true;
        let now = Instant::now();
        let slow =
            now.saturating_duration_since(self.start) > self.breaker.config().slow_call_duration;
        self.breaker.record(self.permit, failed, slow, now);
        let outcome = match (failed, slow) {
            (true, _) => CallOutcome::Failure,
            (false, true) => CallOutcome::Slow,
            (false, false) => CallOutcome::Success,
        };
        self.breaker.telemetry().call(outcome);
    }
}

impl<C> Call<C> {
    /// No verdict on the dependency; a half-open probe goes back.
    fn not_attempted(&mut self) {
        self.finished = true;
        self.breaker.abandon(self.permit);
    }
}

impl<C> Drop for Call<C> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if self.deadline.as_ref().is_some_and(Deadline::has_passed) {
            // Dropped at or after the request's deadline (by the timeout layer, or by the cache
            // answering from a stale entry): a failure, as a timeout is.
            self.finish(true);
        } else {
            // The client went away: no verdict on the dependency, and a probe goes back.
            self.not_attempted();
        }
    }
}

pin_project! {
    /// Response future of [`CircuitBreaker`](crate::CircuitBreaker).
    pub struct ResponseFuture<F, C> {
        #[pin]
        kind: Kind<F, C>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, C> {
        Passthrough { #[pin] inner: F },
        Guarded { #[pin] inner: F, call: Call<C> },
        Rejected { rejection: Option<CircuitOpen>, fallback: Option<Fallback> },
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) const fn passthrough(inner: F) -> Self {
        Self {
            kind: Kind::Passthrough { inner },
        }
    }

    pub(crate) const fn guarded(inner: F, call: Call<C>) -> Self {
        Self {
            kind: Kind::Guarded { inner, call },
        }
    }

    pub(crate) const fn rejected(rejection: CircuitOpen, fallback: Option<Fallback>) -> Self {
        Self {
            kind: Kind::Rejected {
                rejection: Some(rejection),
                fallback,
            },
        }
    }
}

impl<F, C> fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, C, B, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<Response<B>, E>>,
    C: Classifier<B, E>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Passthrough { inner } => {
                let result = ready!(inner.poll(cx));
                Poll::Ready(result.map(|response| response.map(ResponseBody::new)))
            }
            KindProj::Guarded { inner, call } => {
                let result = ready!(inner.poll(cx));
                if result.as_ref().is_ok_and(Shed::is_shed) {
                    // A layer below refused the call to shed load: the service was not asked.
                    call.not_attempted();
                } else {
                    let failed = call.classifier.is_failure(result.as_ref());
                    call.finish(failed);
                }
                Poll::Ready(result.map(|response| response.map(ResponseBody::new)))
            }
            KindProj::Rejected {
                rejection,
                fallback,
            } => {
                // Polled again after answering: no second answer (the rule in docs/architecture.md).
                let Some(rejection) = rejection.take() else {
                    return Poll::Pending;
                };
                Poll::Ready(Ok(match fallback {
                    Some(fallback) => {
                        let mut response = fallback(&rejection).map(ResponseBody::synthetic);
                        response.extensions_mut().insert(rejection);
                        response
                    }
                    None => rejection_response(rejection),
                }))
            }
        }
    }
}

/// `503` problem+json with `Retry-After` (whole seconds, rounded up) when the wait is known.
fn rejection_response<B>(rejection: CircuitOpen) -> Response<ResponseBody<B>> {
    let mut problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, codes::CIRCUIT_OPEN)
        .with_detail(rejection.to_string());
    if let Some(wait) = rejection.retry_after {
        problem = problem.with_retry_after(wait);
    }
    let mut response = problem.into_http_response();
    response.extensions_mut().insert(rejection);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DefaultClassifier;
    use std::convert::Infallible;
    use std::future::Ready;
    use std::task::Waker;

    #[test]
    fn a_refusal_polled_again_after_answering_stays_pending() {
        type Inner = Ready<Result<Response<String>, Infallible>>;
        let refusal = CircuitOpen {
            breaker: Arc::from("/api/upstream"),
            state: crate::BreakerState::Open,
            retry_after: None,
        };
        let mut future = std::pin::pin!(ResponseFuture::<Inner, DefaultClassifier>::rejected(
            refusal, None
        ));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_ready());
        assert!(future.as_mut().poll(&mut cx).is_pending());
    }
}
