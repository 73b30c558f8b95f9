use metrics::{Counter, Unit};
use rampart_core::MetricsRecorder;
use rampart_core::names::{ROUTE_LABEL, TIMEOUTS};
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// `rampart_timeouts_total`, one counter per route template, registered on first timeout.
#[derive(Debug)]
pub(crate) struct TimeoutCounters {
    recorder: MetricsRecorder,
    by_route: RwLock<HashMap<Box<str>, Counter>>,
}

impl TimeoutCounters {
    pub(crate) fn new(recorder: MetricsRecorder) -> Self {
        recorder.describe_counter(
            TIMEOUTS,
            Unit::Count,
            "Requests answered with 504 because they outlived their deadline.",
        );
        Self {
            recorder,
            by_route: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn increment(&self, route: &str) {
        if let Some(counter) = self
            .by_route
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
        {
            counter.increment(1);
            return;
        }
        let mut by_route = self
            .by_route
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        by_route
            .entry(route.into())
            .or_insert_with(|| {
                self.recorder
                    .counter(TIMEOUTS, &[(ROUTE_LABEL, route.to_owned())])
            })
            .increment(1);
    }
}
