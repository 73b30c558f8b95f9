use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use rampart_core::{UNMATCHED_ROUTE, route_label};
use rampart_trace::RequestSpan;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::time::Instant;
use tower_service::Service;

use crate::configured::ConfiguredRoutes;
use crate::future::{InFlight, ResponseFuture};
use crate::handles::{HandleCache, RequestKind, ServiceHandles};
use crate::request_size;
use crate::{MetricsBody, MetricsLayer};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Records request metrics for the inner service. Made by [`MetricsLayer`].
///
/// It hands the inner service an axum [`Body`]; converting costs nothing when the request body
/// already is one, as it is inside an axum router.
#[derive(Clone)]
pub struct Metrics<S> {
    pub(crate) inner: S,
    pub(crate) shared: Arc<Shared>,
}

/// What one wrapped service needs, behind one `Arc` (axum clones the service per request).
pub(crate) struct Shared {
    pub(crate) cache: Arc<HandleCache>,
    pub(crate) local: ServiceHandles,
    pub(crate) configured: Option<Arc<ConfiguredRoutes>>,
    pub(crate) request_span: bool,
}

impl<S> Metrics<S> {
    /// Wraps `inner`, recording through the global `metrics` recorder.
    pub fn new(inner: S) -> Self {
        tower_layer::Layer::layer(&MetricsLayer::new(), inner)
    }

    rampart_core::inner_service_accessors!();
}

impl<S: fmt::Debug> fmt::Debug for Metrics<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Metrics<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<MetricsBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let kind = RequestKind::of(&request);
        let shared = &*self.shared;
        let span = if shared.request_span {
            RequestSpan::start(&mut request)
        } else {
            RequestSpan::default()
        };
        let route = route_label(&request);
        if route == UNMATCHED_ROUTE {
            if let Some(configured) = &shared.configured {
                configured.unrouted(request.uri().path());
            }
        }
        let handles = shared.local.route(&shared.cache, kind, route);
        let (request, request_size) = request_size::observe(request);
        handles.active.increment(1.0);
        let _entered = span.entered();
        // Built in place: binding the inner future first copied it (every layer below is
        // inside it) once more per request.
        ResponseFuture {
            inner: self.inner.call(request),
            in_flight: Some(InFlight {
                handles,
                start,
                request_size,
                span,
            }),
        }
    }
}
