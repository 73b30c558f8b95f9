//! One breaker: the state machine, with a lock-free admission path.
//!
//! The state, its generation and the half-open probe budget share one atomic word, so that
//! admitting a call is one load in the closed state and one compare-and-swap per probe in the
//! half-open state: exactly `permitted_calls_in_half_open` probes get through however many
//! callers race for them. Outcomes are recorded under a mutex that only guards the window and
//! the transitions; an outcome from an earlier generation (a call admitted before the breaker
//! changed state) is ignored.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

use crate::telemetry::BreakerTelemetry;
use crate::window::{SlidingWindow, Tally};
use crate::{BreakerConfig, BreakerState, ForcedState, Window};

/// The atomic word: generation (32 bits), probes left (24 bits), state (8 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Word {
    generation: u32,
    probes: u32,
    state: BreakerState,
}

impl Word {
    const fn pack(self) -> u64 {
        ((self.generation as u64) << 32)
            | (((self.probes & 0x00ff_ffff) as u64) << 8)
            | self.state.code() as u64
    }

    const fn unpack(word: u64) -> Self {
        Self {
            generation: (word >> 32) as u32,
            probes: ((word >> 8) & 0x00ff_ffff) as u32,
            state: BreakerState::from_code((word & 0xff) as u8),
        }
    }

    const fn next(self, state: BreakerState, probes: u32) -> Self {
        Self {
            generation: self.generation.wrapping_add(1),
            probes,
            state,
        }
    }
}

/// Leave to make one call, given by [`Breaker::admit`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Permit {
    generation: u32,
    probe: bool,
}

impl Permit {
    /// Whether the call is one of the half-open state's probes.
    pub(crate) const fn is_probe(&self) -> bool {
        self.probe
    }
}

/// What the breaker says to a call.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Go ahead, and report the outcome.
    Tracked(Permit),
    /// Go ahead; the breaker is disabled and counts nothing.
    Untracked,
    /// Rejected; try again after this long, when known.
    Rejected {
        state: BreakerState,
        retry_after: Option<Duration>,
    },
}

#[derive(Debug)]
struct Core {
    window: SlidingWindow,
    probes: Tally,
    consecutive_trips: u32,
}

/// One circuit breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    name: Arc<str>,
    config: BreakerConfig,
    base: Instant,
    word: AtomicU64,
    open_until: AtomicU64,
    core: Mutex<Core>,
    telemetry: BreakerTelemetry,
}

/// A breaker's state and window figures, for an administrator.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// The breaker's name: its route template, key, or `global`.
    pub name: String,
    /// Its state.
    pub state: BreakerState,
    /// Calls in the window.
    pub calls: u32,
    /// Failed calls in the window.
    pub failures: u32,
    /// Slow calls in the window.
    pub slow_calls: u32,
    /// Failure percentage of the window.
    pub failure_rate: f64,
    /// Slow-call percentage of the window.
    pub slow_call_rate: f64,
    /// Milliseconds until an open breaker lets probes through.
    pub open_for_ms: Option<u64>,
    /// Probes still available while half-open.
    pub probes_left: Option<u32>,
    /// Trips in a row without closing in between.
    pub consecutive_trips: u32,
}

impl Breaker {
    pub(crate) fn new(name: Arc<str>, config: BreakerConfig, telemetry: BreakerTelemetry) -> Self {
        telemetry.set_state(BreakerState::Closed);
        Self {
            name,
            base: Instant::now(),
            word: AtomicU64::new(
                Word {
                    generation: 0,
                    probes: 0,
                    state: BreakerState::Closed,
                }
                .pack(),
            ),
            open_until: AtomicU64::new(0),
            core: Mutex::new(Core {
                window: SlidingWindow::new(config.window),
                probes: Tally::default(),
                consecutive_trips: 0,
            }),
            config,
            telemetry,
        }
    }

    pub(crate) fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub(crate) const fn config(&self) -> &BreakerConfig {
        &self.config
    }

    pub(crate) const fn telemetry(&self) -> &BreakerTelemetry {
        &self.telemetry
    }

    fn load(&self) -> Word {
        Word::unpack(self.word.load(Ordering::Acquire))
    }

    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    fn second(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.base).as_secs()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides whether a call may go ahead at `now`.
    pub(crate) fn admit(&self, now: Instant) -> Admission {
        loop {
            let raw = self.word.load(Ordering::Acquire);
            let word = Word::unpack(raw);
            match word.state {
                BreakerState::Closed => {
                    return Admission::Tracked(Permit {
                        generation: word.generation,
                        probe: false,
                    });
                }
                BreakerState::Disabled => return Admission::Untracked,
                BreakerState::ForcedOpen => {
                    return Admission::Rejected {
                        state: word.state,
                        retry_after: None,
                    };
                }
                BreakerState::Open => {
                    let until = self.open_until.load(Ordering::Acquire);
                    let now_nanos = self.nanos(now);
                    if now_nanos < until {
                        return Admission::Rejected {
                            state: word.state,
                            retry_after: Some(Duration::from_nanos(until - now_nanos)),
                        };
                    }
                    self.to_half_open(word.generation);
                }
                BreakerState::HalfOpen => {
                    if word.probes == 0 {
                        // The probes are out; their outcomes decide within one call's time.
                        return Admission::Rejected {
                            state: word.state,
                            retry_after: Some(Duration::from_secs(1)),
                        };
                    }
                    let taken = Word {
                        probes: word.probes - 1,
                        ..word
                    };
                    if self
                        .word
                        .compare_exchange(raw, taken.pack(), Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return Admission::Tracked(Permit {
                            generation: word.generation,
                            probe: true,
                        });
                    }
                }
            }
        }
    }

    /// Records the outcome of a call admitted with `permit`.
    pub(crate) fn record(&self, permit: Permit, failed: bool, slow: bool, now: Instant) {
        let mut core = self.lock();
        let word = self.load();
        if word.generation != permit.generation {
            // Admitted before the breaker changed state: this outcome is about another era.
            return;
        }
        let (tally, minimum) = if permit.probe {
            core.probes.add(failed, slow);
            if core.probes.calls < self.config.permitted_calls_in_half_open {
                return;
            }
            (core.probes, self.config.permitted_calls_in_half_open)
        } else if word.state == BreakerState::Closed {
            // Only a time window needs the second; skip the clock arithmetic otherwise.
            let second = match self.config.window {
                Window::Time(_) => self.second(now),
                Window::Count(_) => 0,
            };
            core.window.record(second, failed, slow);
            (core.window.tally(second), self.config.minimum_calls)
        } else {
            return;
        };
        let trips = tally.calls >= minimum
            && (tally.reaches(tally.failures, self.config.failure_rate_threshold)
                || tally.reaches(tally.slow, self.config.slow_call_rate_threshold));
        if trips {
            self.to_open(&mut core, word, now);
        } else if permit.probe {
            self.to_closed(&mut core, word);
        }
    }

    /// A call admitted with `permit` ended without an outcome (its caller went away): a
    /// half-open probe goes back to the pool, so that the half-open state cannot starve.
    pub(crate) fn abandon(&self, permit: Permit) {
        if !permit.probe {
            return;
        }
        let _ =
            self.word
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |raw| {
                    let word = Word::unpack(raw);
                    (word.generation == permit.generation && word.state == BreakerState::HalfOpen)
                        .then(|| {
                            Word {
                                probes: word.probes + 1,
                                ..word
                            }
                            .pack()
                        })
                });
    }

    /// Sets the state by hand.
    pub(crate) fn force(&self, target: ForcedState) {
        let mut core = self.lock();
        let word = self.load();
        match target {
            ForcedState::Closed => self.to_closed(&mut core, word),
            ForcedState::ForcedOpen => {
                core.window.clear();
                self.publish(word, word.next(BreakerState::ForcedOpen, 0));
            }
            ForcedState::Disabled => {
                core.window.clear();
                core.consecutive_trips = 0;
                self.publish(word, word.next(BreakerState::Disabled, 0));
            }
        }
    }

    pub(crate) fn snapshot(&self, now: Instant) -> BreakerSnapshot {
        let mut core = self.lock();
        let word = self.load();
        let tally = if word.state == BreakerState::HalfOpen {
            core.probes
        } else {
            core.window.tally(self.second(now))
        };
        let open_for_ms = (word.state == BreakerState::Open).then(|| {
            let left = self
                .open_until
                .load(Ordering::Acquire)
                .saturating_sub(self.nanos(now));
            left.div_ceil(1_000_000)
        });
        BreakerSnapshot {
            name: self.name.to_string(),
            state: word.state,
            calls: tally.calls,
            failures: tally.failures,
            slow_calls: tally.slow,
            failure_rate: tally.failure_rate(),
            slow_call_rate: tally.slow_rate(),
            open_for_ms,
            probes_left: (word.state == BreakerState::HalfOpen).then_some(word.probes),
            consecutive_trips: core.consecutive_trips,
        }
    }

    fn to_open(&self, core: &mut Core, word: Word, now: Instant) {
        core.consecutive_trips = core.consecutive_trips.saturating_add(1);
        let wait = self.config.wait_after(core.consecutive_trips);
        let wait_nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        self.open_until.store(
            self.nanos(now).saturating_add(wait_nanos),
            Ordering::Release,
        );
        core.window.clear();
        self.publish(word, word.next(BreakerState::Open, 0));
    }

    fn to_half_open(&self, generation: u32) {
        let mut core = self.lock();
        let word = self.load();
        if word.generation != generation || word.state != BreakerState::Open {
            return; // Another caller got here first.
        }
        core.probes = Tally::default();
        let probes = self.config.permitted_calls_in_half_open;
        self.publish(word, word.next(BreakerState::HalfOpen, probes));
    }

    fn to_closed(&self, core: &mut Core, word: Word) {
        core.consecutive_trips = 0;
        core.window.clear();
        self.publish(word, word.next(BreakerState::Closed, 0));
    }

    /// Publishes a transition made under the core lock, and reports it.
    fn publish(&self, from: Word, to: Word) {
        self.word.store(to.pack(), Ordering::Release);
        if from.state != to.state {
            self.telemetry.transition(from.state, to.state);
        }
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod model_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_round_trips() {
        for state in [
            BreakerState::Closed,
            BreakerState::Open,
            BreakerState::HalfOpen,
            BreakerState::ForcedOpen,
            BreakerState::Disabled,
        ] {
            let word = Word {
                generation: u32::MAX - 3,
                probes: 0x00ab_cdef,
                state,
            };
            assert_eq!(Word::unpack(word.pack()), word);
        }
    }
}
