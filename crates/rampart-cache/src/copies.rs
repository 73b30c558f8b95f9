//! The bytes held by copies of bodies still streaming to their clients, bounded.
//!
//! A miss that will be stored is copied as it passes ([`Pending`](crate::storing::Pending)),
//! and the copy lives until the body ends: as long as its client takes to read it. The store's
//! budget only counts entries once stored, so 400 slow readers of 900 KB misses held 360 MB of
//! copies outside it (issue 30). Every copy's allocation is charged here first; past the bound
//! the copy is dropped and the response is not stored, while its client's stream goes on.
//! The bound is a quarter of the store's byte budget, and at least one entry's limit: every
//! copy in flight becomes an entry of that budget when its body ends, so a quarter of it in
//! flight at once is plenty, and more would mostly be copied to be evicted. With the default
//! 64 MiB store, 16 MiB.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The bytes all copies in flight hold, and the most they may.
#[derive(Debug)]
pub(crate) struct InFlightCopies {
    held: AtomicUsize,
    limit: usize,
}

/// What one copy has charged; given back when dropped.
#[derive(Debug)]
pub(crate) struct CopyCharge {
    copies: Arc<InFlightCopies>,
    bytes: usize,
}

impl InFlightCopies {
    /// The bound for a store of `max_bytes` whose entries are at most `max_entry_bytes`.
    pub(crate) fn new(max_bytes: u64, max_entry_bytes: usize) -> Arc<Self> {
        let quarter = usize::try_from(max_bytes / 4).unwrap_or(usize::MAX);
        Arc::new(Self {
            held: AtomicUsize::new(0),
            limit: quarter.max(max_entry_bytes),
        })
    }

    /// A charge of nothing yet.
    pub(crate) fn charge(self: &Arc<Self>) -> CopyCharge {
        CopyCharge {
            copies: Arc::clone(self),
            bytes: 0,
        }
    }

    /// Bytes held by copies now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

impl CopyCharge {
    /// Raises the charge to `bytes` (a copy's capacity); `false`, and nothing charged, when
    /// that would take all copies past the bound.
    pub(crate) fn grow_to(&mut self, bytes: usize) -> bool {
        let more = bytes.saturating_sub(self.bytes);
        if more == 0 {
            return true;
        }
        let limit = self.copies.limit;
        let charged = self
            .copies
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(more).filter(|total| *total <= limit)
            })
            .is_ok();
        if charged {
            self.bytes = bytes;
        }
        charged
    }
}

impl Drop for CopyCharge {
    fn drop(&mut self) {
        self.copies.held.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_the_bound_and_give_it_back() {
        let copies = InFlightCopies::new(4_000, 100);
        let mut first = copies.charge();
        let mut second = copies.charge();
        assert!(first.grow_to(600));
        assert!(!second.grow_to(500), "600 + 500 is past 1 000");
        assert_eq!(copies.held(), 600, "a refused charge takes nothing");
        assert!(second.grow_to(400));
        assert!(first.grow_to(600), "no growth is free");
        drop(first);
        assert_eq!(copies.held(), 400);
        drop(second);
        assert_eq!(copies.held(), 0);
        assert_eq!(
            InFlightCopies::new(100, 50).limit,
            50,
            "at least one entry's limit"
        );
    }
}
