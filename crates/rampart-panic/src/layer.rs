use rampart_core::names::PANICS;
use rampart_core::{MetricsRecorder, RouteCounters};
use std::sync::Arc;
use tower_layer::Layer;

use crate::CatchPanic;

/// Catches panics of the services it wraps. Clones share their counters.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_panic::CatchPanicLayer;
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "fine" }))
///     .layer(CatchPanicLayer::new());
/// ```
#[derive(Debug, Clone)]
pub struct CatchPanicLayer {
    pub(crate) counters: Arc<RouteCounters>,
}

impl CatchPanicLayer {
    /// Counts panics through the global `metrics` recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `rampart_panics_total` into `recorder`.
    #[must_use]
    pub fn with_recorder(self, recorder: MetricsRecorder) -> Self {
        Self {
            counters: Arc::new(panic_counters(recorder)),
        }
    }
}

impl Default for CatchPanicLayer {
    fn default() -> Self {
        Self {
            counters: Arc::new(panic_counters(MetricsRecorder::global())),
        }
    }
}

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic {
            inner,
            layer: self.clone(),
        }
    }
}

fn panic_counters(recorder: MetricsRecorder) -> RouteCounters {
    RouteCounters::new(recorder, PANICS, "Panics in handlers, answered with 500.")
}
