use rampart_core::names::TIMEOUTS;
use rampart_core::{MetricsRecorder, RouteCounters, RouteTable};
use std::sync::Arc;
use std::time::Duration;
use tower_layer::Layer;

use crate::Timeout;

/// Gives each request a deadline: the default, or its route's override.
///
/// Add it with `Router::layer` so the route template is known; outside a router every request
/// gets the default. Clones share their counters.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_timeout::TimeoutLayer;
/// use std::time::Duration;
///
/// let app: Router = Router::new()
///     .route("/api/hello", get(|| async { "hello" }))
///     .route("/api/report", get(|| async { "a long report" }))
///     .layer(
///         TimeoutLayer::new(Duration::from_secs(1))
///             .with_route("/api/report", Duration::from_secs(10)),
///     );
/// ```
#[derive(Debug, Clone)]
pub struct TimeoutLayer {
    pub(crate) deadlines: Arc<RouteTable<Duration>>,
    pub(crate) counters: Arc<RouteCounters>,
}

impl TimeoutLayer {
    /// Every request gets `default`, recording through the global `metrics` recorder.
    pub fn new(default: Duration) -> Self {
        Self::from_table(RouteTable::new(default))
    }

    /// Deadlines from a table of per-route overrides.
    pub fn from_table(deadlines: RouteTable<Duration>) -> Self {
        Self {
            deadlines: Arc::new(deadlines),
            counters: Arc::new(timeout_counters(MetricsRecorder::global())),
        }
    }

    /// Requests matching the route `template` (as given to `Router::route`) get `deadline`.
    #[must_use]
    pub fn with_route(mut self, template: impl Into<Box<str>>, deadline: Duration) -> Self {
        let table = RouteTable::clone(&self.deadlines).with_route(template, deadline);
        self.deadlines = Arc::new(table);
        self
    }

    /// Records `rampart_timeouts_total` into `recorder`.
    #[must_use]
    pub fn with_recorder(mut self, recorder: MetricsRecorder) -> Self {
        self.counters = Arc::new(timeout_counters(recorder));
        self
    }

    /// The deadlines this layer applies.
    pub fn deadlines(&self) -> &RouteTable<Duration> {
        &self.deadlines
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout {
            inner,
            layer: self.clone(),
        }
    }
}

fn timeout_counters(recorder: MetricsRecorder) -> RouteCounters {
    RouteCounters::new(
        recorder,
        TIMEOUTS,
        "Requests answered with 504 because they outlived their deadline.",
    )
}
