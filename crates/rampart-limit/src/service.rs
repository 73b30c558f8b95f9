use axum::body::Body;
use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Request, Response};
use http_body::Body as HttpBody;
use rampart_core::ResponseBody;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::task::{Context, Poll};
use tower_service::Service;

use crate::body::{BoxError, CountedBody};
use crate::{RequestBodyLimitLayer, ResponseFuture};

/// Limits the request bodies of the inner service. Made by [`RequestBodyLimitLayer`].
#[derive(Debug, Clone)]
pub struct RequestBodyLimit<S> {
    pub(crate) inner: S,
    pub(crate) layer: RequestBodyLimitLayer,
}

impl<S> RequestBodyLimit<S> {
    rampart_core::inner_service_accessors!();
}

impl<S, B, ResBody> Service<Request<B>> for RequestBodyLimit<S>
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
        let declared = request.headers().get(CONTENT_LENGTH).map(|value| {
            // hyper refuses a malformed `Content-Length`; any other server's is over any limit.
            value
                .to_str()
                .ok()
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or(u64::MAX)
        });
        if declared.is_none() && request.body().is_end_stream() {
            // No body (a GET): nothing to limit, not even a route to look up.
            return self.pass(request);
        }
        let limit = *self.layer.limits.get(&request);
        match declared {
            Some(length) if length > limit => ResponseFuture::refused(limit),
            // The server holds the body to its declared length (hyper does): nothing to count.
            Some(_) => self.pass(request),
            None => {
                let exceeded = Arc::new(AtomicBool::new(false));
                let flag = Arc::clone(&exceeded);
                let request = request.map(|body| Body::new(CountedBody::new(body, limit, flag)));
                ResponseFuture::counting(self.inner.call(request), limit, exceeded)
            }
        }
    }
}

impl<S, ResBody> RequestBodyLimit<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
{
    /// Calls the inner service with the body as it is (no allocation when it is already an
    /// axum `Body`).
    fn pass<B>(&mut self, request: Request<B>) -> ResponseFuture<S::Future>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        ResponseFuture::passing(self.inner.call(request.map(Body::new)))
    }
}
