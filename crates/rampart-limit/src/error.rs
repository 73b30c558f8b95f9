use std::fmt;

/// A request body longer than its route's limit: the error its body returns once the limit is
/// passed, and the rejection in the extensions of the `413` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge {
    limit: u64,
}

impl BodyTooLarge {
    pub(crate) const fn new(limit: u64) -> Self {
        Self { limit }
    }

    /// The route's limit, in bytes.
    pub const fn limit(&self) -> u64 {
        self.limit
    }
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "request body longer than the limit of {} bytes",
            self.limit
        )
    }
}

impl std::error::Error for BodyTooLarge {}
