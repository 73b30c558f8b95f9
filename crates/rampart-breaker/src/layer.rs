use bytes::Bytes;
use http::Response;
use rampart_core::{ConfigError, MetricsRecorder, RouteTable};
use std::fmt;
use std::sync::{Arc, OnceLock};
use tower_layer::Layer;

use crate::service::Shared;
use crate::{
    BreakerConfig, BreakerScope, Breakers, CircuitBreaker, CircuitOpen, DefaultClassifier,
};

/// Answers a rejected call instead of the default 503 problem document.
pub type Fallback = Arc<dyn Fn(&CircuitOpen) -> Response<Bytes> + Send + Sync>;

/// Puts circuit breakers in front of the services it wraps.
///
/// By default one breaker per route template, each made on the route's first call with the
/// route's configuration; routes without a configuration pass through untouched.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_breaker::{BreakerConfig, CircuitBreakerLayer, Window};
/// use std::time::Duration;
///
/// let breaker = CircuitBreakerLayer::new(
///     BreakerConfig::default()
///         .window(Window::Count(20))
///         .minimum_calls(10)
///         .wait_duration(Duration::from_secs(5)),
/// );
/// let admin = breaker.breakers(); // for a read-out of every breaker
/// let app: Router = Router::new()
///     .route("/api/upstream", get(|| async { "ok" }))
///     .layer(breaker);
/// ```
#[derive(Clone)]
pub struct CircuitBreakerLayer<C = DefaultClassifier> {
    pub(crate) configs: Arc<RouteTable<Option<BreakerConfig>>>,
    pub(crate) scope: BreakerScope,
    pub(crate) classifier: C,
    pub(crate) breakers: Breakers,
    pub(crate) fallback: Option<Fallback>,
}

impl CircuitBreakerLayer {
    /// Every route gets a breaker with `config`, recording through the global `metrics`
    /// recorder.
    ///
    /// # Panics
    ///
    /// When `config` is invalid ([`BreakerConfig::validate`]); use
    /// [`CircuitBreakerLayer::try_new`] to get the error instead.
    pub fn new(config: BreakerConfig) -> Self {
        match Self::try_new(config) {
            Ok(layer) => layer,
            Err(error) => panic!("invalid circuit breaker configuration: {error}"),
        }
    }

    /// Every route gets a breaker with `config`, after checking it.
    ///
    /// # Errors
    ///
    /// When `config` is invalid.
    pub fn try_new(config: BreakerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::from_table(RouteTable::new(Some(config))))
    }

    /// Breakers only on the routes whose entry is `Some`; checked configurations are the
    /// caller's business.
    pub fn from_table(configs: RouteTable<Option<BreakerConfig>>) -> Self {
        Self {
            configs: Arc::new(configs),
            scope: BreakerScope::Route,
            classifier: DefaultClassifier,
            breakers: Breakers::new(MetricsRecorder::global()),
            fallback: None,
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// Which calls share a breaker.
    #[must_use]
    pub fn scope(mut self, scope: BreakerScope) -> Self {
        self.scope = scope;
        self
    }

    /// What counts as a failure.
    #[must_use]
    pub fn classifier<C2>(self, classifier: C2) -> CircuitBreakerLayer<C2> {
        CircuitBreakerLayer {
            configs: self.configs,
            scope: self.scope,
            classifier,
            breakers: self.breakers,
            fallback: self.fallback,
        }
    }

    /// Records the breakers' metrics into `recorder` (starting a fresh registry of breakers).
    #[must_use]
    pub fn with_recorder(mut self, recorder: MetricsRecorder) -> Self {
        self.breakers = Breakers::new(recorder);
        self
    }

    /// Uses `breakers` as the registry, to share breakers between layers.
    #[must_use]
    pub fn with_breakers(mut self, breakers: Breakers) -> Self {
        self.breakers = breakers;
        self
    }

    /// Answers rejected calls with `fallback` instead of the 503 problem document.
    #[must_use]
    pub fn fallback<F>(mut self, fallback: F) -> Self
    where
        F: Fn(&CircuitOpen) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.fallback = Some(Arc::new(fallback));
        self
    }

    /// The registry of this layer's breakers.
    pub fn breakers(&self) -> Breakers {
        self.breakers.clone()
    }
}

impl<C: fmt::Debug> fmt::Debug for CircuitBreakerLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("configs", &self.configs)
            .field("scope", &self.scope)
            .field("classifier", &self.classifier)
            .field("breakers", &self.breakers)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl<S, C: Clone> Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreaker<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreaker {
            inner,
            shared: Arc::new(Shared {
                configs: Arc::clone(&self.configs),
                scope: self.scope.clone(),
                classifier: self.classifier.clone(),
                breakers: self.breakers.clone(),
                fallback: self.fallback.clone(),
                last: OnceLock::new(),
            }),
        }
    }
}
