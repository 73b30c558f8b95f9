use std::sync::Arc;

use crate::layer::Shared;
use crate::{Purge, SharedTierError};

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
/// handle.purge(Purge::Tag("items".into())).await.unwrap();
/// assert_eq!(handle.usage().entries, 0);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CacheHandle {
    pub(crate) shared: Arc<Shared>,
}

/// How full the local tier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheUsage {
    /// Entries, variant lists included.
    pub entries: u64,
    /// Bytes, as the cache weighs entries (body, headers, key, overhead).
    pub bytes: u64,
}

impl CacheHandle {
    /// Removes what `purge` names from this instance at once, then from the shared tier and
    /// every instance listening to it.
    ///
    /// # Errors
    ///
    /// When the shared tier could not be reached; the local tier is purged regardless.
    pub async fn purge(&self, purge: Purge) -> Result<(), SharedTierError> {
        self.shared.purge_everywhere(purge).await
    }

    /// The local tier's size, after moka's pending maintenance (evictions) has run.
    pub fn usage(&self) -> CacheUsage {
        let (entries, bytes) = self.shared.store.usage();
        CacheUsage { entries, bytes }
    }
}
