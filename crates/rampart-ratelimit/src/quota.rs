use rampart_core::ConfigError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// "N requests per period, with bursts of up to B": the unit of every rate limit here.
///
/// The constructors say what they mean: `Quota::per_second(100)` is 100 requests each second.
/// (A well-known crate's method of the same name means one request every 100 seconds, and has
/// caused outages.) The burst defaults to N: a client that was quiet may spend a whole period's
/// worth at once, then one request per `period / N`.
///
/// # Example
///
/// ```
/// use rampart_ratelimit::Quota;
/// use std::time::Duration;
///
/// let quota = Quota::per_second(100).with_burst(20);
/// assert_eq!(quota.limit(), 100);
/// assert_eq!(quota.period(), Duration::from_secs(1));
/// assert_eq!(quota.burst(), 20);
/// assert_eq!(quota.emission_interval(), Duration::from_millis(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[must_use]
pub struct Quota {
    limit: u32,
    #[serde(with = "humantime_serde")]
    period: Duration,
    burst: u32,
}

impl Quota {
    /// `limit` requests per `period`, burst `limit`.
    pub const fn new(limit: u32, period: Duration) -> Self {
        Self {
            limit,
            period,
            burst: limit,
        }
    }

    /// `limit` requests each second.
    pub const fn per_second(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(1))
    }

    /// `limit` requests each minute.
    pub const fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// `limit` requests each hour.
    pub const fn per_hour(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(3600))
    }

    /// At most `burst` requests at once after a quiet spell.
    pub const fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// Requests per period.
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        self.period
    }

    /// The largest burst.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The steady-state spacing between requests: `period / limit`.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_nanos(self.interval_nanos())
    }

    pub(crate) fn interval_nanos(&self) -> u64 {
        let period = u64::try_from(self.period.as_nanos()).unwrap_or(u64::MAX);
        (period / u64::from(self.limit.max(1))).max(1)
    }

    /// Checks that the quota admits anything at all.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `limit`, `period` or `burst` when it is zero (or the period is
    /// over a year).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let (field, message) = if self.limit == 0 {
            ("limit", "the limit must be at least 1 request")
        } else if self.period.is_zero() {
            ("period", "the period must be longer than zero")
        } else if self.burst == 0 {
            ("burst", "the burst must be at least 1 request")
        } else if self.period.as_secs() > 366 * 24 * 3600 {
            ("period", "the period must be at most a year")
        } else {
            return Ok(());
        };
        Err(ConfigError::new(field, message))
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} per {:?} (burst {})",
            self.limit, self.period, self.burst
        )
    }
}
