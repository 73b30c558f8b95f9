use axum::extract::MatchedPath;
use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use rampart_core::deadline::BodyWait;
use rampart_core::{Problem, ResponseBody, codes};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

use crate::layer::Counters;
use crate::{BodyTimedOut, TimedOut};

/// What the future needs to answer when time runs out.
pub(crate) struct Expiry {
    pub(crate) route: Option<MatchedPath>,
    pub(crate) deadline: Duration,
    pub(crate) counters: Arc<Counters>,
}

/// A request with a body: the time spent waiting for it, and how long one wait may last.
pub(crate) struct BodyWatch {
    pub(crate) wait: Arc<BodyWait>,
    pub(crate) timeout: Duration,
}

/// How the request ran out of time.
enum OutOfTime {
    /// The server's work outlived the deadline: `504`.
    Deadline,
    /// The client sent none of the rest of the body for the body timeout: `408`.
    Body,
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
        // Set for a request with a body: moves the deadline out while the service waits for
        // the client, and tells how long the current wait has lasted. Boxed: most requests
        // have no body, and every future around this one carries its size.
        body: Option<Box<BodyWatch>>,
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
    pub(crate) fn new(inner: F, expiry: Expiry, at: Instant, body: Option<Box<BodyWatch>>) -> Self {
        Self {
            state: State::Running { inner },
            at,
            sleep: None,
            expiry,
            body,
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
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(sleep_until(at)));
        let out_of_time = loop {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The timer only fires early when the service waited for the body meanwhile: the
            // waits it saw move the deadline out, and no wake-up is needed from the body.
            let Some(BodyWatch { wait, timeout }) = this.body.as_deref() else {
                break OutOfTime::Deadline;
            };
            let now = Instant::now();
            let idle_until = wait
                .current()
                .map(|waiting| now.checked_sub(waiting).unwrap_or(now) + *timeout);
            if idle_until.is_some_and(|idle_until| now >= idle_until) {
                break OutOfTime::Body;
            }
            let due = at + wait.total();
            if now >= due {
                break OutOfTime::Deadline;
            }
            let next = idle_until.map_or(due, |idle_until| idle_until.min(due));
            sleep.as_mut().reset(next);
        };
        // Dropped now: layers below (the circuit breaker) read the request's `Deadline` and
        // count this as a timeout, not a disconnect.
        this.state.set(State::Expired);
        let route = this.expiry.route.as_ref();
        Poll::Ready(Ok(match out_of_time {
            OutOfTime::Deadline => {
                this.expiry.counters.timeouts.increment_matched(route);
                tracing::debug!(
                    deadline_s = this.expiry.deadline.as_secs_f64(),
                    "request outlived its deadline"
                );
                let reason = TimedOut::new(this.expiry.deadline);
                let mut response =
                    Problem::new(StatusCode::GATEWAY_TIMEOUT, codes::REQUEST_TIMEOUT)
                        .with_detail(reason.to_string())
                        .into_http_response();
                response.extensions_mut().insert(reason);
                response
            }
            OutOfTime::Body => {
                this.expiry.counters.body_timeouts.increment_matched(route);
                let waited = this
                    .body
                    .as_ref()
                    .map_or(Duration::ZERO, |body| body.timeout);
                let reason = BodyTimedOut::new(waited);
                tracing::debug!(
                    waited_s = waited.as_secs_f64(),
                    "client stopped sending the request body"
                );
                Problem::request_body_timeout(codes::REQUEST_BODY_TIMEOUT, reason)
            }
        }))
    }
}
