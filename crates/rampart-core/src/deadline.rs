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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// When the request must be answered, as set by the timeout layer in the request's extensions.
///
/// A layer below the timeout that can still answer on its own when time runs out (the cache,
/// with a stale entry) reads it to answer just before the timeout would; one that is dropped
/// unfinished asks [`Deadline::has_passed`] whether time ran out.
///
/// The deadline bounds the server's work, not the client's upload: for a request with a body it
/// moves out by the time the service has spent waiting for the client to send more of it
/// ([`BodyWait`]).
///
/// # Example
///
/// ```
/// use rampart_core::deadline::{BodyWait, Deadline};
/// use std::sync::Arc;
/// use tokio::time::{Duration, Instant};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let at = Instant::now() + Duration::from_secs(1);
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(Deadline::new(at));
/// assert_eq!(request.extensions().get::<Deadline>().map(Deadline::at), Some(at));
/// assert!(!Deadline::new(at).has_passed());
/// assert!(Deadline::new(Instant::now()).has_passed());
///
/// // Two seconds waiting for the client's body move the deadline out by two seconds.
/// let wait = Arc::new(BodyWait::new());
/// let deadline = Deadline::new(at).waiting_for_body(Arc::clone(&wait));
/// wait.start();
/// tokio::time::sleep(Duration::from_secs(2)).await;
/// wait.stop();
/// assert_eq!(deadline.at(), at + Duration::from_secs(2));
/// assert!(!deadline.has_passed());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    body: Option<Arc<BodyWait>>,
}

impl Deadline {
    /// A deadline at `at`.
    pub const fn new(at: Instant) -> Self {
        Self { at, body: None }
    }

    /// This deadline, moved out by the time spent waiting for the request body.
    #[must_use]
    pub fn waiting_for_body(mut self, wait: Arc<BodyWait>) -> Self {
        self.body = Some(wait);
        self
    }

    /// The instant the request times out, as of now.
    pub fn at(&self) -> Instant {
        self.body
            .as_ref()
            .map_or(self.at, |wait| self.at + wait.total())
    }

    /// Whether the deadline has passed: work dropped now was given up on for lack of time,
    /// not because the client went away.
    pub fn has_passed(&self) -> bool {
        Instant::now() >= self.at()
    }
}

/// The time a service has spent waiting for the client to send more of the request body.
///
/// The request body marks each wait: [`BodyWait::start`] when a read finds nothing yet,
/// [`BodyWait::stop`] when bytes (or the end) arrive or the body is dropped. Shared between the
/// body, which the handler owns, and the timeout layer's future, without a lock.
#[derive(Debug)]
pub struct BodyWait {
    origin: Instant,
    /// Nanoseconds from `origin` to the start of the wait in progress, plus one; zero when not
    /// waiting.
    since: AtomicU64,
    /// Nanoseconds of the waits that have ended.
    waited: AtomicU64,
}

impl Default for BodyWait {
    fn default() -> Self {
        Self::new()
    }
}

impl BodyWait {
    /// No wait yet.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            since: AtomicU64::new(0),
            waited: AtomicU64::new(0),
        }
    }

    /// The service wants more of the body and the client has not sent it: a wait begins,
    /// unless one is already under way.
    pub fn start(&self) {
        let now = self.nanos(Instant::now()) + 1;
        let _ = self
            .since
            .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Bytes arrived, the body ended or was dropped: the wait in progress, if any, ends.
    pub fn stop(&self) {
        let since = self.since.swap(0, Ordering::AcqRel);
        if since != 0 {
            let waited = self.nanos(Instant::now()).saturating_sub(since - 1);
            self.waited.fetch_add(waited, Ordering::AcqRel);
        }
    }

    /// How long the wait in progress has lasted, or `None` when the service is not waiting.
    pub fn current(&self) -> Option<Duration> {
        match self.since.load(Ordering::Acquire) {
            0 => None,
            since => Some(Duration::from_nanos(
                self.nanos(Instant::now()).saturating_sub(since - 1),
            )),
        }
    }

    /// Every wait so far, the one in progress included.
    pub fn total(&self) -> Duration {
        Duration::from_nanos(self.waited.load(Ordering::Acquire))
            + self.current().unwrap_or_default()
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX - 1)
    }
}
