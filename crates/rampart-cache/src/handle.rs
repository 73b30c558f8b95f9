use std::sync::Arc;

use crate::layer::Shared;
use crate::{Purge, PurgeJob};

/// Purges a cache and reads its size. Made by [`CacheLayer::handle`](crate::CacheLayer::handle).
///
/// # Example
///
/// ```
/// use rampart_cache::{CacheLayer, Purge};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let handle = CacheLayer::new().handle();
/// let job = handle.purge(Purge::Tag("items".into()));
/// assert_eq!(job.id(), 1);
/// let report = job.await.unwrap();
/// assert_eq!(report.instances_notified, 0, "no shared tier");
/// assert_eq!(report.shared_keys_removed, 0);
/// assert_eq!(handle.usage().entries, 0);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CacheHandle {
    pub(crate) shared: Arc<Shared>,
}

/// How full the local tier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct CacheUsage {
    /// Entries, variant lists included.
    pub entries: u64,
    /// Bytes, as the cache weighs entries (body, headers, key, overhead).
    pub bytes: u64,
}

impl CacheHandle {
    /// Removes what `purge` names from this instance at once, then, in a task that runs to
    /// completion whoever waits for it, from every instance listening to the shared tier and
    /// from the shared tier itself. Await the job for its report; its error says the shared
    /// tier could not be reached or the purge stopped part-way (the local tier is purged
    /// regardless). Call it inside a tokio runtime.
    pub fn purge(&self, purge: Purge) -> PurgeJob {
        self.shared.start_purge(purge)
    }

    /// The local tier's size, after moka's pending maintenance (evictions) has run.
    pub fn usage(&self) -> CacheUsage {
        let (entries, bytes) = self.shared.store.usage();
        CacheUsage { entries, bytes }
    }
}
