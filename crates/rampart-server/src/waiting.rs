//! The connections that have not sent their first request head yet, oldest first: the ones a
//! newcomer closes when the server is at its cap.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub(crate) struct Waiting {
    next: AtomicU64,
    /// Accept order → the signal that closes the connection.
    connections: Mutex<BTreeMap<u64, Arc<Notify>>>,
}

/// One connection's place in [`Waiting`]; leaves it when dropped.
#[derive(Debug)]
pub(crate) struct Place {
    waiting: Arc<Waiting>,
    number: u64,
    pub(crate) evicted: Arc<Notify>,
}

impl Waiting {
    /// Registers a connection that has just been accepted.
    pub(crate) fn enter(self: &Arc<Self>) -> Place {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let evicted = Arc::new(Notify::new());
        self.lock().insert(number, Arc::clone(&evicted));
        Place {
            waiting: Arc::clone(self),
            number,
            evicted,
        }
    }

    /// Tells the connection that has waited longest to close; `false` when none is waiting.
    pub(crate) fn evict_oldest(&self) -> bool {
        let Some((_, evicted)) = self.lock().pop_first() else {
            return false;
        };
        // A stored permit: the connection sees it even if it is not listening yet.
        evicted.notify_one();
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Notify>>> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.waiting.lock().remove(&self.number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_waiting_connection_is_evicted_first() {
        let waiting = Arc::new(Waiting::default());
        let first = waiting.enter();
        let second = waiting.enter();
        let third = waiting.enter();
        drop(first);
        assert!(waiting.evict_oldest());
        assert_eq!(Arc::strong_count(&second.evicted), 1, "second left the map");
        assert_eq!(Arc::strong_count(&third.evicted), 2, "third still waits");
        drop(third);
        assert!(!waiting.evict_oldest());
    }
}
