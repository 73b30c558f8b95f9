use http::HeaderValue;
use metrics::{Counter, Unit};
use rampart_core::names::{
    OUTCOME_LABEL, POLICY_LABEL, RATELIMIT_KEY_FALLBACKS as KEY_FALLBACKS,
    RATELIMIT_REQUESTS as REQUESTS,
};
use rampart_core::{ConfigError, MetricsRecorder, RouteTable};
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use tower_layer::Layer;

#[cfg(feature = "redis")]
use crate::RedisBackend;
use crate::headers::policy_header;
use crate::{Policy, PolicySet, RateLimit, RateLimiter};

/// The policies of one route-table entry, with their shared state.
pub(crate) struct RouteLimit {
    pub(crate) policies: Box<[Policy]>,
    pub(crate) limiter: RateLimiter,
    pub(crate) policy_header: Option<HeaderValue>,
    recorder: MetricsRecorder,
    /// Registered on the first request, so building a layer records nothing anywhere.
    counters: OnceLock<Box<[PolicyCounters]>>,
}

pub(crate) struct PolicyCounters {
    pub(crate) allowed: Counter,
    pub(crate) limited: Counter,
    pub(crate) error: Counter,
    pub(crate) key_fallbacks: Counter,
    /// Whether the first fallback was logged.
    pub(crate) fallback_logged: AtomicBool,
}

impl RouteLimit {
    pub(crate) fn new(policies: Vec<Policy>) -> Result<Self, ConfigError> {
        let mut builder = RateLimiter::builder();
        for (index, policy) in policies.iter().enumerate() {
            let valid_name = !policy.name.is_empty()
                && policy
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if !valid_name {
                return Err(ConfigError::new(
                    format!("policies[{index}].name"),
                    "a policy name is letters, digits, `_`, `-` and `.`",
                ));
            }
            builder = builder.policy(policy.name.clone(), policy.quota);
        }
        Ok(Self {
            limiter: builder.build()?,
            policy_header: policy_header(&policies),
            policies: policies.into_boxed_slice(),
            recorder: MetricsRecorder::global(),
            counters: OnceLock::new(),
        })
    }

    /// The same policies and state, recording into `recorder`.
    fn recording_into(&self, recorder: &MetricsRecorder) -> Self {
        Self {
            policies: self.policies.clone(),
            limiter: self.limiter.clone(),
            policy_header: self.policy_header.clone(),
            recorder: recorder.clone(),
            counters: OnceLock::new(),
        }
    }

    /// The same policies, with fresh state kept in Redis.
    #[cfg(feature = "redis")]
    fn in_redis(&self, backend: &RedisBackend) -> Self {
        Self {
            limiter: self.limiter.in_redis(backend.clone()),
            ..self.recording_into(&self.recorder)
        }
    }

    /// Each policy's counters, in the order of the policies.
    pub(crate) fn counters(&self) -> &[PolicyCounters] {
        self.counters.get_or_init(|| {
            describe(&self.recorder);
            counters(&self.policies, &self.recorder)
        })
    }
}

fn describe(recorder: &MetricsRecorder) {
    recorder.describe_counter(
        REQUESTS,
        Unit::Count,
        "Requests seen by a rate limit policy.",
    );
    recorder.describe_counter(
        KEY_FALLBACKS,
        Unit::Count,
        "Requests keyed on the policy's fallback because their own key was missing.",
    );
}

fn counters(policies: &[Policy], recorder: &MetricsRecorder) -> Box<[PolicyCounters]> {
    policies
        .iter()
        .map(|policy| {
            let counter = |outcome: &str| {
                recorder.counter(
                    REQUESTS,
                    &[
                        (POLICY_LABEL, policy.name.to_string()),
                        (OUTCOME_LABEL, outcome.to_owned()),
                    ],
                )
            };
            PolicyCounters {
                allowed: counter("allowed"),
                limited: counter("limited"),
                error: counter("error"),
                key_fallbacks: recorder
                    .counter(KEY_FALLBACKS, &[(POLICY_LABEL, policy.name.to_string())]),
                fallback_logged: AtomicBool::new(false),
            }
        })
        .collect()
}

/// Rate limits the services it wraps.
///
/// One set of policies for every route ([`RateLimitLayer::try_new`]), or a table with a set per
/// route template ([`RateLimitLayer::try_from_table`]); all routes using the table's default share
/// its state. Every response of a limited route carries the `RateLimit-Policy` and
/// `RateLimit` header fields unless [`RateLimitLayer::headers`] turns them off.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_ratelimit::{ClientIp, KeySource, Policy, Quota, RateLimitLayer};
///
/// let layer = RateLimitLayer::try_new(vec![Policy::new(
///     "per_ip",
///     Quota::per_second(100),
///     KeySource::ClientIp(ClientIp::default()),
/// )])
/// .unwrap();
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(layer);
/// ```
#[derive(Clone)]
pub struct RateLimitLayer {
    pub(crate) routes: Arc<RouteTable<Option<Arc<RouteLimit>>>>,
    pub(crate) headers: bool,
    pub(crate) limit_preflights: bool,
}

impl RateLimitLayer {
    /// The same policies on every route, sharing their state.
    ///
    /// # Errors
    ///
    /// When a quota admits nothing or a policy name cannot go in a header.
    pub fn try_new(policies: Vec<Policy>) -> Result<Self, ConfigError> {
        Self::try_from_table(RouteTable::new(Some(policies)))
    }

    /// Policies per route template, each entry with state of its own; `None` (or no policy)
    /// leaves a route unlimited. Routes that fall back to the default entry share its state.
    ///
    /// # Errors
    ///
    /// When a quota admits nothing or a policy name cannot go in a header.
    pub fn try_from_table(table: RouteTable<Option<Vec<Policy>>>) -> Result<Self, ConfigError> {
        let entry = |policies: &Option<Vec<Policy>>| -> Result<_, ConfigError> {
            policies
                .clone()
                .filter(|policies| !policies.is_empty())
                .map(PolicySet::try_new)
                .transpose()
        };
        let mut sets = RouteTable::new(entry(table.default_value())?);
        for (template, policies) in table.routes() {
            sets = sets.with_route(template, entry(policies)?);
        }
        Ok(Self::from_sets(sets))
    }

    /// A [`PolicySet`] per route template; `None` leaves a route unlimited. Routes given clones
    /// of one set share its state.
    pub fn from_sets(table: RouteTable<Option<PolicySet>>) -> Self {
        let entry = |set: &Option<PolicySet>| set.as_ref().map(|set| Arc::clone(&set.limit));
        let mut routes = RouteTable::new(entry(table.default_value()));
        for (template, set) in table.routes() {
            routes = routes.with_route(template, entry(set));
        }
        Self {
            routes: Arc::new(routes),
            headers: true,
            limit_preflights: false,
        }
    }

    /// Records `rampart_ratelimit_requests_total` and `rampart_ratelimit_key_fallbacks_total`
    /// into `recorder` instead of the global recorder (registered on the first request,
    /// never when the layer is built). The quotas' state stays shared with the layer this
    /// one was made from.
    #[must_use]
    pub fn with_recorder(self, recorder: MetricsRecorder) -> Self {
        self.map_limits(|limit| limit.recording_into(&recorder))
    }

    /// Keeps the quotas in Redis (feature `redis`), shared by every instance using the same
    /// server and prefix; this instance's own state is the fallback when Redis fails (see
    /// [`FailMode`](crate::FailMode)). Starts with fresh state.
    #[cfg(feature = "redis")]
    #[must_use]
    pub fn with_redis(self, backend: &RedisBackend) -> Self {
        self.map_limits(|limit| limit.in_redis(backend))
    }

    /// Each entry's limit replaced by `map(limit)`; entries that shared a limit still share
    /// one.
    fn map_limits(self, map: impl Fn(&RouteLimit) -> RouteLimit) -> Self {
        let mut mapped: Vec<(Arc<RouteLimit>, Arc<RouteLimit>)> = Vec::new();
        let mut entry = |limit: &Option<Arc<RouteLimit>>| {
            let limit = limit.as_ref()?;
            if let Some((_, new)) = mapped.iter().find(|(old, _)| Arc::ptr_eq(old, limit)) {
                return Some(Arc::clone(new));
            }
            let new = Arc::new(map(limit));
            mapped.push((Arc::clone(limit), Arc::clone(&new)));
            Some(new)
        };
        let mut routes = RouteTable::new(entry(self.routes.default_value()));
        for (template, limit) in self.routes.routes() {
            routes = routes.with_route(template, entry(limit));
        }
        Self {
            routes: Arc::new(routes),
            ..self
        }
    }

    /// Sends `RateLimit-Policy` and `RateLimit` on responses of limited routes (default true).
    #[must_use]
    pub const fn headers(mut self, enabled: bool) -> Self {
        self.headers = enabled;
        self
    }

    /// Counts CORS preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
    /// against the route's quota (default false). A browser sends one before a cross-origin
    /// call it then makes for real: counting both halves a client's quota, and a refused
    /// preflight fails the real call with a CORS error instead of a 429 the page can read.
    #[must_use]
    pub const fn limit_preflights(mut self, enabled: bool) -> Self {
        self.limit_preflights = enabled;
        self
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            layer: self.clone(),
        }
    }
}
