//! Request coalescing: one origin request per key at a time, the others wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

/// The keys with an origin request in flight.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    in_flight: Mutex<HashMap<Box<str>, watch::Receiver<Landing>>>,
}

/// How a flight ended, as its followers learn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Landing {
    /// The leader went away before an answer (its client disconnected): a follower takes over.
    Abandoned,
    /// The answer is stored: look it up.
    Stored,
    /// The answer could not be stored (not cacheable, too big, failed): go to the origin.
    NotStored,
}

/// What a request for a key with no usable entry does.
#[derive(Debug)]
pub(crate) enum Role {
    /// Goes to the origin; the others wait until this guard is dropped.
    Leader(FlightGuard),
    /// Waits for the leader, then looks the key up again.
    Follower(watch::Receiver<Landing>),
}

/// Held by a leader; dropping it (after storing, on failure, or because the leader's client
/// went away and its future was dropped) wakes every follower.
#[derive(Debug)]
pub(crate) struct FlightGuard {
    flights: Arc<Flights>,
    key: Box<str>,
    // Followers wake when it is dropped; what it holds then says how the flight ended.
    done: watch::Sender<Landing>,
}

impl Flights {
    /// Joins the flight for `key`, or starts it.
    pub(crate) fn join(self: &Arc<Self>, key: &str) -> Role {
        let mut in_flight = self.lock();
        if let Some(receiver) = in_flight.get(key) {
            return Role::Follower(receiver.clone());
        }
        let (done, receiver) = watch::channel(Landing::Abandoned);
        in_flight.insert(key.into(), receiver);
        Role::Leader(FlightGuard {
            flights: Arc::clone(self),
            key: key.into(),
            done,
        })
    }

    /// Starts the flight for `key` only if none is in progress (a background refresh).
    pub(crate) fn lead(self: &Arc<Self>, key: &str) -> Option<FlightGuard> {
        match self.join(key) {
            Role::Leader(guard) => Some(guard),
            Role::Follower(_) => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, watch::Receiver<Landing>>> {
        // The map stays consistent whatever panicked while holding it: insert and remove only.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

impl FlightGuard {
    /// Records how the flight ended; followers read it once the guard is dropped.
    pub(crate) fn land(&self, landing: Landing) {
        self.done.send_replace(landing);
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        let mut in_flight = self.flights.lock();
        if in_flight
            .get(&self.key)
            .is_some_and(|receiver| receiver.same_channel(&self.done.subscribe()))
        {
            in_flight.remove(&self.key);
        }
    }
}

/// Waits until the leader of `receiver`'s flight is done, whatever way it ended.
pub(crate) async fn landed(mut receiver: watch::Receiver<Landing>) -> Landing {
    while receiver.changed().await.is_ok() {}
    *receiver.borrow()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn followers_wake_when_the_leader_is_dropped() {
        let flights = Arc::new(Flights::default());
        let Role::Leader(guard) = flights.join("k") else {
            panic!("the first request leads");
        };
        let Role::Follower(waiting) = flights.join("k") else {
            panic!("the second request follows");
        };
        guard.land(Landing::Stored);
        drop(guard);
        assert_eq!(landed(waiting).await, Landing::Stored);
        let Role::Leader(guard) = flights.join("k") else {
            panic!("the first request leads");
        };
        let Role::Follower(waiting) = flights.join("k") else {
            panic!("the second request follows");
        };
        assert!(flights.lead("k").is_none(), "one flight per key");
        let follower = tokio::spawn(landed(waiting));
        tokio::task::yield_now().await;
        assert!(!follower.is_finished());
        drop(guard);
        let landing = tokio::time::timeout(Duration::from_secs(1), follower)
            .await
            .expect("the follower wakes")
            .expect("the follower does not panic");
        assert_eq!(landing, Landing::Abandoned);
        assert_eq!(flights.len(), 0);
        assert!(matches!(flights.join("k"), Role::Leader(_)));
    }
}
