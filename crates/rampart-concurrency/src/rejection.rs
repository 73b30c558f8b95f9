use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::Limit;

/// A call refused because every slot of its limit was taken: in the extensions of the `503`
/// answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overloaded {
    limiter: Arc<str>,
    limit: usize,
    retry_after: Duration,
}

impl Overloaded {
    pub(crate) fn new(limit: &Limit, retry_after: Duration) -> Self {
        Self {
            limiter: Arc::clone(limit.limiter.name()),
            limit: limit.limit(),
            retry_after,
        }
    }

    /// The name of the limit that refused the call.
    #[must_use]
    pub fn limiter(&self) -> &str {
        &self.limiter
    }

    /// The limit when the call was refused.
    #[must_use]
    pub const fn limit(&self) -> usize {
        self.limit
    }

    /// What `Retry-After` told the client.
    #[must_use]
    pub const fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for Overloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the service is at its limit of {} calls at once; retry later",
            self.limit
        )
    }
}

impl std::error::Error for Overloaded {}
