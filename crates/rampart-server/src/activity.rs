//! What a connection is doing, counted without a clock: requests started, answers still being
//! sent, bytes read from the socket. The connection's watchdog reads it once per period, and an
//! eviction at the cap reads it to tell head-less, idle and busy connections apart.
//!
//! hyper's own header-read timeout would do part of this, but it allocates and registers a
//! timer for every request head and drops it once the head is read: about 1 500 instructions a
//! request, 3 % of the example server's whole cost on `/api/hello` (callgrind,
//! `docs/benchmarks.md`). Two atomic counters and a watchdog that wakes once per period cost
//! a fraction of that, and also cover a keep-alive connection that trickles its next head.

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use rampart_core::upgrade::UpgradeGuard;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

/// One connection's counters, and what its socket keeps once upgraded.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    started: AtomicU64,
    answering: AtomicU64,
    /// Bytes read from the socket: between requests, the start of the next head.
    read: AtomicU64,
    /// `read` when the last answer ended: bytes past it are the start of a next head.
    read_when_quiet: AtomicU64,
    /// HTTP/2: bytes between requests are pings and settings, not a head.
    multiplexed: AtomicBool,
    /// Kept until the socket closes: the socket holds this `Activity`.
    upgrades: Upgrades,
}

/// An answer being sent; dropped when its body has ended or was dropped.
#[derive(Debug)]
pub(crate) struct Answering(Arc<Activity>);

impl Activity {
    /// A request started; the answer counts as in flight until the guard is dropped.
    pub(crate) fn start(self: &Arc<Self>) -> Answering {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.answering.fetch_add(1, Ordering::Relaxed);
        Answering(Arc::clone(self))
    }

    /// Requests started so far.
    pub(crate) fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Whether an answer is still being produced or sent.
    pub(crate) fn is_answering(&self) -> bool {
        self.answering.load(Ordering::Relaxed) > 0
    }

    /// Whether no request head has come yet.
    pub(crate) fn is_head_less(&self) -> bool {
        self.started() == 0
    }

    /// Whether the connection is between requests.
    pub(crate) fn is_idle(&self) -> bool {
        self.started() > 0 && !self.is_answering()
    }

    /// Counts bytes read from the socket.
    #[inline]
    pub(crate) fn read(&self, bytes: usize) {
        self.read.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Bytes read from the socket so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Whether bytes came since the last answer ended: a next head has started.
    pub(crate) fn next_head_started(&self) -> bool {
        self.bytes_read() > self.read_when_quiet.load(Ordering::Relaxed)
    }

    /// Marks the connection as HTTP/2.
    pub(crate) fn multiplexed(&self) {
        self.multiplexed.store(true, Ordering::Relaxed);
    }

    /// Whether the connection speaks HTTP/2.
    pub(crate) fn is_multiplexed(&self) -> bool {
        self.multiplexed.load(Ordering::Relaxed)
    }
}

impl Answering {
    /// Keeps `guard` until the connection's socket closes (an upgraded connection's outlives
    /// the HTTP exchange).
    pub(crate) fn keep_until_closed(&self, guard: UpgradeGuard) {
        self.0.upgrades.keep(guard);
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        if self.0.answering.fetch_sub(1, Ordering::Relaxed) == 1 {
            let read = self.0.bytes_read();
            self.0.read_when_quiet.store(read, Ordering::Relaxed);
        }
    }
}

/// What the layers asked to keep for as long as the socket lives, once it is upgraded.
#[derive(Debug, Default)]
struct Upgrades(Mutex<Vec<UpgradeGuard>>);

impl Upgrades {
    fn keep(&self, guard: UpgradeGuard) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(guard);
    }
}

pin_project! {
    /// A response body that keeps its request counted as in flight until it ends.
    #[derive(Debug)]
    pub(crate) struct CountedBody<B> {
        #[pin]
        body: B,
        answering: Option<Answering>,
    }
}

impl<B> CountedBody<B> {
    pub(crate) const fn new(body: B, answering: Answering) -> Self {
        Self {
            body,
            answering: Some(answering),
        }
    }
}

impl<B: Body> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = this.body.poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            this.answering.take();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_counts_until_its_body_ends_or_is_dropped() {
        let activity = Arc::new(Activity::default());
        let body = CountedBody::new(String::from("done"), activity.start());
        assert_eq!(activity.started(), 1);
        assert!(activity.is_answering());
        drop(body);
        assert!(!activity.is_answering());
        assert_eq!(activity.started(), 1);
    }
}
