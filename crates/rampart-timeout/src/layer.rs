use rampart_core::names::{REQUEST_BODY_TIMEOUTS, TIMEOUTS};
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
    pub(crate) published: Arc<RouteTable<bool>>,
    pub(crate) body_timeout: Duration,
    pub(crate) counters: Arc<Counters>,
}

/// The two ways a request runs out of time, counted per route.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) timeouts: RouteCounters,
    pub(crate) body_timeouts: RouteCounters,
}

impl Counters {
    fn new(recorder: &MetricsRecorder) -> Self {
        Self {
            timeouts: RouteCounters::new(
                recorder.clone(),
                TIMEOUTS,
                "Requests answered with 504 because they outlived their deadline.",
            ),
            body_timeouts: RouteCounters::new(
                recorder.clone(),
                REQUEST_BODY_TIMEOUTS,
                "Requests answered with 408 because the client stopped sending the body.",
            ),
        }
    }
}

/// How long the service may wait for the client to send more of a request body. Between
/// Apache's `mod_reqtimeout` (20 s) and nginx's `client_body_timeout` (60 s).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

impl TimeoutLayer {
    /// Every request gets `default`, recording through the global `metrics` recorder.
    pub fn new(default: Duration) -> Self {
        Self::from_table(RouteTable::new(default))
    }

    /// Deadlines from a table of per-route overrides.
    pub fn from_table(deadlines: RouteTable<Duration>) -> Self {
        Self {
            deadlines: Arc::new(deadlines),
            published: Arc::new(RouteTable::new(true)),
            body_timeout: DEFAULT_BODY_TIMEOUT,
            counters: Arc::new(Counters::new(&MetricsRecorder::global())),
        }
    }

    /// Requests matching the route `template` (as given to `Router::route`) get `deadline`.
    #[must_use]
    pub fn with_route(mut self, template: impl Into<Box<str>>, deadline: Duration) -> Self {
        let table = RouteTable::clone(&self.deadlines).with_route(template, deadline);
        self.deadlines = Arc::new(table);
        self
    }

    /// On which routes the request carries its [`Deadline`] in its extensions, for a layer
    /// below that can still answer on its own when time runs out (the response cache, with a
    /// stale entry). Default: every route.
    ///
    /// Inserting it costs an allocation per request, so a stack that knows where it is read
    /// can leave it out elsewhere; the rampart `Stack` publishes it on cached and breaker routes.
    ///
    /// [`Deadline`]: rampart_core::deadline::Deadline
    ///
    /// # Example
    ///
    /// ```
    /// use rampart_core::RouteTable;
    /// use rampart_timeout::TimeoutLayer;
    /// use std::time::Duration;
    ///
    /// // Only `/api/report` has a layer below that reads the deadline.
    /// let layer = TimeoutLayer::new(Duration::from_secs(1))
    ///     .publish_deadline(RouteTable::new(false).with_route("/api/report", true));
    /// ```
    #[must_use]
    pub fn publish_deadline(mut self, routes: RouteTable<bool>) -> Self {
        self.published = Arc::new(routes);
        self
    }

    /// How long the service may wait for the client to send more of a request body before
    /// the request is answered `408 Request Timeout` (default [`DEFAULT_BODY_TIMEOUT`], 30 s).
    ///
    /// The deadline does not run while the service waits for the body: it bounds the server's
    /// work, and this bounds the client's silence, so a slow but steady upload completes.
    #[must_use]
    pub const fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Records `rampart_timeouts_total` and `rampart_request_body_timeouts_total` into
    /// `recorder`.
    #[must_use]
    pub fn with_recorder(mut self, recorder: MetricsRecorder) -> Self {
        self.counters = Arc::new(Counters::new(&recorder));
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
            // One reference for the service to clone: axum clones a route's service stack
            // for every request.
            layer: Arc::new(self.clone()),
        }
    }
}
