//! Lets a layer tell the layers below it that it is dropping their work because a deadline
//! passed, as opposed to the client going away.
//!
//! The timeout layer drops its inner future inside [`expire`]; a layer below it that keeps a
//! drop guard (the circuit breaker) asks [`is_expiring`] from that guard's `Drop`. The drop is
//! synchronous and on the same thread, so a thread-local flag says exactly this, at no cost to
//! requests that finish in time.

use std::cell::Cell;

thread_local! {
    static EXPIRING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `drop_work` (which drops the futures of the layers below) flagged as a deadline expiry.
///
/// # Example
///
/// ```
/// use rampart_core::deadline::{expire, is_expiring};
///
/// struct Guard;
/// impl Drop for Guard {
///     fn drop(&mut self) {
///         assert!(is_expiring());
///     }
/// }
/// expire(|| drop(Guard));
/// assert!(!is_expiring());
/// ```
pub fn expire<R>(drop_work: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            EXPIRING.with(|flag| flag.set(self.0));
        }
    }
    let _reset = Reset(EXPIRING.with(|flag| flag.replace(true)));
    drop_work()
}

/// Whether the current drop happens because a deadline passed.
pub fn is_expiring() -> bool {
    EXPIRING.with(Cell::get)
}

/// When the request must be answered, as set by the timeout layer in the request's extensions.
///
/// A layer below the timeout that can still answer on its own when time runs out (the cache,
/// with a stale entry) reads it to answer just before the timeout would.
///
/// # Example
///
/// ```
/// use rampart_core::deadline::Deadline;
/// use tokio::time::{Duration, Instant};
///
/// let at = Instant::now() + Duration::from_secs(1);
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(Deadline::new(at));
/// assert_eq!(request.extensions().get::<Deadline>().map(|d| d.at()), Some(at));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(tokio::time::Instant);

impl Deadline {
    /// A deadline at `at`.
    pub const fn new(at: tokio::time::Instant) -> Self {
        Self(at)
    }

    /// The instant the request times out.
    pub const fn at(&self) -> tokio::time::Instant {
        self.0
    }
}
