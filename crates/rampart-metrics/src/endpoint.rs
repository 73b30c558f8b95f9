use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use metrics_exporter_prometheus::PrometheusHandle;
use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::task::{Context, Poll};
use tower_service::Service;

/// The content type of the Prometheus text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A Tower service serving a [`Prometheus`](crate::Prometheus) registry in the text format.
///
/// `GET` and `HEAD` get the exposition text; other methods get `405` with `Allow: GET, HEAD`.
///
/// # Example
///
/// ```
/// use axum::Router;
/// use rampart_metrics::Prometheus;
///
/// let prometheus = Prometheus::new();
/// let app: Router = Router::new().route_service("/metrics", prometheus.endpoint());
/// ```
#[derive(Clone)]
pub struct MetricsEndpoint {
    handle: PrometheusHandle,
}

impl MetricsEndpoint {
    pub(crate) const fn new(handle: PrometheusHandle) -> Self {
        Self { handle }
    }
}

impl fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsEndpoint").finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for MetricsEndpoint {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut response = if request.method() == Method::GET || request.method() == Method::HEAD {
            let mut response = Response::new(self.handle.render());
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
            response
        } else {
            let mut response = Response::new(String::new());
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        ready(Ok(response))
    }
}
