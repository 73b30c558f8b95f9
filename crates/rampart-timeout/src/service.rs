use axum::body::Body;
use axum::extract::MatchedPath;
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body as HttpBody;
use rampart_core::ResponseBody;
use rampart_core::deadline::{BodyWait, Deadline};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::time::Instant;
use tower_service::Service;

use crate::TimeoutLayer;
use crate::body::WatchedBody;
use crate::future::{BodyWatch, Expiry, ResponseFuture};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Answers `504` when the inner service outlives the request's deadline, and `408` when the
/// client stops sending the request body. Made by [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    pub(crate) inner: S,
    pub(crate) layer: Arc<TimeoutLayer>,
}

impl<S> Timeout<S> {
    rampart_core::inner_service_accessors!();
}

impl<S, B, ResBody> Service<Request<B>> for Timeout<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        let deadline = *self.layer.deadlines.get_matched(route.as_ref());
        let at = Instant::now() + deadline;
        // No body (a GET): nothing to wait for, and no allocation (it already is an axum body
        // in the stack).
        let body_wait = (!request.body().is_end_stream()).then(|| Arc::new(BodyWait::new()));
        let mut request = match &body_wait {
            Some(wait) => {
                let wait = Arc::clone(wait);
                request.map(|body| Body::new(WatchedBody::new(body, wait)))
            }
            None => request.map(Body::new),
        };
        if *self.layer.published.get_matched(route.as_ref()) {
            let published = Deadline::new(at);
            let published = match &body_wait {
                Some(wait) => published.waiting_for_body(Arc::clone(wait)),
                None => published,
            };
            request.extensions_mut().insert(published);
        }
        let expiry = Expiry {
            route,
            deadline,
            counters: self.layer.counters.clone(),
        };
        let body = body_wait.map(|wait| {
            Box::new(BodyWatch {
                wait,
                timeout: self.layer.body_timeout,
            })
        });
        ResponseFuture::new(self.inner.call(request), expiry, at, body)
    }
}
