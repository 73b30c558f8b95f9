use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::task::JoinHandle;

/// What to remove from the cache.
///
/// In JSON (the admin endpoint, the Redis invalidation channel): `{"key": "/api/items/7"}`,
/// `{"prefix": "/api/items/"}`, `{"tag": "items"}`, `"all"`.
///
/// # Example
///
/// ```
/// use rampart_cache::Purge;
///
/// let purge: Purge = serde_json::from_str(r#"{"prefix": "/api/items/"}"#).unwrap();
/// assert_eq!(purge, Purge::Prefix("/api/items/".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Purge {
    /// Every variant, on every host, of one path and query (`/api/items?id=7`); query
    /// parameters match in any order.
    Key(String),
    /// Everything whose path starts with this prefix.
    Prefix(String),
    /// Everything the origin tagged with this tag (in the tag header, `Cache-Tag` by default).
    Tag(String),
    /// Everything.
    All,
}

/// What a finished purge did beyond this instance's local tier, which is purged at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Instances listening on the shared tier's channel when the purge was announced (this one
    /// included); 0 without a shared tier.
    pub instances_notified: u64,
    /// Keys removed from the shared tier (entries, variant lists, tag sets).
    pub shared_keys_removed: u64,
}

/// A purge under way: it runs to completion in a task of its own, whether or not anyone awaits
/// it, so a caller that gives up (a request past its deadline) stops nothing. Await it for its
/// [`PurgeReport`]. Made by [`CacheHandle::purge`](crate::CacheHandle::purge).
#[derive(Debug)]
#[must_use = "the purge runs anyway; await it to learn how it ended"]
pub struct PurgeJob {
    id: u64,
    state: JobState,
}

#[derive(Debug)]
enum JobState {
    Finished(Option<Result<PurgeReport, SharedTierError>>),
    Running(JoinHandle<Result<PurgeReport, SharedTierError>>),
}

impl PurgeJob {
    pub(crate) const fn finished(id: u64, outcome: Result<PurgeReport, SharedTierError>) -> Self {
        Self {
            id,
            state: JobState::Finished(Some(outcome)),
        }
    }

    pub(crate) const fn running(
        id: u64,
        task: JoinHandle<Result<PurgeReport, SharedTierError>>,
    ) -> Self {
        Self {
            id,
            state: JobState::Running(task),
        }
    }

    /// This purge's number on this instance, as its log lines carry it.
    pub const fn id(&self) -> u64 {
        self.id
    }
}

impl Future for PurgeJob {
    type Output = Result<PurgeReport, SharedTierError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            JobState::Finished(outcome) => Poll::Ready(
                outcome
                    .take()
                    .unwrap_or_else(|| Err(SharedTierError("the purge was awaited twice".into()))),
            ),
            JobState::Running(task) => Pin::new(task).poll(cx).map(|joined| {
                joined.unwrap_or_else(|error| {
                    Err(SharedTierError(format!("the purge task failed: {error}")))
                })
            }),
        }
    }
}

/// Why a purge did not reach the shared tier (the local tier was purged anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedTierError(pub(crate) String);

impl fmt::Display for SharedTierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the shared cache tier is unavailable: {}", self.0)
    }
}

impl std::error::Error for SharedTierError {}
