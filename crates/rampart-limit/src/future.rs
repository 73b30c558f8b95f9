use http::{Response, StatusCode};
use pin_project_lite::pin_project;
use rampart_core::{Problem, ResponseBody, codes};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use crate::BodyTooLarge;

pin_project! {
    /// Response future of [`RequestBodyLimit`](crate::RequestBodyLimit).
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        // `Content-Length` over the limit: the handler is never called.
        Refused { limit: u64 },
        // No body, or one held to its declared length: the inner answer as it is.
        Passing { #[pin] inner: F },
        // A body counted as it is read; `exceeded` is raised when it passes `limit`.
        Counting { #[pin] inner: F, limit: u64, exceeded: Arc<AtomicBool> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn refused(limit: u64) -> Self {
        Self {
            state: State::Refused { limit },
        }
    }

    pub(crate) const fn passing(inner: F) -> Self {
        Self {
            state: State::Passing { inner },
        }
    }

    pub(crate) const fn counting(inner: F, limit: u64, exceeded: Arc<AtomicBool>) -> Self {
        Self {
            state: State::Counting {
                inner,
                limit,
                exceeded,
            },
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// `413 Content Too Large` (RFC 9110 15.5.14) as problem+json, the rejection in its extensions.
fn too_large<B>(limit: u64) -> Response<ResponseBody<B>> {
    let mut response = Problem::new(StatusCode::PAYLOAD_TOO_LARGE, codes::BODY_TOO_LARGE)
        .with_detail(format!(
            "the request body is longer than this route's limit of {limit} bytes"
        ))
        .into_http_response();
    response.extensions_mut().insert(BodyTooLarge::new(limit));
    response
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { limit } => Poll::Ready(Ok(too_large(*limit))),
            StateProj::Passing { inner } => {
                let result = ready!(inner.poll(cx));
                Poll::Ready(result.map(|response| response.map(ResponseBody::new)))
            }
            StateProj::Counting {
                inner,
                limit,
                exceeded,
            } => {
                let result = ready!(inner.poll(cx));
                // The handler read past the limit: whatever it made of a cut body, the answer
                // is that the body was too large.
                if exceeded.load(Ordering::Relaxed) {
                    return Poll::Ready(Ok(too_large(*limit)));
                }
                Poll::Ready(result.map(|response| response.map(ResponseBody::new)))
            }
        }
    }
}
