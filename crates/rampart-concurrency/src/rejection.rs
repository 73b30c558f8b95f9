use std::fmt;
use std::time::Duration;

/// The `code` of the stack's `503` problem when every slot is taken.
pub const PROBLEM_CODE: &str = "overloaded";

/// A call refused because every slot was taken: in the extensions of the `503` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded {
    limit: usize,
    retry_after: Duration,
}

impl Overloaded {
    pub(crate) const fn new(limit: usize, retry_after: Duration) -> Self {
        Self { limit, retry_after }
    }

    /// The limit when the call was refused.
    pub const fn limit(&self) -> usize {
        self.limit
    }

    /// What `Retry-After` told the client.
    pub const fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for Overloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all {} slots are taken", self.limit)
    }
}

impl std::error::Error for Overloaded {}
