use http::{HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use rampart_core::{Problem, ResponseBody, codes};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tower_service::Service;

use crate::headers::{RATELIMIT, RATELIMIT_POLICY};
use crate::layer::RouteLimit;
use crate::preflight::Charge;
use crate::service::judge;
use crate::{BackendUnavailable, KeyMissing, Limited, Verdict};

/// `RateLimit-Policy` and `RateLimit` values for a response.
pub(crate) type Headers = (Option<HeaderValue>, Option<HeaderValue>);

type Decision = Pin<Box<dyn Future<Output = Verdict> + Send>>;

pub(crate) enum Rejection {
    /// Boxed: rejections are the rare path, and this keeps every future small.
    Limited(Box<(Limited, Option<Headers>)>),
    Unavailable(BackendUnavailable),
    KeyMissing(Box<(Problem, KeyMissing)>),
}

pin_project! {
    /// Response future of [`RateLimit`](crate::RateLimit).
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        kind: Kind<S, ReqBody>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Deciding {
            decision: Decision,
            // Boxed: only a Redis-backed decision waits with the request, and the round trip
            // dwarfs an allocation; unboxed it would make every response future (and every
            // future around it) larger by a request and a service.
            pending: Option<Box<(S, Request<ReqBody>)>>,
            limit: Arc<RouteLimit>,
            headers: bool,
        },
        Passthrough { #[pin] inner: S::Future, headers: Option<Headers> },
        // A CORS preflight, charged once its answer shows a handler made it.
        Preflight { #[pin] inner: S::Future, charge: Option<Box<Charge>> },
        Rejected { rejection: Option<Rejection> },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) const fn passthrough(inner: S::Future, headers: Option<Headers>) -> Self {
        Self {
            kind: Kind::Passthrough { inner, headers },
        }
    }

    pub(crate) const fn preflight(inner: S::Future, charge: Option<Box<Charge>>) -> Self {
        Self {
            kind: Kind::Preflight { inner, charge },
        }
    }

    pub(crate) const fn rejected(rejection: Rejection) -> Self {
        Self {
            kind: Kind::Rejected {
                rejection: Some(rejection),
            },
        }
    }

    pub(crate) fn deciding(
        decision: Decision,
        service: S,
        request: Request<ReqBody>,
        limit: Arc<RouteLimit>,
        headers: bool,
    ) -> Self {
        Self {
            kind: Kind::Deciding {
                decision,
                pending: Some(Box::new((service, request))),
                limit,
                headers,
            },
        }
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
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

impl<S, ReqBody, B> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
{
    type Output = Result<Response<ResponseBody<B>>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let next = match self.as_mut().project().kind.project() {
                KindProj::Deciding {
                    decision,
                    pending,
                    limit,
                    headers,
                } => {
                    let verdict = ready!(decision.as_mut().poll(cx));
                    match (judge(limit, verdict, *headers), pending.take()) {
                        (Ok(headers), Some(pending)) => {
                            let (mut service, request) = *pending;
                            Kind::Passthrough {
                                inner: service.call(request),
                                headers,
                            }
                        }
                        (Err(rejection), _) => Kind::Rejected {
                            rejection: Some(rejection),
                        },
                        (Ok(_), None) => Kind::Rejected { rejection: None },
                    }
                }
                KindProj::Passthrough { inner, headers } => {
                    let mut response = ready!(inner.poll(cx))?.map(ResponseBody::new);
                    insert_headers(&mut response, headers.take());
                    return Poll::Ready(Ok(response));
                }
                KindProj::Preflight { inner, charge } => {
                    let response = ready!(inner.poll(cx))?;
                    if let Some(charge) = charge.take() {
                        charge.settle(&response);
                    }
                    return Poll::Ready(Ok(response.map(ResponseBody::new)));
                }
                KindProj::Rejected { rejection } => {
                    // Polled again after answering: no second answer (the rule in docs/architecture.md).
                    let Some(rejection) = rejection.take() else {
                        return Poll::Pending;
                    };
                    return Poll::Ready(Ok(rejection_response(rejection)));
                }
            };
            self.as_mut().project().kind.set(next);
        }
    }
}

fn rejection_response<B>(rejection: Rejection) -> Response<ResponseBody<B>> {
    match rejection {
        Rejection::Limited(limited) => {
            let (limited, headers) = *limited;
            too_many_requests(limited, headers)
        }
        Rejection::Unavailable(error) => {
            let mut response = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::RATE_LIMIT_UNAVAILABLE,
            )
            .with_detail("the shared rate limit could not be checked; try again shortly")
            .with_retry_after(Duration::from_secs(1))
            .into_http_response();
            response.extensions_mut().insert(error);
            response
        }
        Rejection::KeyMissing(missing) => {
            let (problem, reason) = *missing;
            let mut response = problem.into_http_response();
            response.extensions_mut().insert(reason);
            response
        }
    }
}

/// `429` problem+json, `Retry-After` in whole seconds rounded up, the typed reason in the
/// extensions.
fn too_many_requests<B>(limited: Limited, headers: Option<Headers>) -> Response<ResponseBody<B>> {
    let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED)
        .with_detail(limited.to_string())
        .with_retry_after(limited.retry_after())
        .into_http_response();
    insert_headers(&mut response, headers);
    response.extensions_mut().insert(limited);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyMissing;
    use std::convert::Infallible;
    use std::task::Waker;

    /// Never called: a refusal answers without the inner service.
    struct Unused;

    impl Service<Request<()>> for Unused {
        type Response = Response<String>;
        type Error = Infallible;
        type Future = std::future::Pending<Result<Response<String>, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            std::future::pending()
        }
    }

    #[test]
    fn a_refusal_polled_again_after_answering_stays_pending() {
        let problem = Problem::new(StatusCode::BAD_REQUEST, codes::RATE_LIMIT_KEY_MISSING);
        let refusal = Rejection::KeyMissing(Box::new((problem, KeyMissing::new("per_key"))));
        let mut future = std::pin::pin!(ResponseFuture::<Unused, ()>::rejected(refusal));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_ready());
        assert!(future.as_mut().poll(&mut cx).is_pending());
    }
}
