//! The server's own metrics: what it refused, closed to make room, and cut short, so a
//! dashboard shows an attack on the edge (these were debug log lines only).

use metrics::{Counter, Unit};
use rampart_core::MetricsRecorder;
use rampart_core::names::{
    REASON_LABEL, SERVER_CONNECTIONS_EVICTED as EVICTED, SERVER_CONNECTIONS_REFUSED as REFUSED,
    SERVER_REQUEST_BODIES_TOO_SLOW as TOO_SLOW,
};

/// Registered when the server starts serving, on the recorder it was given.
#[derive(Debug)]
pub(crate) struct Telemetry {
    /// A new connection from an address that holds its share.
    pub(crate) refused_share: Counter,
    /// A new connection at the cap with nothing to close for it.
    pub(crate) refused_capacity: Counter,
    pub(crate) evicted: Counter,
    pub(crate) too_slow: Counter,
}

impl Telemetry {
    pub(crate) fn new(recorder: &MetricsRecorder) -> Self {
        recorder.describe_counter(
            REFUSED,
            Unit::Count,
            "New connections closed at once: the address held its share of the cap, or at the \
             cap nothing could be closed for it.",
        );
        recorder.describe_counter(
            EVICTED,
            Unit::Count,
            "Connections closed to make room for a newcomer (head-less, idle, then the heaviest \
             address's oldest).",
        );
        recorder.describe_counter(
            TOO_SLOW,
            Unit::Count,
            "Requests answered 408 because their body came slower than the minimum data rate.",
        );
        let refused =
            |reason: &str| recorder.counter(REFUSED, &[(REASON_LABEL, reason.to_owned())]);
        Self {
            refused_share: refused("address_share"),
            refused_capacity: refused("capacity"),
            evicted: recorder.counter(EVICTED, &[]),
            too_slow: recorder.counter(TOO_SLOW, &[]),
        }
    }
}
