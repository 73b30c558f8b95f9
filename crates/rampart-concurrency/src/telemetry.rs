//! A limiter's metrics, labelled `limiter` with its name. Registered on the first call, on the
//! recorder the layer was given, so building a layer records nothing anywhere.

use metrics::{Counter, Gauge, Unit};
use rampart_core::MetricsRecorder;
use rampart_core::names::{
    CONCURRENCY_IN_FLIGHT as IN_FLIGHT, CONCURRENCY_LIMIT as LIMIT, CONCURRENCY_MIN_RTT as MIN_RTT,
    CONCURRENCY_REQUESTS as REQUESTS, LIMITER_LABEL, OUTCOME_LABEL,
};

#[derive(Debug)]
pub(crate) struct Telemetry {
    pub(crate) limit: Gauge,
    pub(crate) in_flight: Gauge,
    pub(crate) admitted: Counter,
    pub(crate) refused: Counter,
    pub(crate) min_rtt: Gauge,
}

impl Telemetry {
    pub(crate) fn new(recorder: &MetricsRecorder, name: &str) -> Self {
        recorder.describe_gauge(
            LIMIT,
            Unit::Count,
            "Calls a concurrency limit lets in at once.",
        );
        recorder.describe_gauge(
            IN_FLIGHT,
            Unit::Count,
            "Calls in flight under a concurrency limit.",
        );
        recorder.describe_counter(
            REQUESTS,
            Unit::Count,
            "Calls seen by a concurrency limit, by outcome.",
        );
        recorder.describe_gauge(
            MIN_RTT,
            Unit::Seconds,
            "The unloaded latency an adaptive concurrency limit is judged against.",
        );
        let limiter = || (LIMITER_LABEL, name.to_owned());
        let outcome = |outcome: &str| {
            recorder.counter(REQUESTS, &[limiter(), (OUTCOME_LABEL, outcome.to_owned())])
        };
        Self {
            limit: recorder.gauge(LIMIT, &[limiter()]),
            in_flight: recorder.gauge(IN_FLIGHT, &[limiter()]),
            admitted: outcome("admitted"),
            refused: outcome("refused"),
            min_rtt: recorder.gauge(MIN_RTT, &[limiter()]),
        }
    }
}
