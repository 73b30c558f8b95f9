use std::sync::Arc;
use std::time::Duration;

use crate::GradientLimit;
use crate::limiter::{Algorithm, Limiter};

/// One concurrency limit: its slots are shared by every route it is given to, so a group of
/// routes that use the same resource (a database pool) shares one, and each route that uses
/// a resource of its own gets its own.
///
/// Cheap to clone; clones are the same limit. Building one records nothing: its metrics,
/// labelled `limiter` with its name, are registered by its first call.
///
/// # Example
///
/// ```
/// use rampart_concurrency::{GradientLimit, Limit};
///
/// let database = Limit::adaptive("database", GradientLimit::new().min(4).max(64));
/// assert_eq!(database.name(), "database");
/// assert_eq!(database.limit(), 20); // where it starts, while it measures the unloaded latency
/// assert_eq!(database.min_rtt(), None);
///
/// let search = Limit::fixed("search", 16);
/// assert_eq!((search.limit(), search.in_flight()), (16, 0));
/// ```
#[derive(Debug, Clone)]
pub struct Limit {
    pub(crate) limiter: Arc<Limiter>,
}

impl Limit {
    /// A limit learned from the latency of completed calls.
    pub fn adaptive(name: &str, limit: GradientLimit) -> Self {
        Self::with(name, Algorithm::Adaptive(limit))
    }

    /// A limit set by hand (at least 1), as tower's `ConcurrencyLimit` + `LoadShed`.
    pub fn fixed(name: &str, limit: usize) -> Self {
        Self::with(name, Algorithm::Fixed(limit))
    }

    fn with(name: &str, algorithm: Algorithm) -> Self {
        Self {
            limiter: Arc::new(Limiter::new(algorithm, name)),
        }
    }

    /// The `limiter` label of its metrics.
    #[must_use]
    pub fn name(&self) -> &str {
        self.limiter.name()
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

    /// The unloaded latency an adaptive limit judges the calls against, once measured.
    #[must_use]
    pub fn min_rtt(&self) -> Option<Duration> {
        self.limiter.min_rtt()
    }

    pub(crate) fn same_as(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.limiter, &other.limiter)
    }
}

/// How one route uses a [`Limit`].
///
/// # Example
///
/// ```
/// use rampart_concurrency::{Limit, RouteLimit};
///
/// let database = Limit::fixed("database", 8);
/// let work = RouteLimit::new(database.clone());
/// // Touches the database too, but must answer even when the API is refused.
/// let health = RouteLimit::new(database).critical(true);
/// assert!(!work.is_critical() && health.is_critical());
/// assert_eq!(health.limit().name(), "database");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RouteLimit {
    pub(crate) limit: Limit,
    pub(crate) critical: bool,
}

impl RouteLimit {
    /// The route's calls take slots of `limit` and are refused when none is free.
    pub const fn new(limit: Limit) -> Self {
        Self {
            limit,
            critical: false,
        }
    }

    /// A critical route's calls are never refused (health checks, `/metrics`, admin): they
    /// count in flight, so the others see the load they put on the resource, but they may go
    /// past the limit, and their latency does not teach it (default false).
    pub const fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }

    /// The limit whose slots the route takes.
    pub const fn limit(&self) -> &Limit {
        &self.limit
    }

    /// Whether the route's calls are never refused.
    #[must_use]
    pub const fn is_critical(&self) -> bool {
        self.critical
    }
}

impl From<Limit> for RouteLimit {
    fn from(limit: Limit) -> Self {
        Self::new(limit)
    }
}
