use std::time::Duration;

/// What one route gets that differs from the stack's defaults.
///
/// Unset fields fall back to the stack's defaults.
///
/// # Example
///
/// ```
/// use rampart::{RoutePolicy, Stack};
/// use std::time::Duration;
///
/// let stack = Stack::builder()
///     .route("/api/export", RoutePolicy::new().timeout(Duration::from_secs(30)))
///     .build();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct RoutePolicy {
    pub(crate) timeout: Option<Duration>,
}

impl RoutePolicy {
    /// A policy that changes nothing.
    pub const fn new() -> Self {
        Self { timeout: None }
    }

    /// The route's own request deadline.
    pub const fn timeout(mut self, deadline: Duration) -> Self {
        self.timeout = Some(deadline);
        self
    }
}
