use axum::extract::MatchedPath;
use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use rampart_core::{Problem, ResponseBody, RouteCounters};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

use crate::PROBLEM_CODE;

/// What the future needs to answer when the deadline passes.
pub(crate) struct Expiry {
    pub(crate) route: Option<MatchedPath>,
    pub(crate) deadline: Duration,
    pub(crate) counters: Arc<RouteCounters>,
}

pin_project! {
    /// Response future of [`Timeout`](crate::Timeout).
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
        at: Instant,
        // Made on the first poll the inner future does not finish in: most requests finish in
        // their first poll and never need a timer, and boxed it keeps this future small.
        sleep: Option<Pin<Box<Sleep>>>,
        expiry: Expiry,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] inner: F },
        // The inner future has been dropped, so the handler's work stops at the deadline.
        Expired,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, expiry: Expiry, at: Instant) -> Self {
        Self {
            state: State::Running { inner },
            at,
            sleep: None,
            expiry,
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("deadline", &self.expiry.deadline)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // The inner future goes first: a layer below that races the same `Deadline` (the cache
        // serving a stale entry) answers in the poll where the deadline passes, before we do.
        if let StateProj::Running { inner } = this.state.as_mut().project() {
            if let Poll::Ready(result) = inner.poll(cx) {
                return Poll::Ready(result.map(|response| response.map(ResponseBody::new)));
            }
        }
        let at = *this.at;
        if this
            .sleep
            .get_or_insert_with(|| Box::pin(sleep_until(at)))
            .as_mut()
            .poll(cx)
            .is_pending()
        {
            return Poll::Pending;
        }
        // Dropped at the deadline: layers below (the circuit breaker) read the request's
        // `Deadline` and count this as a timeout, not a disconnect.
        this.state.set(State::Expired);
        this.expiry
            .counters
            .increment_matched(this.expiry.route.as_ref());
        let problem = Problem::new(StatusCode::GATEWAY_TIMEOUT, PROBLEM_CODE).with_detail(format!(
            "the request did not complete within {}",
            DisplayDuration(this.expiry.deadline)
        ));
        Poll::Ready(Ok(problem.into_http_response()))
    }
}

/// `1s`, `1.5s`, `250ms`: how a deadline reads in a problem detail.
struct DisplayDuration(Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis < 1000 {
            write!(f, "{millis}ms")
        } else if millis % 1000 == 0 {
            write!(f, "{}s", millis / 1000)
        } else {
            write!(f, "{}s", self.0.as_secs_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DisplayDuration;
    use std::time::Duration;

    #[test]
    fn deadlines_read_naturally() {
        let shown = |ms| DisplayDuration(Duration::from_millis(ms)).to_string();
        assert_eq!(shown(250), "250ms");
        assert_eq!(shown(1000), "1s");
        assert_eq!(shown(1500), "1.5s");
    }
}
