use std::fmt;
use std::time::Duration;

/// Why the layer answered `504`: the request outlived its deadline. In the answer's response
/// extensions, for the layers above and the application (an access log, a custom body).
///
/// # Example
///
/// ```
/// use rampart_timeout::TimedOut;
/// use std::time::Duration;
///
/// let reason = TimedOut::new(Duration::from_millis(250));
/// assert_eq!(reason.deadline(), Duration::from_millis(250));
/// assert_eq!(reason.to_string(), "the request did not complete within 250ms");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    deadline: Duration,
}

impl TimedOut {
    /// A timeout after `deadline`.
    pub const fn new(deadline: Duration) -> Self {
        Self { deadline }
    }

    /// The route's deadline that passed.
    pub const fn deadline(&self) -> Duration {
        self.deadline
    }
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request did not complete within {}",
            Shown(self.deadline)
        )
    }
}

impl std::error::Error for TimedOut {}

/// Why the layer answered `408`: the client sent no more of the request body for `waited`.
///
/// # Example
///
/// ```
/// use rampart_timeout::BodyTimedOut;
/// use std::time::Duration;
///
/// let reason = BodyTimedOut::new(Duration::from_secs(30));
/// assert_eq!(reason.waited(), Duration::from_secs(30));
/// assert_eq!(reason.to_string(), "the client sent no more of the request body for 30s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimedOut {
    waited: Duration,
}

impl BodyTimedOut {
    /// The client was idle for `waited`.
    pub const fn new(waited: Duration) -> Self {
        Self { waited }
    }

    /// How long the body was waited for.
    pub const fn waited(&self) -> Duration {
        self.waited
    }
}

impl fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the client sent no more of the request body for {}",
            Shown(self.waited)
        )
    }
}

impl std::error::Error for BodyTimedOut {}

/// `1s`, `1.5s`, `250ms`: how a deadline reads in a problem detail.
struct Shown(Duration);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis < 1000 {
            write!(f, "{millis}ms")
        } else if millis % 1000 == 0 {
            write!(f, "{}s", millis / 1000)
        } else {
            write!(f, "{}s", self.0.as_secs_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Shown;
    use std::time::Duration;

    #[test]
    fn deadlines_read_naturally() {
        let shown = |ms| Shown(Duration::from_millis(ms)).to_string();
        assert_eq!(shown(250), "250ms");
        assert_eq!(shown(1000), "1s");
        assert_eq!(shown(1500), "1.5s");
    }
}
