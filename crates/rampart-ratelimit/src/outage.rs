//! Logs a Redis outage once when it starts and once, with a summary, when it ends; a Redis that
//! flaps gets one warning a minute, not one per flap.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

use crate::{BackendUnavailable, FailMode};

/// Outages that start within this long of the last warning are not warned about again; the
/// next warned outage's summary counts them.
const QUIET_FOR: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub(crate) struct OutageLog {
    down: AtomicBool,
    /// Decisions Redis failed since the outage began.
    failed: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    began: Option<Instant>,
    warned_at: Option<Instant>,
    /// Whether the current outage was warned about (its end is then logged too).
    warned: bool,
    /// Outages begun and ended without a warning since the last warned one.
    quiet: u64,
}

impl OutageLog {
    /// Notes the outcome of one decision: `error` when Redis failed it.
    pub(crate) fn note(&self, error: Option<&BackendUnavailable>, fail_mode: FailMode) {
        if let Some(error) = error {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if !self.down.swap(true, Ordering::Relaxed) {
                self.began(error, fail_mode);
            }
        } else if self.down.swap(false, Ordering::Relaxed) {
            self.ended();
        }
    }

    fn began(&self, error: &BackendUnavailable, fail_mode: FailMode) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.began = Some(now);
        state.warned = state
            .warned_at
            .is_none_or(|warned_at| now.duration_since(warned_at) >= QUIET_FOR);
        if state.warned {
            state.warned_at = Some(now);
            tracing::warn!(
                %error,
                ?fail_mode,
                "rate limit backend unavailable; deciding without it"
            );
        }
    }

    fn ended(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let lasted = state.began.take().map(|began| began.elapsed());
        let failed = self.failed.swap(0, Ordering::Relaxed);
        if state.warned {
            let quiet = std::mem::take(&mut state.quiet);
            tracing::info!(
                ?lasted,
                failed_decisions = failed,
                outages_since_not_logged = quiet,
                "rate limit backend available again"
            );
        } else {
            state.quiet += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error() -> BackendUnavailable {
        BackendUnavailable("connection refused".to_owned())
    }

    #[tokio::test(start_paused = true)]
    async fn a_flapping_backend_is_warned_about_once_a_minute() {
        let log = OutageLog::default();
        let mut warned = 0;
        for _ in 0..30 {
            log.note(Some(&error()), FailMode::Open);
            warned += u32::from(log.state.lock().map(|s| s.warned).unwrap_or(false));
            log.note(None, FailMode::Open);
            tokio::time::advance(Duration::from_secs(5)).await;
        }
        // 30 flaps over 150 s: warned at 0 s, 60 s and 120 s.
        assert_eq!(warned, 3);
        assert_eq!(log.failed.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn decisions_failed_during_an_outage_are_counted_until_it_ends() {
        let log = OutageLog::default();
        for _ in 0..7 {
            log.note(Some(&error()), FailMode::Closed);
        }
        assert_eq!(log.failed.load(Ordering::Relaxed), 7);
        log.note(None, FailMode::Closed);
        assert_eq!(log.failed.load(Ordering::Relaxed), 0);
        assert!(!log.down.load(Ordering::Relaxed));
    }
}
