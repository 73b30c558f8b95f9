//! What a shared (Redis) limiter does when Redis cannot decide, and why it could not. Here
//! rather than beside [`RedisBackend`](crate::RedisBackend) so that [`Verdict`](crate::Verdict)
//! is the same type whether the `redis` feature is on or not.

use rampart_core::gate::Unavailable;
use std::fmt;

/// What the limiter does when Redis cannot answer in time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailMode {
    /// Decide with this instance's own state, as if there were no Redis (the default).
    #[default]
    Open,
    /// Refuse with `503 Service Unavailable`.
    Closed,
}

/// Why Redis gave no decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendUnavailable(pub(crate) Unavailable);

impl fmt::Display for BackendUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis rate limit backend unavailable: {}", self.0)
    }
}

impl std::error::Error for BackendUnavailable {}
