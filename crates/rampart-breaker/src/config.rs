use rampart_core::ConfigError;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::time::Duration;

/// Which outcomes the breaker looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Window {
    /// The last N calls (a ring of outcomes). In TOML: `window = { count = 20 }`.
    Count(u32),
    /// The calls of the last N whole seconds (per-second buckets that age out). In TOML:
    /// `window = { time = "10s" }`.
    Time(#[serde(with = "humantime_serde")] Duration),
}

/// Read by hand so that a wrong value says what a window looks like (the derived enum made
/// `window = 20` say only "wanted string or table").
impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(WindowVisitor)
    }
}

struct WindowVisitor;

impl<'de> Visitor<'de> for WindowVisitor {
    type Value = Window;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a table: `{ count = 100 }` (the last 100 calls) or `{ time = \"10s\" }` (the calls \
             of the last 10 seconds)",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Window, A::Error> {
        let Some(kind) = map.next_key::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        let window = match kind.as_str() {
            "count" => Window::Count(map.next_value()?),
            "time" => {
                let text: String = map.next_value()?;
                let duration = humantime_serde::re::humantime::parse_duration(&text)
                    .map_err(|error| de::Error::custom(format!("`time = \"{text}\"`: {error}")))?;
                Window::Time(duration)
            }
            other => return Err(de::Error::unknown_field(other, &["count", "time"])),
        };
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom(
                "a window has one key: either `count` or `time`",
            ));
        }
        Ok(window)
    }
}

/// How a breaker decides. Every field has a default; see [`BreakerConfig::validate`] for the
/// values that are refused.
///
/// # Example
///
/// ```
/// use rampart_breaker::{BreakerConfig, Window};
/// use std::time::Duration;
///
/// let config = BreakerConfig::default()
///     .window(Window::Count(20))
///     .minimum_calls(10)
///     .failure_rate_threshold(50.0)
///     .slow_call(Duration::from_secs(2), 80.0)
///     .wait_duration(Duration::from_secs(5))
///     .permitted_calls_in_half_open(3);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[must_use]
#[non_exhaustive]
pub struct BreakerConfig {
    /// The sliding window. Default: the last 100 calls.
    pub window: Window,
    /// Calls the window must hold before the breaker may open. Default: 20.
    pub minimum_calls: u32,
    /// Open when at least this percentage of the window failed. Default: 50.
    pub failure_rate_threshold: f64,
    /// Open when at least this percentage of the window was slow. Default: 100.
    pub slow_call_rate_threshold: f64,
    /// A call that takes longer than this is slow. Default: 10 s.
    #[serde(with = "humantime_serde")]
    pub slow_call_duration: Duration,
    /// How long the breaker stays open before it lets probes through. Default: 30 s.
    #[serde(with = "humantime_serde")]
    pub wait_duration: Duration,
    /// Each consecutive trip (open, probe fails, open again) multiplies the wait by this.
    /// Default: 1 (a constant wait).
    pub wait_multiplier: f64,
    /// The longest wait, however many trips in a row. Default: 5 minutes.
    #[serde(with = "humantime_serde")]
    pub max_wait_duration: Duration,
    /// Probes let through while half-open; their outcomes close or re-open. Default: 5.
    pub permitted_calls_in_half_open: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window: Window::Count(100),
            minimum_calls: 20,
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration: Duration::from_secs(10),
            wait_duration: Duration::from_secs(30),
            wait_multiplier: 1.0,
            max_wait_duration: Duration::from_secs(300),
            permitted_calls_in_half_open: 5,
        }
    }
}

impl BreakerConfig {
    /// Sets the sliding window.
    pub const fn window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Sets how many calls the window must hold before the breaker may open.
    pub const fn minimum_calls(mut self, calls: u32) -> Self {
        self.minimum_calls = calls;
        self
    }

    /// Sets the failure percentage that opens the breaker.
    pub const fn failure_rate_threshold(mut self, percent: f64) -> Self {
        self.failure_rate_threshold = percent;
        self
    }

    /// Calls longer than `duration` are slow; `percent` slow calls open the breaker.
    pub const fn slow_call(mut self, duration: Duration, percent: f64) -> Self {
        self.slow_call_duration = duration;
        self.slow_call_rate_threshold = percent;
        self
    }

    /// Sets how long the breaker stays open.
    pub const fn wait_duration(mut self, wait: Duration) -> Self {
        self.wait_duration = wait;
        self
    }

    /// Grows the wait by `multiplier` per consecutive trip, up to `max`.
    pub const fn exponential_wait(mut self, multiplier: f64, max: Duration) -> Self {
        self.wait_multiplier = multiplier;
        self.max_wait_duration = max;
        self
    }

    /// Sets how many probes go through while half-open.
    pub const fn permitted_calls_in_half_open(mut self, calls: u32) -> Self {
        self.permitted_calls_in_half_open = calls;
        self
    }

    /// The wait after `trips` consecutive trips (1 for the first).
    pub(crate) fn wait_after(&self, trips: u32) -> Duration {
        let factor = self
            .wait_multiplier
            .powi(i32::try_from(trips.saturating_sub(1)).unwrap_or(i32::MAX));
        let wait = self.wait_duration.as_secs_f64() * factor;
        if wait.is_finite() && wait < self.max_wait_duration.as_secs_f64() {
            Duration::from_secs_f64(wait)
        } else {
            self.max_wait_duration
        }
    }

    /// Checks the values that parse but cannot work.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail =
            |field: &'static str, message: &'static str| Err(ConfigError::new(field, message));
        match self.window {
            Window::Count(0) => return fail("window", "a count window holds at least 1 call"),
            Window::Count(n) if n > 1_000_000 => {
                return fail("window", "a count window holds at most 1 000 000 calls");
            }
            Window::Time(d) if d.as_secs() == 0 || d.subsec_nanos() != 0 => {
                return fail(
                    "window",
                    "a time window is a whole number of seconds, at least 1",
                );
            }
            Window::Time(d) if d.as_secs() > 3600 => {
                return fail("window", "a time window is at most one hour");
            }
            _ => {}
        }
        if self.minimum_calls == 0 {
            return fail("minimum_calls", "must be at least 1");
        }
        for (field, value) in [
            ("failure_rate_threshold", self.failure_rate_threshold),
            ("slow_call_rate_threshold", self.slow_call_rate_threshold),
        ] {
            if !(value > 0.0 && value <= 100.0) {
                return fail(field, "a percentage above 0 and at most 100");
            }
        }
        if self.wait_duration.is_zero() {
            return fail("wait_duration", "must be greater than zero");
        }
        if !(self.wait_multiplier >= 1.0 && self.wait_multiplier.is_finite()) {
            return fail("wait_multiplier", "must be at least 1");
        }
        if self.max_wait_duration < self.wait_duration {
            return fail("max_wait_duration", "must be at least wait_duration");
        }
        if self.permitted_calls_in_half_open == 0 {
            return fail("permitted_calls_in_half_open", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_cap() {
        let config = BreakerConfig::default()
            .wait_duration(Duration::from_secs(5))
            .exponential_wait(2.0, Duration::from_secs(30));
        let waits: Vec<u64> = (1..=5).map(|t| config.wait_after(t).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 30, 30]);
        assert_eq!(config.wait_after(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn invalid_values_name_their_field() {
        let bad = [
            (BreakerConfig::default().window(Window::Count(0)), "window"),
            (
                BreakerConfig::default().window(Window::Time(Duration::from_millis(1500))),
                "window",
            ),
            (BreakerConfig::default().minimum_calls(0), "minimum_calls"),
            (
                BreakerConfig::default().failure_rate_threshold(0.0),
                "failure_rate_threshold",
            ),
            (
                BreakerConfig::default().failure_rate_threshold(f64::NAN),
                "failure_rate_threshold",
            ),
            (
                BreakerConfig::default().slow_call(Duration::from_secs(1), 101.0),
                "slow_call_rate_threshold",
            ),
            (
                BreakerConfig::default().wait_duration(Duration::ZERO),
                "wait_duration",
            ),
            (
                BreakerConfig::default().permitted_calls_in_half_open(0),
                "permitted_calls_in_half_open",
            ),
        ];
        for (config, field) in bad {
            assert_eq!(config.validate().unwrap_err().field(), field);
        }
        assert!(BreakerConfig::default().validate().is_ok());
    }
}
