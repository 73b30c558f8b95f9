use rampart_core::{MetricsRecorder, RouteTable};
use std::sync::Arc;
use std::time::Duration;
use tower_layer::Layer;

use crate::{ConcurrencyLimit, Limit, RouteLimit};

/// Admits as many calls at once as the limit allows and answers the rest at once with `503`
/// problem+json (`code: "overloaded"`) and `Retry-After`; never queues.
///
/// [`ConcurrencyLimitLayer::new`] puts every call through one [`Limit`];
/// [`ConcurrencyLimitLayer::from_table`] gives each route template its own, or a [`Limit`]
/// shared with the routes that use the same resource, or none; critical routes are counted but
/// never refused.
///
/// # Example
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use rampart_concurrency::{ConcurrencyLimitLayer, Limit, Overloaded, RouteLimit};
/// use rampart_core::RouteTable;
/// use std::time::Duration;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let database = Limit::fixed("database", 1);
/// let routes = RouteTable::new(None)
///     .with_route("/work", Some(RouteLimit::new(database.clone())))
///     .with_route("/health", Some(RouteLimit::new(database.clone()).critical(true)));
/// let layer = ConcurrencyLimitLayer::from_table(routes)
///     .retry_after(Duration::from_secs(2))
///     .with_recorder(rampart_core::MetricsRecorder::global());
/// assert_eq!(layer.limits().len(), 1);
/// let slow = || async { tokio::time::sleep(Duration::from_millis(50)).await; "done" };
/// let app = Router::new()
///     .route("/work", get(slow))
///     .route("/health", get(slow))
///     .layer(layer);
/// let get = |path: &str| app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap());
///
/// let first = tokio::spawn(get("/work"));
/// tokio::time::sleep(Duration::from_millis(10)).await;
/// assert_eq!(database.in_flight(), 1);
/// let refused = get("/work").await.unwrap();
/// assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(refused.headers()["retry-after"], "2");
/// assert_eq!(refused.headers()["content-type"], "application/problem+json");
/// let overloaded = refused.extensions().get::<Overloaded>().unwrap();
/// assert_eq!((overloaded.limiter(), overloaded.limit()), ("database", 1));
/// assert_eq!(overloaded.retry_after(), Duration::from_secs(2));
/// // The critical route still answers, and counts.
/// let health = tokio::spawn(get("/health"));
/// tokio::time::sleep(Duration::from_millis(10)).await;
/// assert_eq!(database.in_flight(), 2);
/// assert_eq!(health.await.unwrap().unwrap().status(), StatusCode::OK);
///
/// assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
/// assert_eq!(database.in_flight(), 0);
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ConcurrencyLimitLayer {
    pub(crate) routes: Arc<RouteTable<Option<RouteLimit>>>,
    pub(crate) retry_after: Duration,
    pub(crate) recorder: MetricsRecorder,
}

impl ConcurrencyLimitLayer {
    /// Every call goes through `limit`, whatever its route.
    pub fn new(limit: Limit) -> Self {
        Self::from_table(RouteTable::new(Some(RouteLimit::new(limit))))
    }

    /// Each route goes through the limit of its entry; routes whose entry is `None` pass
    /// through untouched.
    pub fn from_table(routes: RouteTable<Option<RouteLimit>>) -> Self {
        Self {
            routes: Arc::new(routes),
            retry_after: Duration::from_secs(1),
            recorder: MetricsRecorder::global(),
        }
    }

    /// What `Retry-After` tells a refused client (default 1 s; sent in whole seconds, at
    /// least 1).
    pub const fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Records the limits' metrics into `recorder` instead of the global one (registered on
    /// each limit's first call, never before).
    pub fn with_recorder(mut self, recorder: MetricsRecorder) -> Self {
        self.recorder = recorder;
        self
    }

    /// Every limit the layer puts calls through, each once, by name: for a read-out.
    #[must_use]
    pub fn limits(&self) -> Vec<Limit> {
        let mut limits: Vec<Limit> = Vec::new();
        let entries = std::iter::once(self.routes.default_value())
            .chain(self.routes.routes().map(|(_, entry)| entry));
        for entry in entries.flatten() {
            if !limits.iter().any(|known| known.same_as(&entry.limit)) {
                limits.push(entry.limit.clone());
            }
        }
        limits.sort_by(|a, b| a.name().cmp(b.name()));
        limits
    }
}

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcurrencyLimit {
            inner,
            // One reference for the service to clone: axum clones a route's service stack
            // for every request.
            shared: Arc::new(Shared {
                routes: Arc::clone(&self.routes),
                retry_after: self.retry_after,
                recorder: self.recorder.clone(),
            }),
        }
    }
}

/// What every clone of a [`ConcurrencyLimit`] shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) routes: Arc<RouteTable<Option<RouteLimit>>>,
    pub(crate) retry_after: Duration,
    pub(crate) recorder: MetricsRecorder,
}
