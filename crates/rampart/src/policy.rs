#[cfg(feature = "breaker")]
use rampart_breaker::BreakerConfig;
#[cfg(feature = "cache")]
use rampart_cache::CacheRule;
use rampart_concurrency::RouteLimit;
#[cfg(feature = "ratelimit")]
use rampart_ratelimit::{Policy, PolicySet};
use std::time::Duration;

/// What one route gets that differs from the stack's defaults.
///
/// Unset fields fall back to the stack's defaults; a route has a circuit breaker only when its
/// policy gives it one.
///
/// # Example
///
/// ```
/// use rampart::breaker::BreakerConfig;
/// use rampart::{RoutePolicy, Stack};
/// use std::time::Duration;
///
/// let stack = Stack::builder()
///     .route("/api/export", RoutePolicy::new().timeout(Duration::from_secs(30)))
///     .route("/api/upstream", RoutePolicy::new().breaker(BreakerConfig::default()))
///     .build();
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RoutePolicy {
    pub(crate) timeout: Option<Duration>,
    #[cfg(feature = "breaker")]
    pub(crate) breaker: Option<BreakerConfig>,
    #[cfg(feature = "ratelimit")]
    pub(crate) rate_limit: Option<RouteRateLimit>,
    #[cfg(feature = "cache")]
    pub(crate) cache: Option<CacheRule>,
    pub(crate) body_limit: Option<u64>,
    pub(crate) concurrency: Option<RouteLimit>,
}

impl RoutePolicy {
    /// A policy that changes nothing.
    pub const fn new() -> Self {
        Self {
            timeout: None,
            #[cfg(feature = "breaker")]
            breaker: None,
            #[cfg(feature = "ratelimit")]
            rate_limit: None,
            #[cfg(feature = "cache")]
            cache: None,
            body_limit: None,
            concurrency: None,
        }
    }

    /// The route's own request deadline.
    pub const fn timeout(mut self, deadline: Duration) -> Self {
        self.timeout = Some(deadline);
        self
    }

    /// The route's own request body limit, in bytes (an upload route's, larger than the
    /// stack's).
    pub const fn body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    #[cfg(feature = "ratelimit")]
    /// The route's own rate-limit policies, with state of their own, instead of the stack's;
    /// an empty list leaves the route unlimited.
    pub fn rate_limit(mut self, policies: Vec<Policy>) -> Self {
        self.rate_limit = Some(RouteRateLimit::Own(policies));
        self
    }

    #[cfg(feature = "ratelimit")]
    /// Rate-limit policies whose state the route shares with every route given a clone of
    /// `set`, instead of the stack's: one quota across them all.
    pub fn shared_rate_limit(mut self, set: PolicySet) -> Self {
        self.rate_limit = Some(RouteRateLimit::Shared(set));
        self
    }

    #[cfg(feature = "cache")]
    /// Caches the route's responses under `rule` (routes are not cached unless given one).
    pub fn cache(mut self, rule: CacheRule) -> Self {
        self.cache = Some(rule);
        self
    }

    /// A concurrency limit for the route: its own [`Limit`](rampart_concurrency::Limit), or one
    /// shared with the routes that use the same resource (routes have none unless given one).
    pub fn concurrency(mut self, limit: impl Into<RouteLimit>) -> Self {
        self.concurrency = Some(limit.into());
        self
    }

    #[cfg(feature = "ratelimit")]
    /// The same policy, its own rate-limit policies turned into one set that every route
    /// given a clone of it shares.
    pub(crate) fn shared_by_its_routes(mut self) -> Result<Self, rampart_core::ConfigError> {
        if let Some(RouteRateLimit::Own(policies)) = &self.rate_limit
            && !policies.is_empty()
        {
            self.rate_limit = Some(RouteRateLimit::Shared(PolicySet::try_new(
                policies.clone(),
            )?));
        }
        Ok(self)
    }

    #[cfg(feature = "breaker")]
    /// A circuit breaker for the route (routes have none unless given one).
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = Some(config);
        self
    }
}

#[cfg(feature = "ratelimit")]
/// A route's rate limit: policies with state of its own, or a set shared with other routes.
#[derive(Debug, Clone)]
pub(crate) enum RouteRateLimit {
    Own(Vec<Policy>),
    Shared(PolicySet),
}

#[cfg(feature = "ratelimit")]
impl RouteRateLimit {
    /// The set the route counts against; `None` when it has no policy.
    pub(crate) fn set(&self) -> Result<Option<PolicySet>, rampart_core::ConfigError> {
        match self {
            Self::Own(policies) if policies.is_empty() => Ok(None),
            Self::Own(policies) => PolicySet::try_new(policies.clone()).map(Some),
            Self::Shared(set) => Ok(Some(set.clone())),
        }
    }
}
