use rampart_core::MetricsRecorder;
use std::sync::Arc;
use std::time::Duration;
use tower_layer::Layer;

use crate::limiter::{Algorithm, Limiter};
use crate::{ConcurrencyLimit, GradientLimit};

/// Admits as many calls at once as the limit allows and answers the rest at once with `503`
/// problem+json (`code: "overloaded"`) and `Retry-After`; never queues.
///
/// One layer is one limit: every service it wraps, and every clone of it, shares the slots
/// (wrap a group of routes that use the same resource in the same layer).
///
/// # Example
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use rampart_concurrency::{ConcurrencyLimitLayer, GradientLimit, Overloaded};
/// use std::time::Duration;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let adaptive = ConcurrencyLimitLayer::adaptive(GradientLimit::new().min(4).max(64))
///     .name("database") // the `limiter` label of its metrics
///     .with_recorder(rampart_core::MetricsRecorder::global());
/// assert_eq!(adaptive.limit(), 4); // measuring the unloaded latency first
///
/// let layer = ConcurrencyLimitLayer::fixed(1).retry_after(Duration::from_secs(2));
/// assert_eq!((layer.limit(), layer.in_flight()), (1, 0));
/// let app = Router::new()
///     .route("/", get(|| async { tokio::time::sleep(Duration::from_millis(50)).await; "done" }))
///     .layer(layer.clone());
///
/// let first = tokio::spawn(app.clone().oneshot(Request::new(Body::empty())));
/// tokio::time::sleep(Duration::from_millis(10)).await;
/// assert_eq!(layer.in_flight(), 1);
/// let refused = app.clone().oneshot(Request::new(Body::empty())).await.unwrap();
/// assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(refused.headers()["retry-after"], "2");
/// assert_eq!(refused.headers()["content-type"], "application/problem+json");
/// let overloaded = refused.extensions().get::<Overloaded>().unwrap();
/// assert_eq!(overloaded.limit(), 1);
/// assert_eq!(overloaded.retry_after(), Duration::from_secs(2));
///
/// assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
/// assert_eq!(layer.in_flight(), 0);
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ConcurrencyLimitLayer {
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) retry_after: Duration,
    /// What the limiter is made of, to make it again when a setter changes its name or
    /// recorder (no call has gone through a layer that is still being built).
    algorithm: Algorithm,
    name: Arc<str>,
    recorder: MetricsRecorder,
}

impl Default for ConcurrencyLimitLayer {
    /// An adaptive limit with [`GradientLimit::new`]'s defaults.
    fn default() -> Self {
        Self::adaptive(GradientLimit::new())
    }
}

impl ConcurrencyLimitLayer {
    /// A limit learned from the latency of completed calls.
    pub fn adaptive(limit: GradientLimit) -> Self {
        Self::with(Algorithm::Adaptive(limit))
    }

    /// A limit set by hand (at least 1), as tower's `ConcurrencyLimit` + `LoadShed`.
    pub fn fixed(limit: usize) -> Self {
        Self::with(Algorithm::Fixed(limit))
    }

    fn with(algorithm: Algorithm) -> Self {
        let name: Arc<str> = Arc::from("default");
        let recorder = MetricsRecorder::global();
        Self {
            limiter: Arc::new(Limiter::new(algorithm.clone(), &name, recorder.clone())),
            retry_after: Duration::from_secs(1),
            algorithm,
            name,
            recorder,
        }
    }

    fn rebuilt(mut self) -> Self {
        self.limiter = Arc::new(Limiter::new(
            self.algorithm.clone(),
            &self.name,
            self.recorder.clone(),
        ));
        self
    }

    /// The `limiter` label of its metrics (default `default`): name it for the resource it
    /// protects (`database`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Arc::from(name);
        self.rebuilt()
    }

    /// Records its metrics into `recorder` instead of the global one (registered on the first
    /// call, never before).
    pub fn with_recorder(mut self, recorder: MetricsRecorder) -> Self {
        self.recorder = recorder;
        self.rebuilt()
    }

    /// What `Retry-After` tells a refused client (default 1 s; sent in whole seconds, at
    /// least 1).
    pub const fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// How many calls may be in flight now.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limiter.limit()
    }

    /// How many calls are in flight now.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.limiter.in_flight()
    }
}

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcurrencyLimit {
            inner,
            layer: self.clone(),
        }
    }
}
