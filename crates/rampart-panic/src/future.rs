use crate::PanicCaught;
use axum::extract::MatchedPath;
use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use rampart_core::{Problem, ResponseBody, RouteCounters, UNMATCHED_ROUTE, codes};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Who reports a panic, and under which route.
pub(crate) struct Witness {
    pub(crate) route: Option<MatchedPath>,
    pub(crate) counters: Arc<RouteCounters>,
}

impl Witness {
    fn report(&self, payload: &(dyn Any + Send)) {
        let route = self
            .route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("<non-string panic payload>");
        tracing::error!(http.route = route, panic = message, "handler panicked");
        self.counters.increment(route);
    }
}

pin_project! {
    /// Response future of [`CatchPanic`](crate::CatchPanic).
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] inner: F, witness: Witness },
        // `call` panicked: the answer is a 500 on the first poll.
        Panicked,
        // Answered. Polled again, it stays pending (the rule in docs/architecture.md), never a panic of
        // ours and never a second answer.
        Done,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn running(inner: F, witness: Witness) -> Self {
        Self {
            state: State::Running { inner, witness },
        }
    }

    pub(crate) fn panicked(payload: &(dyn Any + Send), witness: &Witness) -> Self {
        witness.report(payload);
        Self {
            state: State::Panicked,
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

fn internal_error<B>() -> Response<ResponseBody<B>> {
    let mut response = Problem::new(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL_ERROR)
        .with_detail("the server hit an unexpected error while handling the request")
        .into_http_response();
    response.extensions_mut().insert(PanicCaught);
    response
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let outcome = match this.state.as_mut().project() {
            StateProj::Running { inner, witness } => {
                match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(result)) => {
                        Ok(result.map(|response| response.map(ResponseBody::new)))
                    }
                    Err(payload) => {
                        witness.report(payload.as_ref());
                        Err(())
                    }
                }
            }
            StateProj::Panicked => Err(()),
            StateProj::Done => return Poll::Pending,
        };
        // Drops the panicked future right away rather than whenever the caller lets go of us.
        this.state.set(State::Done);
        Poll::Ready(outcome.unwrap_or_else(|()| Ok(internal_error())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::MetricsRecorder;
    use std::convert::Infallible;
    use std::task::Waker;

    fn witness() -> Witness {
        Witness {
            route: None,
            counters: Arc::new(RouteCounters::new(MetricsRecorder::global(), "panics", "")),
        }
    }

    #[test]
    fn polled_again_after_answering_it_stays_pending() {
        let answered = std::future::ready(Ok::<_, Infallible>(Response::new(String::new())));
        let panicked =
            ResponseFuture::<std::future::Ready<Result<Response<String>, Infallible>>>::panicked(
                &"bug",
                &witness(),
            );
        for future in [ResponseFuture::running(answered, witness()), panicked] {
            let mut future = std::pin::pin!(future);
            let mut cx = Context::from_waker(Waker::noop());
            assert!(future.as_mut().poll(&mut cx).is_ready());
            assert!(future.as_mut().poll(&mut cx).is_pending());
        }
    }
}
