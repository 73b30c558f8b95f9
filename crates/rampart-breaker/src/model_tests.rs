//! Model-based test: random sequences of calls, outcomes and clock steps, the breaker against a
//! reference model written straight from the documented rules. They must agree on every step.

use super::*;
use crate::{BreakerConfig, Window};
use proptest::prelude::*;
use rampart_core::MetricsRecorder;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    /// One call: admitted or not, and if admitted its outcome, all at the current instant.
    Call { failed: bool, slow: bool },
    /// The clock moves on.
    Advance { millis: u64 },
    /// An operator forces a state.
    Force(ForcedState),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(failed, slow)| Op::Call { failed, slow }),
        3 => prop_oneof![0..50u64, 0..3_000u64, 0..20_000u64]
            .prop_map(|millis| Op::Advance { millis }),
        1 => prop_oneof![
            Just(ForcedState::Closed),
            Just(ForcedState::ForcedOpen),
            Just(ForcedState::Disabled),
        ]
        .prop_map(Op::Force),
    ]
}

fn config() -> impl Strategy<Value = BreakerConfig> {
    (
        prop_oneof![
            (1..12u32).prop_map(Window::Count),
            (1..6u64).prop_map(|s| Window::Time(Duration::from_secs(s))),
        ],
        1..8u32,
        prop_oneof![Just(25.0), Just(50.0), Just(100.0)],
        prop_oneof![Just(50.0), Just(100.0)],
        1..4u32,
        prop_oneof![Just(1.0), Just(2.0)],
    )
        .prop_map(|(window, minimum, failure, slow, probes, multiplier)| {
            BreakerConfig::default()
                .window(window)
                .minimum_calls(minimum)
                .failure_rate_threshold(failure)
                .slow_call(Duration::from_secs(1), slow)
                .wait_duration(Duration::from_secs(2))
                .exponential_wait(multiplier, Duration::from_secs(9))
                .permitted_calls_in_half_open(probes)
        })
}

/// The reference: plain collections, no atomics, no generations.
#[derive(Debug)]
struct Model {
    config: BreakerConfig,
    state: BreakerState,
    /// (millisecond of the call, failed, slow), oldest first.
    window: VecDeque<(u64, bool, bool)>,
    open_until: u64,
    trips: u32,
    probes_left: u32,
    probe_results: Vec<(bool, bool)>,
}

impl Model {
    fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: BreakerState::Closed,
            window: VecDeque::new(),
            open_until: 0,
            trips: 0,
            probes_left: 0,
            probe_results: Vec::new(),
        }
    }

    /// The calls the window holds at `now` (milliseconds).
    fn in_window(&self, now: u64) -> Vec<(bool, bool)> {
        match self.config.window {
            Window::Count(n) => self
                .window
                .iter()
                .rev()
                .take(n as usize)
                .map(|&(_, f, s)| (f, s))
                .collect(),
            Window::Time(span) => {
                let second = now / 1000;
                self.window
                    .iter()
                    .filter(|(at, _, _)| at / 1000 + span.as_secs() > second)
                    .map(|&(_, f, s)| (f, s))
                    .collect()
            }
        }
    }

    fn trips_on(&self, calls: &[(bool, bool)], minimum: u32) -> bool {
        let total = calls.len() as f64;
        let failures = calls.iter().filter(|(f, _)| *f).count() as f64;
        let slow = calls.iter().filter(|(_, s)| *s).count() as f64;
        calls.len() as u32 >= minimum
            && (failures * 100.0 / total >= self.config.failure_rate_threshold
                || slow * 100.0 / total >= self.config.slow_call_rate_threshold)
    }

    fn open(&mut self, now: u64) {
        self.trips += 1;
        let wait = self.config.wait_duration.as_millis() as f64
            * self.config.wait_multiplier.powi(self.trips as i32 - 1);
        let wait = wait.min(self.config.max_wait_duration.as_millis() as f64) as u64;
        self.open_until = now + wait;
        self.window.clear();
        self.state = BreakerState::Open;
    }

    fn close(&mut self) {
        self.trips = 0;
        self.window.clear();
        self.state = BreakerState::Closed;
    }

    /// Returns whether the call was admitted.
    fn call(&mut self, now: u64, failed: bool, slow: bool) -> bool {
        if self.state == BreakerState::Open && now >= self.open_until {
            self.state = BreakerState::HalfOpen;
            self.probes_left = self.config.permitted_calls_in_half_open;
            self.probe_results.clear();
        }
        match self.state {
            BreakerState::Disabled => true,
            BreakerState::Open | BreakerState::ForcedOpen => false,
            BreakerState::Closed => {
                self.window.push_back((now, failed, slow));
                let calls = self.in_window(now);
                if self.trips_on(&calls, self.config.minimum_calls) {
                    self.open(now);
                }
                true
            }
            BreakerState::HalfOpen => {
                if self.probes_left == 0 {
                    return false;
                }
                self.probes_left -= 1;
                self.probe_results.push((failed, slow));
                let needed = self.config.permitted_calls_in_half_open;
                if self.probe_results.len() as u32 == needed {
                    let results = self.probe_results.clone();
                    if self.trips_on(&results, needed) {
                        self.open(now);
                    } else {
                        self.close();
                    }
                }
                true
            }
        }
    }

    fn force(&mut self, target: ForcedState) {
        match target {
            ForcedState::Closed => self.close(),
            ForcedState::ForcedOpen => {
                self.window.clear();
                self.state = BreakerState::ForcedOpen;
            }
            ForcedState::Disabled => {
                self.window.clear();
                self.trips = 0;
                self.state = BreakerState::Disabled;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_breaker_agrees_with_the_model(config in config(), ops in prop::collection::vec(op(), 1..200)) {
        let breaker = Breaker::new(
            "model".into(),
            config.clone(),
            BreakerTelemetry::new(&MetricsRecorder::global(), "model"),
        );
        let mut model = Model::new(config);
        let mut now_ms = 0u64;
        for (step, op) in ops.into_iter().enumerate() {
            let now = breaker.base + Duration::from_millis(now_ms);
            match op {
                Op::Advance { millis } => now_ms += millis,
                Op::Force(target) => {
                    breaker.force(target);
                    model.force(target);
                }
                Op::Call { failed, slow } => {
                    let admitted = match breaker.admit(now) {
                        Admission::Tracked(permit) => {
                            breaker.record(permit, failed, slow, now);
                            true
                        }
                        Admission::Untracked => true,
                        Admission::Rejected { state, retry_after } => {
                            if state == BreakerState::Open {
                                let left = model.open_until - now_ms;
                                prop_assert_eq!(retry_after, Some(Duration::from_millis(left)), "step {}", step);
                            }
                            false
                        }
                    };
                    let expected = model.call(now_ms, failed, slow);
                    prop_assert_eq!(admitted, expected, "step {}: {:?}", step, model);
                }
            }
            let snapshot = breaker.snapshot(breaker.base + Duration::from_millis(now_ms));
            prop_assert_eq!(snapshot.state, model.state, "step {}", step);
            prop_assert_eq!(snapshot.consecutive_trips, model.trips, "step {}", step);
            if model.state == BreakerState::Closed {
                let calls = model.in_window(now_ms);
                prop_assert_eq!(snapshot.calls as usize, calls.len(), "step {}", step);
                let failures = calls.iter().filter(|(f, _)| *f).count();
                prop_assert_eq!(snapshot.failures as usize, failures, "step {}", step);
            }
        }
    }
}
