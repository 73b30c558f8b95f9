//! The request's deadline, as a type: the contract between the timeout layer and the layers
//! below it.
//!
//! The timeout layer puts a [`Deadline`] in the request's extensions. A layer below that can
//! still answer on its own when time runs out (the cache, with a stale entry) answers just
//! before it; a layer that watches calls (the circuit breaker) tells a call dropped at or after
//! the deadline (a timeout, whichever layer gave up on it) from one dropped before it (the
//! client went away). Before this type, the breaker asked a thread-local flag the timeout set
//! while dropping; a call the cache dropped at the deadline never saw it, so the breaker never
//! opened on a cached route whose origin hung.

/// When the request must be answered, as set by the timeout layer in the request's extensions.
///
/// A layer below the timeout that can still answer on its own when time runs out (the cache,
/// with a stale entry) reads it to answer just before the timeout would; one that is dropped
/// unfinished asks [`Deadline::has_passed`] whether time ran out.
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
/// assert!(!Deadline::new(at).has_passed());
/// assert!(Deadline::new(Instant::now()).has_passed());
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

    /// Whether the deadline has passed: work dropped now was given up on for lack of time,
    /// not because the client went away.
    pub fn has_passed(&self) -> bool {
        tokio::time::Instant::now() >= self.0
    }
}
