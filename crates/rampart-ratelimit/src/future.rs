use http::{HeaderValue, Response, StatusCode, header};
use pin_project_lite::pin_project;
use rampart_core::{Problem, ResponseBody};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::Limited;
use crate::headers::{RATELIMIT, RATELIMIT_POLICY, ceil_seconds};

/// The stable `code` of the problem document a 429 answers with.
pub const PROBLEM_CODE: &str = "rate_limited";

/// `RateLimit-Policy` and `RateLimit` values for a response.
pub(crate) type Headers = (Option<HeaderValue>, Option<HeaderValue>);

pub(crate) enum Rejection {
    Limited {
        limited: Limited,
        headers: Option<Headers>,
    },
    Problem(Problem),
}

pin_project! {
    /// Response future of [`RateLimit`](crate::RateLimit).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Passthrough { #[pin] inner: F, headers: Option<Headers> },
        Rejected { rejection: Option<Rejection> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn passthrough(inner: F, headers: Option<Headers>) -> Self {
        Self {
            kind: Kind::Passthrough { inner, headers },
        }
    }

    pub(crate) const fn rejected(rejection: Rejection) -> Self {
        Self {
            kind: Kind::Rejected {
                rejection: Some(rejection),
            },
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

fn insert_headers<B>(response: &mut Response<B>, headers: Option<Headers>) {
    let Some((policy, state)) = headers else {
        return;
    };
    let map = response.headers_mut();
    if let Some(policy) = policy {
        map.insert(RATELIMIT_POLICY, policy);
    }
    if let Some(state) = state {
        map.insert(RATELIMIT, state);
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Passthrough { inner, headers } => {
                let mut response = ready!(inner.poll(cx))?.map(ResponseBody::new);
                insert_headers(&mut response, headers.take());
                Poll::Ready(Ok(response))
            }
            KindProj::Rejected { rejection } => {
                let response = match rejection.take() {
                    Some(Rejection::Limited { limited, headers }) => {
                        too_many_requests(limited, headers)
                    }
                    Some(Rejection::Problem(problem)) => problem.into_http_response(),
                    None => Problem::new(StatusCode::TOO_MANY_REQUESTS, PROBLEM_CODE)
                        .into_http_response(),
                };
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// `429` problem+json, `Retry-After` in whole seconds rounded up, the typed reason in the
/// extensions.
fn too_many_requests<B>(limited: Limited, headers: Option<Headers>) -> Response<ResponseBody<B>> {
    let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS, PROBLEM_CODE)
        .with_detail(limited.to_string())
        .into_http_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(ceil_seconds(limited.retry_after()).max(1)),
    );
    insert_headers(&mut response, headers);
    response.extensions_mut().insert(limited);
    response
}
