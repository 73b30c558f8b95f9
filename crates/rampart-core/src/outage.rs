//! Logs an outage of a shared dependency once when it starts and once, with a summary, when it
//! ends; a dependency that flaps gets one warning a minute, not one per flap.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Outages that start within this long of the last warning are not warned about again; the
/// next warned outage's summary counts them.
const QUIET_FOR: Duration = Duration::from_secs(60);

/// The log of one dependency's outages, driven by its [`Gate`](crate::gate::Gate)'s transitions.
#[derive(Debug)]
pub struct OutageLog {
    /// What is down, as the log says it ("rate limit backend").
    subject: &'static str,
    /// What happens meanwhile ("deciding without it").
    fallback: &'static str,
    /// Calls that fell back since the outage began.
    fell_back: AtomicU64,
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
    /// A log for `subject`, saying `fallback` is what happens while it is down.
    pub fn new(subject: &'static str, fallback: &'static str) -> Self {
        Self {
            subject,
            fallback,
            fell_back: AtomicU64::new(0),
            state: Mutex::default(),
        }
    }

    /// One call fell back (failed, or was held back by the gate).
    pub fn fell_back(&self) {
        self.fell_back.fetch_add(1, Ordering::Relaxed);
    }

    /// The dependency went down, for `reason`.
    pub fn began(&self, reason: &dyn fmt::Display) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.began = Some(now);
        state.warned = state
            .warned_at
            .is_none_or(|warned_at| now.duration_since(warned_at) >= QUIET_FOR);
        if state.warned {
            state.warned_at = Some(now);
            tracing::warn!(
                reason = %reason,
                "{} unavailable; {} and probing until it answers",
                self.subject,
                self.fallback,
            );
        }
    }

    /// The dependency answered again.
    pub fn ended(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let lasted = state.began.take().map(|began| began.elapsed());
        let fell_back = self.fell_back.swap(0, Ordering::Relaxed);
        if state.warned {
            let quiet = std::mem::take(&mut state.quiet);
            tracing::info!(
                ?lasted,
                calls_fell_back = fell_back,
                outages_since_not_logged = quiet,
                "{} available again",
                self.subject,
            );
        } else {
            state.quiet += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_warned(log: &OutageLog) -> bool {
        log.state.lock().is_ok_and(|state| state.warned)
    }

    #[tokio::test(start_paused = true)]
    async fn a_flapping_dependency_is_warned_about_once_a_minute() {
        let log = OutageLog::new("test backend", "deciding without it");
        let mut warned = 0;
        for _ in 0..30 {
            log.began(&"connection refused");
            warned += u32::from(is_warned(&log));
            log.ended();
            tokio::time::advance(Duration::from_secs(5)).await;
        }
        // 30 flaps over 150 s: warned at 0 s, 60 s and 120 s.
        assert_eq!(warned, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn calls_that_fell_back_are_counted_until_the_outage_ends() {
        let log = OutageLog::new("test backend", "deciding without it");
        log.began(&"deadline passed");
        for _ in 0..7 {
            log.fell_back();
        }
        assert_eq!(log.fell_back.load(Ordering::Relaxed), 7);
        log.ended();
        assert_eq!(log.fell_back.load(Ordering::Relaxed), 0);
    }
}
