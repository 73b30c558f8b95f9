//! The simulated dependency behind `/api/upstream`, whose failures and latency an admin sets.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

/// Longest latency an admin may inject: a minute is already far past any sane deadline.
pub(crate) const MAX_LATENCY_MS: u64 = 60_000;

/// What the simulated dependency does, changed at run time through `POST /admin/chaos`.
#[derive(Debug, Default)]
pub(crate) struct Chaos {
    fail_percent: AtomicU8,
    latency_ms: AtomicU64,
}

/// The settings as JSON, for `GET` and `POST /admin/chaos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChaosSettings {
    pub(crate) fail_percent: u8,
    pub(crate) latency_ms: u64,
}

/// A partial update: absent fields keep their value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChaosUpdate {
    pub(crate) fail_percent: Option<u8>,
    pub(crate) latency_ms: Option<u64>,
}

impl Chaos {
    pub(crate) fn settings(&self) -> ChaosSettings {
        ChaosSettings {
            fail_percent: self.fail_percent.load(Ordering::Relaxed),
            latency_ms: self.latency_ms.load(Ordering::Relaxed),
        }
    }

    /// Applies an update after checking every field, so a bad one changes nothing.
    pub(crate) fn update(&self, update: &ChaosUpdate) -> Result<ChaosSettings, String> {
        if let Some(percent) = update.fail_percent {
            if percent > 100 {
                return Err(format!("fail_percent must be 0-100, not {percent}"));
            }
        }
        if let Some(latency) = update.latency_ms {
            if latency > MAX_LATENCY_MS {
                return Err(format!(
                    "latency_ms must be at most {MAX_LATENCY_MS}, not {latency}"
                ));
            }
        }
        if let Some(percent) = update.fail_percent {
            self.fail_percent.store(percent, Ordering::Relaxed);
        }
        if let Some(latency) = update.latency_ms {
            self.latency_ms.store(latency, Ordering::Relaxed);
        }
        Ok(self.settings())
    }

    /// One call to the dependency: waits the injected latency, then fails or not.
    pub(crate) async fn call(&self) -> Result<(), ()> {
        let ChaosSettings {
            fail_percent,
            latency_ms,
        } = self.settings();
        if latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(latency_ms)).await;
        }
        if fastrand::u8(0..100) < fail_percent {
            Err(())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_field_changes_nothing() {
        let chaos = Chaos::default();
        let update = ChaosUpdate {
            fail_percent: Some(50),
            latency_ms: Some(MAX_LATENCY_MS + 1),
        };
        assert!(chaos.update(&update).is_err());
        assert_eq!(chaos.settings().fail_percent, 0);
    }

    #[tokio::test]
    async fn zero_and_hundred_percent_are_exact() {
        let chaos = Chaos::default();
        for _ in 0..200 {
            assert!(chaos.call().await.is_ok());
        }
        let all = ChaosUpdate {
            fail_percent: Some(100),
            latency_ms: None,
        };
        chaos.update(&all).unwrap_or_else(|error| panic!("{error}"));
        for _ in 0..200 {
            assert!(chaos.call().await.is_err());
        }
    }
}
