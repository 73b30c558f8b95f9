use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use rampart_core::shed::Shed;
use rampart_core::{Problem, ResponseBody, codes};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use crate::limiter::Permit;
use crate::{Limit, Overloaded};

pin_project! {
    /// Response future of [`ConcurrencyLimit`](crate::ConcurrencyLimit).
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        // Every slot taken: the inner service is never called.
        Refused { limit: Limit, retry_after: Duration },
        // Holding a slot until the inner answer, or until dropped; a route without a limit
        // holds none.
        Admitted { #[pin] inner: F, permit: Option<Permit> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn refused(limit: Limit, retry_after: Duration) -> Self {
        Self {
            state: State::Refused { limit, retry_after },
        }
    }

    pub(crate) const fn passthrough(inner: F) -> Self {
        Self {
            state: State::Admitted {
                inner,
                permit: None,
            },
        }
    }

    pub(crate) const fn admitted(inner: F, permit: Permit) -> Self {
        Self {
            state: State::Admitted {
                inner,
                permit: Some(permit),
            },
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// `503 Service Unavailable` as problem+json with `Retry-After`; in its extensions, the
/// rejection and the mark that tells a breaker above that the service was not asked.
fn overloaded<B>(limit: &Limit, retry_after: Duration) -> Response<ResponseBody<B>> {
    let overloaded = Overloaded::new(limit, retry_after);
    tracing::debug!(
        reason = %overloaded,
        retry_after_s = retry_after.as_secs_f64(),
        "concurrency limit refused the request"
    );
    let mut response = Problem::new(StatusCode::SERVICE_UNAVAILABLE, codes::OVERLOADED)
        .with_detail(overloaded.to_string())
        .with_retry_after(retry_after)
        .into_http_response();
    let extensions = response.extensions_mut();
    extensions.insert(overloaded);
    extensions.insert(Shed);
    response
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { limit, retry_after } => {
                Poll::Ready(Ok(overloaded(limit, *retry_after)))
            }
            StateProj::Admitted { inner, permit } => {
                let result = ready!(inner.poll(cx));
                if let Some(permit) = permit.take() {
                    permit.complete();
                }
                Poll::Ready(result.map(|response| response.map(ResponseBody::new)))
            }
        }
    }
}
