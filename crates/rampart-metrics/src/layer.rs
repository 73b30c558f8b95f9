use rampart_core::MetricsRecorder;
use std::fmt;
use std::sync::Arc;
use tower_layer::Layer;

use crate::configured::ConfiguredRoutes;
use crate::handles::{HandleCache, ServiceHandles};
use crate::service::Shared;
use crate::{Metrics, RouteLabels};

/// Records request metrics for the services it wraps.
///
/// Add it with `Router::layer` (not around the whole router from outside), so that the route
/// template is known when a request arrives. See the [crate docs](crate) for what is recorded.
///
/// Clones share their registered handles; [`MetricsLayer::with_recorder`] starts a fresh set.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_metrics::{MetricsLayer, Prometheus};
///
/// let prometheus = Prometheus::new();
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hi" }))
///     .layer(MetricsLayer::new().with_recorder(prometheus.recorder()));
/// ```
#[derive(Clone)]
pub struct MetricsLayer {
    recorder: MetricsRecorder,
    route_labels: RouteLabels,
    cache: Arc<HandleCache>,
    configured: Option<Arc<ConfiguredRoutes>>,
    request_span: bool,
}

impl MetricsLayer {
    /// Records through the global `metrics` recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records into `recorder` instead of the global one. As with the global recorder, each
    /// metric is registered (and described) on its first use, never when the layer is built.
    #[must_use]
    pub fn with_recorder(self, recorder: MetricsRecorder) -> Self {
        Self {
            cache: Arc::new(HandleCache::new(
                recorder.clone(),
                self.route_labels.clone(),
            )),
            recorder,
            ..self
        }
    }

    /// Leaves some routes out of the metrics and records some under a shared label
    /// ([`RouteLabels`]). Starts a fresh set of handles, as [`MetricsLayer::with_recorder`]
    /// does.
    #[must_use]
    pub fn route_labels(self, route_labels: RouteLabels) -> Self {
        Self {
            cache: Arc::new(HandleCache::new(
                self.recorder.clone(),
                route_labels.clone(),
            )),
            route_labels,
            ..self
        }
    }

    /// The route templates the application's configuration names (the `Stack` passes its
    /// route policies' keys). A request the router did not route whose path fits one of them
    /// logs one WARN naming the key: it names no route, so its policy does not apply.
    #[must_use]
    pub fn configured_routes<T: Into<String>>(
        self,
        templates: impl IntoIterator<Item = T>,
    ) -> Self {
        let routes = ConfiguredRoutes::new(templates.into_iter().map(Into::into));
        Self {
            configured: Some(Arc::new(routes)),
            ..self
        }
    }

    /// Also makes each request's span, as `rampart_trace::TraceLayer` would around this
    /// layer (same span, same `TraceContext`, same events inside it), held in this layer's
    /// own future and body: a request then pays for one wrapper, not two. The `Stack` does
    /// this. Off by default.
    #[must_use]
    pub fn request_span(self, on: bool) -> Self {
        Self {
            request_span: on,
            ..self
        }
    }
}

impl Default for MetricsLayer {
    fn default() -> Self {
        Self {
            recorder: MetricsRecorder::global(),
            route_labels: RouteLabels::new(),
            cache: Arc::new(HandleCache::new(
                MetricsRecorder::global(),
                RouteLabels::new(),
            )),
            configured: None,
            request_span: false,
        }
    }
}

impl fmt::Debug for MetricsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsLayer").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics {
            inner,
            shared: Arc::new(Shared {
                cache: Arc::clone(&self.cache),
                local: ServiceHandles::default(),
                configured: self.configured.clone(),
                request_span: self.request_span,
            }),
        }
    }
}
