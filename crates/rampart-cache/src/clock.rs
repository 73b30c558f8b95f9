use std::time::SystemTime;
use tokio::time::Instant;

/// Wall-clock time as the cache reasons about freshness, advanced by tokio's clock.
///
/// HTTP dates and `Age` are wall-clock quantities, but tests must move them with
/// `tokio::time::advance`: the wall clock is read once, then moved by tokio's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    wall: SystemTime,
    monotonic: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            wall: SystemTime::now(),
            monotonic: Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.wall + self.monotonic.elapsed()
    }
}
