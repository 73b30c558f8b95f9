//! The shared state of one limit: the algorithm, the current limit, the calls in flight.
//!
//! Admission is lock-free (an atomic compare against the limit); only a completed call's
//! sample takes the algorithm's lock, briefly.

use rampart_core::MetricsRecorder;
use rampart_core::deadline::Deadline;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use tokio::time::Instant;

use crate::GradientLimit;
use crate::fairness::Holdings;
use crate::gradient::count;
use crate::telemetry::Telemetry;

/// One call in this many is timed while the adaptive limit's window is full.
const SAMPLE_EVERY: usize = 16;

/// How the limit is set.
#[derive(Debug, Clone)]
pub(crate) enum Algorithm {
    /// Learned from latency.
    Adaptive(GradientLimit),
    /// Set by hand (at least 1).
    Fixed(usize),
}

#[derive(Debug)]
pub(crate) struct Limiter {
    adaptive: Option<Mutex<GradientLimit>>,
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    /// The adaptive limit's window has all the samples it keeps: until it closes, only one
    /// call in [`SAMPLE_EVERY`] reads the clock (enough to see the window end), the others
    /// skip both clock readings and the lock.
    window_full: AtomicBool,
    calls: AtomicUsize,
    /// Who holds the slots, so the last ones go to clients that hold none.
    pub(crate) holdings: Holdings,
    name: Arc<str>,
    telemetry: OnceLock<Telemetry>,
}

impl Limiter {
    pub(crate) fn new(algorithm: Algorithm, name: &str) -> Self {
        let (adaptive, limit) = match algorithm {
            Algorithm::Adaptive(gradient) => {
                let limit = gradient.limit();
                (Some(Mutex::new(gradient)), limit)
            }
            Algorithm::Fixed(limit) => (None, limit.max(1)),
        };
        Self {
            adaptive,
            limit: AtomicUsize::new(limit),
            in_flight: AtomicUsize::new(0),
            window_full: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
            holdings: Holdings::new(),
            name: name.into(),
            telemetry: OnceLock::new(),
        }
    }

    /// Its metrics, registered on `recorder` by the first call (a limit shared by layers
    /// with different recorders records into the first one's).
    fn telemetry(&self, recorder: &MetricsRecorder) -> &Telemetry {
        self.telemetry.get_or_init(|| {
            let telemetry = Telemetry::new(recorder, &self.name);
            telemetry.limit.set(count(self.limit()));
            telemetry
        })
    }

    pub(crate) const fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub(crate) fn min_rtt(&self) -> Option<std::time::Duration> {
        let algorithm = self.adaptive.as_ref()?;
        algorithm
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .min_rtt()
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// A slot for one call of the client in `bucket` (see [`Holdings`]), or `None` when every
    /// slot is taken, or every slot but those kept for clients that hold none.
    pub(crate) fn try_acquire(
        self: &Arc<Self>,
        deadline: Option<Deadline>,
        bucket: Option<usize>,
        recorder: &MetricsRecorder,
    ) -> Option<Permit> {
        let limit = self.limit();
        let telemetry = self.telemetry(recorder);
        let Ok(before) = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                self.holdings.admits(bucket, n, limit).then_some(n + 1)
            })
        else {
            telemetry.refused.increment(1);
            if let Some(bucket) = bucket {
                self.holdings.refused(bucket);
            }
            self.refused();
            return None;
        };
        telemetry.admitted.increment(1);
        telemetry.in_flight.set(count(before + 1));
        if let Some(bucket) = bucket {
            self.holdings.take(bucket);
        }
        Some(Permit {
            limiter: Arc::clone(self),
            // Only an adaptive limit learns from latency: a fixed one spares the clock.
            started: self.samples_this_call().then(Instant::now),
            deadline,
            bucket,
            completed: false,
        })
    }

    /// Whether this call's latency is wanted: always for an adaptive limit whose window has
    /// room, one in [`SAMPLE_EVERY`] once it is full, never for a fixed limit.
    fn samples_this_call(&self) -> bool {
        self.adaptive.is_some()
            && (!self.window_full.load(Ordering::Relaxed)
                || self.calls.fetch_add(1, Ordering::Relaxed) % SAMPLE_EVERY == 0)
    }

    /// A slot for a call that is never refused (a health check, `/metrics`): it counts in
    /// flight, so the others see the resource it uses, but it may go past the limit, and its
    /// latency (a cheap call's) teaches the limit nothing.
    pub(crate) fn acquire_critical(self: &Arc<Self>, recorder: &MetricsRecorder) -> Permit {
        let telemetry = self.telemetry(recorder);
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        telemetry.admitted.increment(1);
        telemetry.in_flight.set(count(before + 1));
        Permit {
            limiter: Arc::clone(self),
            started: None,
            deadline: None,
            bucket: None,
            completed: false,
        }
    }

    /// The adaptive algorithm, unless another caller is using it. Samples and refusals are
    /// statistics: one that finds the algorithm busy is skipped rather than waiting, so
    /// callers on other threads never queue behind each other here.
    fn try_algorithm(&self) -> Option<MutexGuard<'_, GradientLimit>> {
        match self.adaptive.as_ref()?.try_lock() {
            Ok(algorithm) => Some(algorithm),
            Err(TryLockError::WouldBlock) => None,
            // A panic elsewhere while holding the lock leaves a limit that is still a limit.
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        }
    }

    /// A completed call's latency, with the calls in flight (itself included).
    fn sample(&self, started: Instant) {
        if let Some(mut algorithm) = self.try_algorithm() {
            let measured = algorithm.min_rtt();
            algorithm.on_sample(started, Instant::now(), self.in_flight());
            self.window_full
                .store(!algorithm.wants_samples(), Ordering::Relaxed);
            if algorithm.min_rtt() != measured {
                if let (Some(telemetry), Some(min_rtt)) =
                    (self.telemetry.get(), algorithm.min_rtt())
                {
                    telemetry.min_rtt.set(min_rtt.as_secs_f64());
                }
            }
            self.publish(algorithm);
        }
    }

    /// A call refused: demand reached the limit.
    fn refused(&self) {
        if let Some(mut algorithm) = self.try_algorithm() {
            algorithm.on_refused(Instant::now());
            self.publish(algorithm);
        }
    }

    /// A call dropped by its deadline: always taken into account.
    fn dropped(&self) {
        let Some(algorithm) = &self.adaptive else {
            return;
        };
        let mut algorithm = algorithm.lock().unwrap_or_else(PoisonError::into_inner);
        algorithm.on_dropped(Instant::now());
        self.publish(algorithm);
    }

    /// Makes the algorithm's limit the one admission reads.
    fn publish(&self, algorithm: MutexGuard<'_, GradientLimit>) {
        let limit = algorithm.limit();
        drop(algorithm);
        // Samples only come from calls, which registered the metrics first.
        if self.limit.swap(limit, Ordering::Relaxed) != limit {
            if let Some(telemetry) = self.telemetry.get() {
                telemetry.limit.set(count(limit));
            }
        }
    }
}

/// One admitted call's slot: returned when dropped, whatever happened to the call.
#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Arc<Limiter>,
    started: Option<Instant>,
    deadline: Option<Deadline>,
    /// The holder's bucket, for a call that counts in [`Holdings`].
    bucket: Option<usize>,
    completed: bool,
}

impl Permit {
    /// The call answered: its latency teaches the limit.
    pub(crate) fn complete(mut self) {
        self.completed = true;
        if let Some(started) = self.started {
            self.limiter.sample(started);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(bucket) = self.bucket {
            self.limiter.holdings.give_back(bucket);
        }
        let before = self.limiter.in_flight.fetch_sub(1, Ordering::AcqRel);
        if let Some(telemetry) = self.limiter.telemetry.get() {
            telemetry.in_flight.set(count(before.saturating_sub(1)));
        }
        // Dropped before answering: by the deadline (congestion: the resource did not answer
        // in time), or by a client that went away (which says nothing about the resource).
        if !self.completed && self.deadline.as_ref().is_some_and(Deadline::has_passed) {
            self.limiter.dropped();
        }
    }
}
