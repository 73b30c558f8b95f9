//! The stack's own answers in an API's own error format.
//!
//! Every answer a rampart layer makes on its own (429, 503, 504, 413, a caught panic's 500, the
//! fallbacks' 404 and 405) is an RFC 9457 problem: a [`Problem`] whose JSON body and headers are
//! set, and which rides along in the response's extensions. An API with an error format of its
//! own (or gRPC, whose errors are a status in the headers) gives [`ProblemFormatLayer::new`] a
//! function that rewrites such an answer from its `Problem`: it may change the status and the
//! headers, and returns the new body. Answers the application made are never touched, except
//! a `Problem` a handler returned, which is one of these answers by design.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{HeaderValue, Request, StatusCode, header};
//! use rampart::ratelimit::{KeySource, Policy, Quota};
//! use rampart::{ProblemFormatLayer, Stack};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // gRPC: every error is a `200` whose `grpc-status` says what went wrong.
//! let grpc = ProblemFormatLayer::new(|problem, parts| {
//!     let code = match problem.status() {
//!         StatusCode::TOO_MANY_REQUESTS => "8",      // RESOURCE_EXHAUSTED
//!         StatusCode::GATEWAY_TIMEOUT => "4",        // DEADLINE_EXCEEDED
//!         StatusCode::SERVICE_UNAVAILABLE => "14",   // UNAVAILABLE
//!         _ => "13",                                 // INTERNAL
//!     };
//!     parts.status = StatusCode::OK;
//!     parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
//!     parts.headers.insert("grpc-status", HeaderValue::from_static(code));
//!     if let Ok(message) = HeaderValue::from_str(problem.code()) {
//!         parts.headers.insert("grpc-message", message);
//!     }
//!     bytes::Bytes::new()
//! });
//! let stack = Stack::builder()
//!     .rate_limit(vec![Policy::new("all", Quota::per_hour(1), KeySource::Global)])
//!     .problem_format(grpc)
//!     .build();
//! let app: Router = stack.apply(Router::new().route("/", get(|| async { "hi" })));
//! let get = || Request::get("/").body(Body::empty()).unwrap();
//! assert_eq!(app.clone().oneshot(get()).await.unwrap().status(), StatusCode::OK);
//! let refused = app.oneshot(get()).await.unwrap();
//! assert_eq!(refused.status(), StatusCode::OK);
//! assert_eq!(refused.headers()["grpc-status"], "8");
//! assert_eq!(refused.headers()["grpc-message"], "rate_limited");
//! # }
//! ```

use bytes::Bytes;
use http::response::Parts;
use http::{Request, Response};
use pin_project_lite::pin_project;
use rampart_core::{Problem, ResponseBody};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tower_layer::Layer;
use tower_service::Service;

type Format = Arc<dyn Fn(&Problem, &mut Parts) -> Bytes + Send + Sync>;

/// Rewrites the stack's own problem answers with a function of the application's. The default
/// leaves them RFC 9457 problem documents.
#[derive(Clone, Default)]
#[must_use]
pub struct ProblemFormatLayer {
    format: Option<Format>,
}

impl ProblemFormatLayer {
    /// Rewrites every problem answer with `format`, which gets the [`Problem`] and the
    /// answer's status and headers (`Content-Type: application/problem+json`, `Retry-After`,
    /// the rate limiter's `RateLimit` fields …) to change, and returns the new body.
    pub fn new<F>(format: F) -> Self
    where
        F: Fn(&Problem, &mut Parts) -> Bytes + Send + Sync + 'static,
    {
        Self {
            format: Some(Arc::new(format)),
        }
    }
}

impl fmt::Debug for ProblemFormatLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProblemFormatLayer")
            .field("format", &self.format.is_some())
            .finish()
    }
}

impl<S> Layer<S> for ProblemFormatLayer {
    type Service = ProblemFormat<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProblemFormat {
            inner,
            format: self.format.clone(),
        }
    }
}

/// Rewrites the problem answers of the service it wraps. Made by [`ProblemFormatLayer`].
#[derive(Clone)]
pub struct ProblemFormat<S> {
    inner: S,
    format: Option<Format>,
}

impl<S> ProblemFormat<S> {
    rampart_core::inner_service_accessors!();
}

impl<S: fmt::Debug> fmt::Debug for ProblemFormat<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProblemFormat")
            .field("inner", &self.inner)
            .field("format", &self.format.is_some())
            .finish()
    }
}

impl<S, ReqBody, B> Service<Request<ReqBody>> for ProblemFormat<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResponseBody<B>>>,
{
    type Response = Response<ResponseBody<B>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        ResponseFuture {
            inner: self.inner.call(request),
            format: self.format.clone(),
        }
    }
}

pin_project! {
    /// Response future of [`ProblemFormat`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        format: Option<Format>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody<B>>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let Some(format) = this.format.as_ref() else {
            return Poll::Ready(Ok(response));
        };
        let (mut parts, body) = response.into_parts();
        let Some(problem) = parts.extensions.remove::<Problem>() else {
            return Poll::Ready(Ok(Response::from_parts(parts, body)));
        };
        let body = format(&problem, &mut parts);
        parts.extensions.insert(problem);
        parts.headers.remove(http::header::CONTENT_LENGTH);
        Poll::Ready(Ok(Response::from_parts(
            parts,
            ResponseBody::synthetic(body),
        )))
    }
}
