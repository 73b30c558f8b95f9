use http::HeaderValue;
use metrics::{Counter, Unit};
use rampart_core::{ConfigError, MetricsRecorder, RouteTable};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tower_layer::Layer;

#[cfg(feature = "redis")]
use crate::RedisBackend;
use crate::headers::policy_header;
use crate::{Policy, RateLimit, RateLimiter, RateLimiterBuilder};

/// Counter: requests by `policy` and `outcome` (`allowed`, `limited`, `error`).
pub const REQUESTS: &str = "rampart_ratelimit_requests_total";

/// Counter: requests by `policy` keyed on the policy's fallback because their own key was
/// missing: for a client-address policy, requests without `ConnectInfo` (every client then
/// shares one quota).
pub const KEY_FALLBACKS: &str = "rampart_ratelimit_key_fallbacks_total";

/// The policies of one route-table entry, with their shared state.
pub(crate) struct RouteLimit {
    pub(crate) policies: Box<[Policy]>,
    pub(crate) limiter: RateLimiter,
    pub(crate) policy_header: Option<HeaderValue>,
    pub(crate) counters: Box<[PolicyCounters]>,
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
    fn new(
        policies: Vec<Policy>,
        recorder: &MetricsRecorder,
        mut builder: RateLimiterBuilder,
    ) -> Result<Self, ConfigError> {
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
            counters: counters(&policies, recorder),
            policies: policies.into_boxed_slice(),
        })
    }
}

fn counters(policies: &[Policy], recorder: &MetricsRecorder) -> Box<[PolicyCounters]> {
    policies
        .iter()
        .map(|policy| {
            let counter = |outcome: &str| {
                recorder.counter(
                    REQUESTS,
                    &[
                        ("policy", policy.name.to_string()),
                        ("outcome", outcome.to_owned()),
                    ],
                )
            };
            PolicyCounters {
                allowed: counter("allowed"),
                limited: counter("limited"),
                error: counter("error"),
                key_fallbacks: recorder
                    .counter(KEY_FALLBACKS, &[("policy", policy.name.to_string())]),
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

    /// Policies per route template; `None` leaves a route unlimited.
    ///
    /// # Errors
    ///
    /// When a quota admits nothing or a policy name cannot go in a header.
    pub fn try_from_table(table: RouteTable<Option<Vec<Policy>>>) -> Result<Self, ConfigError> {
        Self::build(table, &MetricsRecorder::global(), &RateLimiter::builder())
    }

    /// Like [`RateLimitLayer::try_from_table`], recording into `recorder`.
    ///
    /// # Errors
    ///
    /// When a quota admits nothing or a policy name cannot go in a header.
    pub fn from_table_with_recorder(
        table: RouteTable<Option<Vec<Policy>>>,
        recorder: &MetricsRecorder,
    ) -> Result<Self, ConfigError> {
        Self::build(table, recorder, &RateLimiter::builder())
    }

    /// Like [`RateLimitLayer::from_table_with_recorder`], with the quotas kept in Redis and
    /// shared by every instance (feature `redis`).
    ///
    /// # Errors
    ///
    /// When a quota admits nothing or a policy name cannot go in a header.
    #[cfg(feature = "redis")]
    pub fn shared(
        table: RouteTable<Option<Vec<Policy>>>,
        recorder: &MetricsRecorder,
        backend: &RedisBackend,
    ) -> Result<Self, ConfigError> {
        Self::build(
            table,
            recorder,
            &RateLimiter::builder().redis(backend.clone()),
        )
    }

    /// Every route's limiter, each built from a clone of `limiter` (where the backend is).
    fn build(
        table: RouteTable<Option<Vec<Policy>>>,
        recorder: &MetricsRecorder,
        limiter: &RateLimiterBuilder,
    ) -> Result<Self, ConfigError> {
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
        let entry = |policies: &Option<Vec<Policy>>| -> Result<_, ConfigError> {
            policies
                .clone()
                .filter(|policies| !policies.is_empty())
                .map(|policies| RouteLimit::new(policies, recorder, limiter.clone()).map(Arc::new))
                .transpose()
        };
        let mut routes = RouteTable::new(entry(table.default_value())?);
        for (template, policies) in table.routes() {
            routes = routes.with_route(template, entry(policies)?);
        }
        Ok(Self {
            routes: Arc::new(routes),
            headers: true,
            limit_preflights: false,
        })
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
