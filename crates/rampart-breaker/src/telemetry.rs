//! A breaker's metrics and logs.

use metrics::{Counter, Gauge, Unit};
use rampart_core::MetricsRecorder;
use rampart_core::names::{
    BREAKER_CALLS as CALLS, BREAKER_LABEL, BREAKER_STATE as STATE,
    BREAKER_TRANSITIONS as TRANSITIONS, FROM_LABEL, OUTCOME_LABEL, TO_LABEL,
};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::BreakerState;

/// How a finished or refused call is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallOutcome {
    Success,
    Failure,
    Slow,
    Rejected,
}

#[derive(Debug)]
pub(crate) struct BreakerTelemetry {
    name: String,
    recorder: MetricsRecorder,
    state: Gauge,
    success: Counter,
    failure: Counter,
    slow: Counter,
    rejected: Counter,
    transitions: Mutex<HashMap<(BreakerState, BreakerState), Counter>>,
}

impl BreakerTelemetry {
    pub(crate) fn describe(recorder: &MetricsRecorder) {
        recorder.describe_gauge(
            STATE,
            Unit::Count,
            "Circuit breaker state: 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled.",
        );
        recorder.describe_counter(CALLS, Unit::Count, "Calls seen by a circuit breaker.");
        recorder.describe_counter(
            TRANSITIONS,
            Unit::Count,
            "Circuit breaker state transitions.",
        );
    }

    pub(crate) fn new(recorder: &MetricsRecorder, name: &str) -> Self {
        let calls = |outcome: &str| {
            recorder.counter(
                CALLS,
                &[
                    (BREAKER_LABEL, name.to_owned()),
                    (OUTCOME_LABEL, outcome.to_owned()),
                ],
            )
        };
        Self {
            name: name.to_owned(),
            state: recorder.gauge(STATE, &[(BREAKER_LABEL, name.to_owned())]),
            success: calls("success"),
            failure: calls("failure"),
            slow: calls("slow"),
            rejected: calls("rejected"),
            recorder: recorder.clone(),
            transitions: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn set_state(&self, state: BreakerState) {
        self.state.set(state.gauge_value());
    }

    pub(crate) fn call(&self, outcome: CallOutcome) {
        match outcome {
            CallOutcome::Success => &self.success,
            CallOutcome::Failure => &self.failure,
            CallOutcome::Slow => &self.slow,
            CallOutcome::Rejected => &self.rejected,
        }
        .increment(1);
    }

    pub(crate) fn transition(&self, from: BreakerState, to: BreakerState) {
        self.set_state(to);
        tracing::warn!(breaker = %self.name, %from, %to, "circuit breaker changed state");
        let mut transitions = self
            .transitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        transitions
            .entry((from, to))
            .or_insert_with(|| {
                self.recorder.counter(
                    TRANSITIONS,
                    &[
                        (BREAKER_LABEL, self.name.clone()),
                        (FROM_LABEL, from.as_str().to_owned()),
                        (TO_LABEL, to.as_str().to_owned()),
                    ],
                )
            })
            .increment(1);
    }
}
