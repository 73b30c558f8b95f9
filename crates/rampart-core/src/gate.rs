//! A gate in front of a shared dependency (Redis): after a few failures in a row it stops
//! sending calls for a cool-down, then lets one probe through to find out whether the
//! dependency is back.
//!
//! The layers that talk to Redis all have a local answer to fall back on (a local quota, the
//! local cache tier). Without a gate, every request of an outage waits out the call's deadline
//! before falling back: a 50 ms deadline turns 50 000 requests a second into 1 200. With it,
//! the first few calls pay the deadline, the rest fall back at once, and one call per cool-down
//! pays it again to probe.
//!
//! This is a consecutive-failure breaker (as Envoy's outlier detection and resilience4j's
//! `COUNT_BASED` window of one do), not `rampart-breaker`'s rate window: a dependency that
//! answers at all is used, and the only question is whether it answers now. Admission is a
//! load in the closed state and one compare-and-swap for the probe, so it costs nothing on the
//! hot path.
//!
//! # Example
//!
//! ```
//! use rampart_core::gate::{Gate, Transition};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let gate = Gate::new(2, Duration::from_secs(1));
//! assert_eq!(gate.try_pass().map(|a| a.failed()), Some(Transition::None));
//! assert_eq!(gate.try_pass().map(|a| a.failed()), Some(Transition::Opened));
//! assert!(gate.is_open());
//! assert!(gate.try_pass().is_none(), "open: callers fall back at once");
//!
//! tokio::time::advance(Duration::from_secs(1)).await;
//! let probe = gate.try_pass().expect("the cool-down is over: one probe");
//! assert!(probe.is_probe());
//! assert!(gate.try_pass().is_none(), "only one probe at a time");
//! assert_eq!(probe.succeeded(), Transition::Closed);
//! assert!(!gate.is_open());
//! # }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Counts failures in a row and holds calls back while the dependency looks down.
#[derive(Debug)]
pub struct Gate {
    trip_after: u32,
    cool_down: Duration,
    base: Instant,
    failures_in_a_row: AtomicU32,
    /// Microseconds after `base` from which an open gate lets a probe through; 0 when closed.
    open_until: AtomicU64,
    probing: AtomicBool,
}

/// What an outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// Nothing.
    None,
    /// The gate opened: calls fall back without trying for the cool-down.
    Opened,
    /// The gate closed: the dependency answered again.
    Closed,
}

/// Leave for one call, from [`Gate::try_pass`]; report how it went.
///
/// Dropping it unreported (the caller was cancelled) reports nothing, and frees the probe slot
/// if it held it.
#[derive(Debug)]
#[must_use = "report the call's outcome with `succeeded` or `failed`"]
pub struct Attempt<'a> {
    gate: &'a Gate,
    probe: bool,
}

impl Gate {
    /// A gate that opens after `trip_after` failures in a row (at least one) and probes once
    /// per `cool_down`.
    pub fn new(trip_after: u32, cool_down: Duration) -> Self {
        Self {
            trip_after: trip_after.max(1),
            cool_down,
            base: Instant::now(),
            failures_in_a_row: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    /// Leave to call the dependency, or `None` when the caller should fall back without trying.
    pub fn try_pass(&self) -> Option<Attempt<'_>> {
        let open_until = self.open_until.load(Ordering::Acquire);
        if open_until == 0 {
            return Some(Attempt {
                gate: self,
                probe: false,
            });
        }
        if self.now() < open_until {
            return None;
        }
        self.probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .ok()
            .map(|_| Attempt {
                gate: self,
                probe: true,
            })
    }

    /// Whether calls are being held back (or only a probe let through).
    pub fn is_open(&self) -> bool {
        self.open_until.load(Ordering::Acquire) != 0
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn open(&self) -> u64 {
        let cool_down = u64::try_from(self.cool_down.as_micros()).unwrap_or(u64::MAX);
        self.now().saturating_add(cool_down).max(1)
    }
}

impl Attempt<'_> {
    /// Whether this call is the probe of an open gate.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The dependency answered.
    pub fn succeeded(self) -> Transition {
        let gate = self.gate;
        gate.failures_in_a_row.store(0, Ordering::Relaxed);
        let was_open = gate.open_until.swap(0, Ordering::AcqRel) != 0;
        if was_open {
            Transition::Closed
        } else {
            Transition::None
        }
    }

    /// The dependency failed or missed its deadline.
    pub fn failed(self) -> Transition {
        let gate = self.gate;
        if self.probe {
            // Still down: another cool-down before the next probe.
            gate.open_until.store(gate.open(), Ordering::Release);
            return Transition::None;
        }
        let failures = gate.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        if failures < gate.trip_after {
            return Transition::None;
        }
        match gate
            .open_until
            .compare_exchange(0, gate.open(), Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => Transition::Opened,
            Err(_) => Transition::None,
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.probe {
            self.gate.probing.store(false, Ordering::Release);
        }
    }
}

/// Why a call to a gated dependency (Redis) got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unavailable {
    /// Not tried: Redis failed the calls before it, and the gate holds calls back for now.
    HeldBack,
    /// Redis, or the connection to it, failed the call.
    Failed(String),
    /// No answer within the deadline.
    Late(Duration),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeldBack => f.write_str("not tried: redis failed the calls before it"),
            Self::Failed(error) => f.write_str(error),
            Self::Late(deadline) => write!(f, "no answer within {deadline:?}"),
        }
    }
}

impl std::error::Error for Unavailable {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const COOL_DOWN: Duration = Duration::from_millis(1000);

    #[tokio::test(start_paused = true)]
    async fn a_success_in_between_resets_the_count() {
        let gate = Gate::new(3, COOL_DOWN);
        for _ in 0..10 {
            let _ = gate.try_pass().map(Attempt::failed);
            let _ = gate.try_pass().map(Attempt::failed);
            let _ = gate.try_pass().map(Attempt::succeeded);
        }
        assert!(!gate.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_waits_another_cool_down() {
        let gate = Gate::new(1, COOL_DOWN);
        assert_eq!(
            gate.try_pass().map(Attempt::failed),
            Some(Transition::Opened)
        );
        tokio::time::advance(COOL_DOWN).await;
        assert_eq!(gate.try_pass().map(Attempt::failed), Some(Transition::None));
        tokio::time::advance(COOL_DOWN / 2).await;
        assert!(gate.try_pass().is_none());
        tokio::time::advance(COOL_DOWN / 2).await;
        assert!(gate.try_pass().is_some_and(|attempt| attempt.is_probe()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_probe_lets_the_next_caller_probe() {
        let gate = Gate::new(1, COOL_DOWN);
        let _ = gate.try_pass().map(Attempt::failed);
        tokio::time::advance(COOL_DOWN).await;
        drop(gate.try_pass().expect("probe"));
        assert!(gate.try_pass().is_some_and(|attempt| attempt.is_probe()));
    }

    /// One step of a caller of the gate.
    #[derive(Debug, Clone)]
    enum Step {
        Succeed,
        Fail,
        Abandon,
        Wait(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => Just(Step::Succeed),
            3 => Just(Step::Fail),
            1 => Just(Step::Abandon),
            2 => (0..1500u64).prop_map(Step::Wait),
        ]
    }

    proptest! {
        /// The gate against a plain model: closed until `trip_after` failures in a row, then
        /// no call for a cool-down, then exactly one probe at a time until one succeeds.
        #[test]
        fn the_gate_follows_its_model(trip_after in 1u32..5, steps in prop::collection::vec(step(), 1..80)) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let gate = Gate::new(trip_after, COOL_DOWN);
                let mut in_a_row = 0;
                let mut open_for: Option<u64> = None;
                for step in steps {
                    if let Step::Wait(millis) = step {
                        tokio::time::advance(Duration::from_millis(millis)).await;
                        open_for = open_for.map(|left| left.saturating_sub(millis));
                        continue;
                    }
                    let attempt = gate.try_pass();
                    match open_for {
                        None => prop_assert!(attempt.as_ref().is_some_and(|a| !a.is_probe())),
                        Some(left) if left > 0 => prop_assert!(attempt.is_none()),
                        Some(_) => {
                            prop_assert!(attempt.as_ref().is_some_and(Attempt::is_probe));
                            prop_assert!(gate.try_pass().is_none(), "a second probe");
                        }
                    }
                    let Some(attempt) = attempt else { continue };
                    match step {
                        Step::Succeed => {
                            prop_assert_eq!(attempt.succeeded(), if open_for.is_some() { Transition::Closed } else { Transition::None });
                            in_a_row = 0;
                            open_for = None;
                        }
                        Step::Fail if open_for.is_some() => {
                            prop_assert_eq!(attempt.failed(), Transition::None);
                            open_for = Some(1000);
                        }
                        Step::Fail => {
                            in_a_row += 1;
                            let opened = in_a_row >= trip_after;
                            prop_assert_eq!(attempt.failed(), if opened { Transition::Opened } else { Transition::None });
                            if opened {
                                open_for = Some(1000);
                            }
                        }
                        Step::Abandon | Step::Wait(_) => drop(attempt),
                    }
                    prop_assert_eq!(gate.is_open(), open_for.is_some());
                }
                Ok(())
            })?;
        }
    }
}
