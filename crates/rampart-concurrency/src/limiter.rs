//! The shared state of one limit: the algorithm, the current limit, the calls in flight.
//!
//! Admission is lock-free (an atomic compare against the limit); only a completed call's
//! sample takes the algorithm's lock, briefly.

use rampart_core::deadline::Deadline;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::time::Instant;

use crate::GradientLimit;

/// How the limit is set.
#[derive(Debug)]
enum Algorithm {
    /// Learned from latency.
    Adaptive(Mutex<GradientLimit>),
    /// Set by hand.
    Fixed,
}

#[derive(Debug)]
pub(crate) struct Limiter {
    algorithm: Algorithm,
    limit: AtomicUsize,
    in_flight: AtomicUsize,
}

impl Limiter {
    pub(crate) fn adaptive(limit: GradientLimit) -> Self {
        Self {
            limit: AtomicUsize::new(limit.limit()),
            algorithm: Algorithm::Adaptive(Mutex::new(limit)),
            in_flight: AtomicUsize::new(0),
        }
    }

    pub(crate) fn fixed(limit: usize) -> Self {
        Self {
            algorithm: Algorithm::Fixed,
            limit: AtomicUsize::new(limit.max(1)),
            in_flight: AtomicUsize::new(0),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// A slot for one call, or `None` when every slot is taken.
    pub(crate) fn try_acquire(self: &Arc<Self>, deadline: Option<Deadline>) -> Option<Permit> {
        let limit = self.limit();
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()?;
        Some(Permit {
            limiter: Arc::clone(self),
            started: Instant::now(),
            deadline,
            completed: false,
        })
    }

    fn learn(&self, lesson: impl FnOnce(&mut GradientLimit)) {
        if let Algorithm::Adaptive(algorithm) = &self.algorithm {
            // A panic elsewhere while holding the lock leaves a limit that is still a limit.
            let mut algorithm = algorithm.lock().unwrap_or_else(PoisonError::into_inner);
            lesson(&mut algorithm);
            self.limit.store(algorithm.limit(), Ordering::Relaxed);
        }
    }
}

/// One admitted call's slot: returned when dropped, whatever happened to the call.
#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Arc<Limiter>,
    started: Instant,
    deadline: Option<Deadline>,
    completed: bool,
}

impl Permit {
    /// The call answered: its latency teaches the limit.
    pub(crate) fn complete(mut self) {
        self.completed = true;
        let started = self.started;
        self.limiter
            .learn(|limit| limit.on_sample(started, Instant::now()));
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limiter.in_flight.fetch_sub(1, Ordering::AcqRel);
        // Dropped before answering: by the deadline (congestion: the resource did not answer
        // in time), or by a client that went away (which says nothing about the resource).
        if !self.completed && self.deadline.as_ref().is_some_and(Deadline::has_passed) {
            self.limiter.learn(GradientLimit::on_dropped);
        }
    }
}
