use axum::Router;
#[cfg(feature = "breaker")]
use rampart_breaker::{Breakers, CircuitBreaker, CircuitBreakerLayer, DefaultClassifier};
#[cfg(feature = "cache")]
use rampart_cache::{Cache, CacheHandle, CacheLayer, CacheLayerBuilder};
use rampart_compression::{Compression, CompressionLayer};
use rampart_concurrency::{ConcurrencyConfig, ConcurrencyLimit, ConcurrencyLimitLayer, Limit};
use rampart_core::{MetricsRecorder, RouteTable};
use rampart_limit::{RequestBodyLimit, RequestBodyLimitLayer};
use rampart_metrics::{Metrics, MetricsEndpoint, MetricsLayer, Prometheus, RouteLabels};
use rampart_panic::{CatchPanic, CatchPanicLayer};
#[cfg(all(feature = "ratelimit", feature = "redis"))]
use rampart_ratelimit::RedisBackend;
#[cfg(feature = "ratelimit")]
use rampart_ratelimit::{Policy, RateLimit, RateLimitLayer};
use rampart_timeout::{Timeout, TimeoutLayer};
use std::collections::BTreeMap;
use std::time::Duration;
use tower_layer::Layer;

use crate::problem_format::{ProblemFormat, ProblemFormatLayer};
use crate::{ConfigError, RoutePolicy, StackConfig, TimeoutConfig};

/// The service a [`StackLayer`] makes of an inner service `S`; a layer whose Cargo feature is
/// off is not in it at all.
pub type StackService<S> = Metrics<
    ProblemFormat<
        CatchPanic<
            Timeout<
                RateLimited<RequestBodyLimit<Cached<Guarded<ConcurrencyLimit<Compression<S>>>>>>,
            >,
        >,
    >,
>;

#[cfg(feature = "ratelimit")]
type RateLimited<S> = RateLimit<S>;
#[cfg(not(feature = "ratelimit"))]
type RateLimited<S> = S;
#[cfg(feature = "cache")]
type Cached<S> = Cache<S>;
#[cfg(not(feature = "cache"))]
type Cached<S> = S;
#[cfg(feature = "breaker")]
type Guarded<S> = CircuitBreaker<S, DefaultClassifier>;
#[cfg(not(feature = "breaker"))]
type Guarded<S> = S;

/// Every rampart layer, composed in one order. Made by [`Stack::layer`].
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart::Stack;
///
/// let stack = Stack::builder().build();
/// // Same as `stack.apply(router)`.
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hi" }))
///     .layer(stack.layer());
/// ```
#[derive(Debug, Clone)]
pub struct StackLayer {
    metrics: MetricsLayer,
    problem_format: ProblemFormatLayer,
    catch_panic: CatchPanicLayer,
    timeout: TimeoutLayer,
    #[cfg(feature = "ratelimit")]
    rate_limit: RateLimitLayer,
    body_limit: RequestBodyLimitLayer,
    #[cfg(feature = "cache")]
    cache: CacheLayer,
    #[cfg(feature = "breaker")]
    breaker: CircuitBreakerLayer,
    concurrency: ConcurrencyLimitLayer,
    compression: CompressionLayer,
}

impl<S> Layer<S> for StackLayer {
    type Service = StackService<S>;

    /// Built innermost first; read from the bottom up for the order a request takes.
    fn layer(&self, inner: S) -> Self::Service {
        // Compression is innermost: it only transforms bodies, and the cache above it stores
        // the encoded bytes, so a hit costs no compression.
        let service = self.compression.layer(inner);
        // The concurrency limit sits right around the handler, where the scarce resource is:
        // only calls that will use it take a slot (cache hits, and requests refused by the
        // rate limit or an open breaker, never do), and it learns the handler's own latency.
        let service = self.concurrency.layer(service);
        // The breaker sits around the handler, so it judges the handler's own outcomes and
        // nothing the layers above decided; the concurrency limit's refusals are marked
        // `Shed`, which it does not count.
        #[cfg(feature = "breaker")]
        let service = self.breaker.layer(service);
        // The cache is above the breaker, so hits never touch it and a stale entry can answer
        // while it is open (stale-if-error); below the deadline, which it reads to answer with
        // a stale entry just before the timeout would.
        #[cfg(feature = "cache")]
        let service = self.cache.layer(service);
        // Bodies are limited before anything below reads them; below the rate limit, so a
        // client over its quota is refused without a look at its body, and above the breaker,
        // which then never counts a 413 the client caused.
        let service = self.body_limit.layer(service);
        // Excess is refused before any work is done on it, above the cache so that a client
        // over its quota cannot keep even cached answers coming; below the deadline, so that
        // a Redis-backed decision is bounded too.
        #[cfg(feature = "ratelimit")]
        let service = self.rate_limit.layer(service);
        // The deadline bounds everything below it, compression of the first bytes included.
        // The breaker counts a call this layer gives up on as a failure.
        let service = self.timeout.layer(service);
        // A panic anywhere below, in a handler or (never, we hope) in a rampart layer, becomes
        // a 500 here rather than a dropped connection.
        let service = self.catch_panic.layer(service);
        // Every answer made below (the caught panic's 500 included) is written in the
        // application's error format, if it has one, before metrics files it by its status.
        let service = self.problem_format.layer(service);
        // Metrics sees every answer, the 504s and 500s made below included, and times each
        // request until its body has been sent. It also holds the request span (as
        // `rampart_trace::TraceLayer` would, one wrapper instead of two), outermost, so every
        // decision below is an event inside it; a `TraceLayer` the application put further out
        // makes it stand aside.
        self.metrics.layer(service)
    }
}

/// All of rampart, ready to put in front of a router.
///
/// Build it with [`Stack::builder`] or from a [`StackConfig`]. Each stack owns its own
/// Prometheus registry (shared with [`StackBuilder::prometheus`] if you want one registry for
/// several stacks), so two stacks in one process never mix their metrics; or it records into
/// any `metrics` recorder you give it ([`StackBuilder::recorder`]).
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart::{Stack, StackConfig};
///
/// let config = StackConfig::from_toml_str(
///     r#"
///     [timeout]
///     default = "2s"
///
///     [routes."/api/report"]
///     timeout = "10s"
///     "#,
/// )
/// .unwrap();
/// let stack = Stack::from_config(&config).unwrap();
/// let app: Router = stack.apply(Router::new().route("/api/report", get(|| async { "..." })));
/// ```
#[derive(Debug, Clone)]
pub struct Stack {
    prometheus: Option<Prometheus>,
    layer: StackLayer,
}

impl Stack {
    /// A builder with every default.
    pub fn builder() -> StackBuilder {
        StackBuilder::default()
    }

    /// A stack configured by `config`, after checking it.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid field.
    pub fn from_config(config: &StackConfig) -> Result<Self, ConfigError> {
        let checked = config.checked()?;
        let prometheus = config
            .metrics
            .try_prometheus()
            .map_err(|error| error.in_section("metrics"))?;
        let mut builder = Self::builder()
            .prometheus(prometheus)
            .metrics_route_labels(config.metrics.route_labels())
            .timeout(config.timeout.default)
            .request_body_timeout(config.timeout.request_body)
            .body_limit(config.body_limit.default)
            .compression(config.compression.layer())
            .concurrency_retry_after(config.concurrency.retry_after);
        #[cfg(feature = "ratelimit")]
        {
            builder = builder
                .rate_limit(checked.rate_limit)
                .rate_limit_headers(config.ratelimit.headers)
                .rate_limit_preflights(config.ratelimit.limit_preflights);
        }
        #[cfg(all(feature = "ratelimit", feature = "redis"))]
        if let Some(redis) = &config.ratelimit.redis {
            let backend = redis
                .try_backend()
                .map_err(|error| error.in_section("ratelimit.redis"))?;
            builder = builder.rate_limit_redis(backend);
        }
        #[cfg(feature = "cache")]
        {
            let cache = config.cache.try_builder();
            builder = builder.cache(cache.map_err(|error| error.in_section("cache"))?);
        }
        for (template, policy) in checked.routes {
            builder = builder.route(template, policy);
        }
        builder.try_build()
    }

    /// Puts the stack in front of every route of `router`, and its fallback.
    ///
    /// Uses `Router::layer`, so the layers run after routing and see the matched route
    /// template. Routes added to the router after this call are not covered.
    pub fn apply<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        router.layer(self.layer())
    }

    /// The composed layer, for use with `Router::layer` or `Router::route_layer` directly.
    pub fn layer(&self) -> StackLayer {
        self.layer.clone()
    }

    /// The stack's Prometheus registry; `None` when it records into a recorder of the
    /// application's ([`StackBuilder::recorder`]).
    pub const fn prometheus(&self) -> Option<&Prometheus> {
        self.prometheus.as_ref()
    }

    /// The response cache, to purge it and read its size (feature `cache`).
    #[cfg(feature = "cache")]
    pub fn cache(&self) -> CacheHandle {
        self.layer.cache.handle()
    }

    /// The stack's circuit breakers, for an admin read-out and for forcing states (feature
    /// `breaker`).
    #[cfg(feature = "breaker")]
    pub fn breakers(&self) -> Breakers {
        self.layer.breaker.breakers()
    }

    /// The stack's concurrency limits, each once, by name: for an admin read-out.
    pub fn concurrency_limits(&self) -> Vec<Limit> {
        self.layer.concurrency.limits()
    }

    /// A service answering `GET` with the stack's metrics in the Prometheus text format;
    /// `None` when the stack records into a recorder of the application's
    /// ([`StackBuilder::recorder`]), which exports them its own way.
    pub fn metrics_endpoint(&self) -> Option<MetricsEndpoint> {
        self.prometheus.as_ref().map(Prometheus::endpoint)
    }
}

/// Builds a [`Stack`].
///
/// # Example
///
/// ```
/// use rampart::{RoutePolicy, Stack, compression::CompressionLayer};
/// use std::time::Duration;
///
/// let stack = Stack::builder()
///     .timeout(Duration::from_millis(500))
///     .compression(CompressionLayer::new().min_size(2048))
///     .route("/api/slow", RoutePolicy::new().timeout(Duration::from_secs(5)))
///     .build();
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct StackBuilder {
    metrics: MetricsTarget,
    timeout: Duration,
    request_body_timeout: Duration,
    body_limit: u64,
    compression: CompressionLayer,
    #[cfg(feature = "ratelimit")]
    rate_limit: Vec<Policy>,
    #[cfg(feature = "ratelimit")]
    rate_limit_headers: bool,
    #[cfg(feature = "ratelimit")]
    rate_limit_preflights: bool,
    #[cfg(all(feature = "ratelimit", feature = "redis"))]
    rate_limit_redis: Option<RedisBackend>,
    #[cfg(feature = "cache")]
    cache: CacheLayerBuilder,
    concurrency_retry_after: Duration,
    problem_format: ProblemFormatLayer,
    metrics_route_labels: RouteLabels,
    routes: BTreeMap<String, RoutePolicy>,
}

impl Default for StackBuilder {
    fn default() -> Self {
        let timeouts = TimeoutConfig::default();
        Self {
            metrics: MetricsTarget::OwnRegistry,
            timeout: timeouts.default,
            request_body_timeout: timeouts.request_body,
            body_limit: rampart_limit::DEFAULT_LIMIT,
            compression: CompressionLayer::new(),
            #[cfg(feature = "ratelimit")]
            rate_limit: Vec::new(),
            #[cfg(feature = "ratelimit")]
            rate_limit_headers: true,
            #[cfg(feature = "ratelimit")]
            rate_limit_preflights: false,
            #[cfg(all(feature = "ratelimit", feature = "redis"))]
            rate_limit_redis: None,
            #[cfg(feature = "cache")]
            cache: CacheLayer::builder(),
            concurrency_retry_after: ConcurrencyConfig::default().retry_after,
            problem_format: ProblemFormatLayer::default(),
            metrics_route_labels: RouteLabels::new(),
            routes: BTreeMap::new(),
        }
    }
}

impl StackBuilder {
    /// The deadline of every request whose route has none of its own (default 1 s).
    pub const fn timeout(mut self, deadline: Duration) -> Self {
        self.timeout = deadline;
        self
    }

    /// How long a request may wait for the client to send more of its body before it is
    /// answered `408` (default 30 s). The deadline does not run while it waits.
    pub const fn request_body_timeout(mut self, timeout: Duration) -> Self {
        self.request_body_timeout = timeout;
        self
    }

    /// The request body limit of every route without one of its own, in bytes (default 2 MiB,
    /// as axum's `DefaultBodyLimit`).
    pub const fn body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How responses are compressed.
    pub const fn compression(mut self, compression: CompressionLayer) -> Self {
        self.compression = compression;
        self
    }

    /// Rate-limit policies for every route without policies of its own; all those routes share
    /// their state. Default: none (feature `ratelimit`, as the two settings below).
    #[cfg(feature = "ratelimit")]
    pub fn rate_limit(mut self, policies: Vec<Policy>) -> Self {
        self.rate_limit = policies;
        self
    }

    /// Sends the `RateLimit-Policy` and `RateLimit` fields on limited routes (default true).
    #[cfg(feature = "ratelimit")]
    pub const fn rate_limit_headers(mut self, enabled: bool) -> Self {
        self.rate_limit_headers = enabled;
        self
    }

    /// Counts CORS preflights against the rate-limit quotas (default false: they pass free).
    #[cfg(feature = "ratelimit")]
    pub const fn rate_limit_preflights(mut self, enabled: bool) -> Self {
        self.rate_limit_preflights = enabled;
        self
    }

    /// Keeps every rate-limit quota in Redis, shared by all instances using it (features
    /// `ratelimit` and `redis`).
    #[cfg(all(feature = "ratelimit", feature = "redis"))]
    pub fn rate_limit_redis(mut self, backend: RedisBackend) -> Self {
        self.rate_limit_redis = Some(backend);
        self
    }

    /// The response cache's store: size, entry limit, coalescing wait, shared tier. Routes are
    /// cached when their [`RoutePolicy`] has a cache rule; rules given here are replaced
    /// (feature `cache`).
    #[cfg(feature = "cache")]
    pub fn cache(mut self, cache: CacheLayerBuilder) -> Self {
        self.cache = cache;
        self
    }

    /// What `Retry-After` tells a client a concurrency limit refused (default 1 s). Routes are
    /// limited when their [`RoutePolicy`] gives them a limit.
    pub const fn concurrency_retry_after(mut self, wait: Duration) -> Self {
        self.concurrency_retry_after = wait;
        self
    }

    /// The policy of one route, by its template as given to `Router::route`
    /// (`/api/items/{id}`). A second call for the same template replaces the first.
    pub fn route(mut self, template: impl Into<String>, policy: RoutePolicy) -> Self {
        self.routes.insert(template.into(), policy);
        self
    }

    /// Writes the answers the stack makes on its own (429, 503, 504, 413, 500 …) with
    /// `format` instead of as RFC 9457 problem documents: for APIs with an error format of
    /// their own, or gRPC ([`ProblemFormatLayer`] has an example).
    pub fn problem_format(mut self, format: ProblemFormatLayer) -> Self {
        self.problem_format = format;
        self
    }

    /// Records into `prometheus` instead of a registry of the stack's own.
    pub fn prometheus(mut self, prometheus: Prometheus) -> Self {
        self.metrics = MetricsTarget::Prometheus(prometheus);
        self
    }

    /// Leaves some routes out of the request metrics (`/metrics` itself, health probes) and
    /// records some under a shared label ([`RouteLabels`]; `[metrics]` `ignore_routes` and
    /// `grouped_routes` in a [`StackConfig`]). The other layers' metrics and the request span
    /// keep each route's own template.
    pub fn metrics_route_labels(mut self, labels: RouteLabels) -> Self {
        self.metrics_route_labels = labels;
        self
    }

    /// Records every metric of every layer into `recorder` instead of a Prometheus registry:
    /// a StatsD or OpenTelemetry pipeline, or [`MetricsRecorder::global`] for whatever the
    /// application installed with `metrics::set_global_recorder`. The stack then has no
    /// Prometheus page ([`Stack::metrics_endpoint`] is `None`). The last of this and
    /// [`StackBuilder::prometheus`] called wins.
    pub fn recorder(mut self, recorder: MetricsRecorder) -> Self {
        self.metrics = MetricsTarget::Recorder(recorder);
        self
    }

    /// The stack.
    ///
    /// # Panics
    ///
    /// When a rate-limit quota admits nothing or a policy name cannot go in a header: a
    /// programming error; [`StackBuilder::try_build`] returns it instead.
    pub fn build(self) -> Stack {
        match self.try_build() {
            Ok(stack) => stack,
            Err(error) => panic!("{error}"),
        }
    }

    /// The stack, or what is wrong with its rate-limit policies.
    ///
    /// # Errors
    ///
    /// When a rate-limit quota admits nothing or a policy name cannot go in a header.
    pub fn try_build(self) -> Result<Stack, ConfigError> {
        let (prometheus, recorder) = match self.metrics {
            MetricsTarget::OwnRegistry => {
                let prometheus = Prometheus::new();
                let recorder = prometheus.recorder();
                (Some(prometheus), recorder)
            }
            MetricsTarget::Prometheus(prometheus) => {
                let recorder = prometheus.recorder();
                (Some(prometheus), recorder)
            }
            MetricsTarget::Recorder(recorder) => (None, recorder),
        };
        let deadlines = self
            .routes
            .iter()
            .filter_map(|(template, policy)| Some((template, policy.timeout?)))
            .fold(
                RouteTable::new(self.timeout),
                |table, (template, deadline)| table.with_route(template.as_str(), deadline),
            );
        let body_limits = self
            .routes
            .iter()
            .filter_map(|(template, policy)| Some((template, policy.body_limit?)))
            .fold(
                RouteTable::new(self.body_limit),
                |table, (template, bytes)| table.with_route(template.as_str(), bytes),
            );
        let concurrency = self
            .routes
            .iter()
            .filter_map(|(template, policy)| Some((template, policy.concurrency.clone()?)))
            .fold(RouteTable::new(None), |table, (template, limit)| {
                table.with_route(template.as_str(), Some(limit))
            });
        // The routes whose requests need their deadline in the extensions: the cached ones,
        // where the cache can answer with a stale entry just before the timeout would, and those
        // with a breaker or a concurrency limit, which take a call dropped at the deadline for a
        // failure and for congestion.
        #[cfg_attr(not(any(feature = "breaker", feature = "cache")), allow(unused_mut))]
        let mut deadline_readers = vec![configured(&concurrency)];
        #[cfg(feature = "breaker")]
        let breaker = {
            let breakers = self
                .routes
                .iter()
                .filter_map(|(template, policy)| Some((template, policy.breaker.clone()?)))
                .fold(RouteTable::new(None), |table, (template, config)| {
                    table.with_route(template.as_str(), Some(config))
                });
            deadline_readers.push(configured(&breakers));
            CircuitBreakerLayer::from_table(breakers).with_recorder(recorder.clone())
        };
        #[cfg(feature = "ratelimit")]
        let rate_limit = {
            let default_limits = crate::policy::RouteRateLimit::Own(self.rate_limit)
                .set()
                .map_err(|error| error.in_section("ratelimit"))?;
            let mut limits = RouteTable::new(default_limits);
            for (template, policy) in &self.routes {
                if let Some(rate_limit) = &policy.rate_limit {
                    let set = rate_limit.set().map_err(|error| {
                        error.in_section(&crate::config::route_field(template, "ratelimit"))
                    })?;
                    limits = limits.with_route(template.as_str(), set);
                }
            }
            let layer = RateLimitLayer::from_sets(limits)
                .with_recorder(recorder.clone())
                .headers(self.rate_limit_headers)
                .limit_preflights(self.rate_limit_preflights);
            #[cfg(feature = "redis")]
            let layer = match &self.rate_limit_redis {
                Some(backend) => layer.with_redis(backend),
                None => layer,
            };
            layer
        };
        #[cfg(feature = "cache")]
        let cache = {
            let cache = self
                .routes
                .iter()
                .filter_map(|(template, policy)| Some((template, policy.cache.clone()?)))
                .fold(
                    self.cache
                        .with_recorder(recorder.clone())
                        .encodings(self.compression.codings()),
                    |cache, (template, rule)| cache.route(template.as_str(), rule),
                )
                .build();
            deadline_readers.push(configured(cache.rules()));
            cache
        };
        let layer = StackLayer {
            metrics: MetricsLayer::new()
                .with_recorder(recorder.clone())
                .route_labels(self.metrics_route_labels)
                .configured_routes(self.routes.keys().cloned())
                .request_span(true),
            problem_format: self.problem_format,
            catch_panic: CatchPanicLayer::new().with_recorder(recorder.clone()),
            timeout: TimeoutLayer::from_table(deadlines)
                .body_timeout(self.request_body_timeout)
                .publish_deadline(any_of(&deadline_readers))
                .with_recorder(recorder.clone()),
            #[cfg(feature = "ratelimit")]
            rate_limit,
            body_limit: RequestBodyLimitLayer::from_table(body_limits),
            #[cfg(feature = "cache")]
            cache,
            #[cfg(feature = "breaker")]
            breaker,
            concurrency: ConcurrencyLimitLayer::from_table(concurrency)
                .retry_after(self.concurrency_retry_after)
                .with_recorder(recorder),
            compression: self.compression,
        };
        Ok(Stack { prometheus, layer })
    }
}

/// Where a stack records its metrics.
#[derive(Debug, Clone)]
enum MetricsTarget {
    OwnRegistry,
    Prometheus(Prometheus),
    Recorder(MetricsRecorder),
}

/// Which routes a layer's settings give it something to do on.
fn configured<T>(table: &RouteTable<Option<T>>) -> RouteTable<bool> {
    table.routes().fold(
        RouteTable::new(table.default_value().is_some()),
        |configured, (template, setting)| configured.with_route(template, setting.is_some()),
    )
}

/// The routes on which any of `tables` is true.
fn any_of(tables: &[RouteTable<bool>]) -> RouteTable<bool> {
    let default = tables.iter().any(|table| *table.default_value());
    tables.iter().flat_map(RouteTable::routes).fold(
        RouteTable::new(default),
        |any, (template, _)| {
            let reads = tables.iter().any(|table| *table.get_for_route(template));
            any.with_route(template, reads)
        },
    )
}
