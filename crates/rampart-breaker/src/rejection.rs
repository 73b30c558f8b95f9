use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::BreakerState;

/// Why a call was refused: put in the extensions of every rejection response, for users who
/// want the typed reason.
///
/// # Example
///
/// ```
/// use http::Response;
/// use rampart_breaker::CircuitOpen;
///
/// fn was_short_circuited<B>(response: &Response<B>) -> bool {
///     response.extensions().get::<CircuitOpen>().is_some()
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitOpen {
    pub(crate) breaker: Arc<str>,
    pub(crate) state: BreakerState,
    pub(crate) retry_after: Option<Duration>,
}

impl CircuitOpen {
    /// The breaker's name.
    pub fn breaker(&self) -> &str {
        &self.breaker
    }

    /// Its state: open, half-open with no probe left, or forced open.
    pub const fn state(&self) -> BreakerState {
        self.state
    }

    /// How long until the breaker lets calls (probes) through, when known.
    pub const fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state {
            BreakerState::HalfOpen => write!(
                f,
                "circuit breaker `{}` is half-open and its probes are all in flight",
                self.breaker
            ),
            BreakerState::ForcedOpen => {
                write!(
                    f,
                    "circuit breaker `{}` was opened by an operator",
                    self.breaker
                )
            }
            _ => write!(f, "circuit breaker `{}` is open", self.breaker),
        }
    }
}

impl std::error::Error for CircuitOpen {}
