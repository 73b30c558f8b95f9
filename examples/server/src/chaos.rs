//! What an admin changes at run time: the simulated dependency behind `/api/upstream` (its
//! failures and latency) and the simulated database behind `/api/work` (its pool and query
//! time).

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use crate::database::{Database, DatabaseSection, MAX_POOL_SIZE};

/// Longest latency an admin may inject: a minute is already far past any sane deadline.
pub(crate) const MAX_LATENCY_MS: u64 = 60_000;

/// What the simulated dependency does, changed at run time through `POST /admin/chaos`.
#[derive(Debug)]
pub(crate) struct Chaos {
    fail_percent: AtomicU8,
    latency_ms: AtomicU64,
    pub(crate) database: Database,
}

/// The settings as JSON, for `GET` and `POST /admin/chaos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChaosSettings {
    pub(crate) fail_percent: u8,
    pub(crate) latency_ms: u64,
    pub(crate) pool_size: u32,
    pub(crate) query_ms: u64,
}

/// A partial update: absent fields keep their value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChaosUpdate {
    pub(crate) fail_percent: Option<u8>,
    pub(crate) latency_ms: Option<u64>,
    pub(crate) pool_size: Option<u32>,
    pub(crate) query_ms: Option<u64>,
}

impl Chaos {
    pub(crate) fn new(database: DatabaseSection) -> Self {
        Self {
            fail_percent: AtomicU8::new(0),
            latency_ms: AtomicU64::new(0),
            database: Database::new(database),
        }
    }

    pub(crate) fn settings(&self) -> ChaosSettings {
        ChaosSettings {
            fail_percent: self.fail_percent.load(Ordering::Relaxed),
            latency_ms: self.latency_ms.load(Ordering::Relaxed),
            pool_size: self.database.pool_size(),
            query_ms: self.database.query_ms(),
        }
    }

    /// Applies an update after checking every field, so a bad one changes nothing.
    pub(crate) fn update(&self, update: &ChaosUpdate) -> Result<ChaosSettings, String> {
        if let Some(percent) = update.fail_percent
            && percent > 100
        {
            return Err(format!("fail_percent must be 0-100, not {percent}"));
        }
        if let Some(latency) = update.latency_ms
            && latency > MAX_LATENCY_MS
        {
            return Err(format!(
                "latency_ms must be at most {MAX_LATENCY_MS}, not {latency}"
            ));
        }
        if let Some(size) = update.pool_size
            && !(1..=MAX_POOL_SIZE).contains(&size)
        {
            return Err(format!("pool_size must be 1-{MAX_POOL_SIZE}, not {size}"));
        }
        if let Some(query) = update.query_ms
            && query > MAX_LATENCY_MS
        {
            return Err(format!(
                "query_ms must be at most {MAX_LATENCY_MS}, not {query}"
            ));
        }
        if let Some(percent) = update.fail_percent {
            self.fail_percent.store(percent, Ordering::Relaxed);
        }
        if let Some(size) = update.pool_size {
            self.database.resize(size);
        }
        if let Some(query) = update.query_ms {
            self.database.set_query_ms(query);
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
            ..
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
        let chaos = Chaos::new(DatabaseSection::default());
        let update = ChaosUpdate {
            fail_percent: Some(50),
            latency_ms: Some(MAX_LATENCY_MS + 1),
            pool_size: Some(2),
            query_ms: None,
        };
        assert!(chaos.update(&update).is_err());
        assert_eq!(chaos.settings().fail_percent, 0);
        let update = ChaosUpdate {
            fail_percent: Some(50),
            latency_ms: None,
            pool_size: Some(0),
            query_ms: None,
        };
        assert!(chaos.update(&update).is_err());
        assert_eq!(chaos.settings().pool_size, 8);
    }

    #[tokio::test]
    async fn zero_and_hundred_percent_are_exact() {
        let chaos = Chaos::new(DatabaseSection::default());
        for _ in 0..200 {
            assert!(chaos.call().await.is_ok());
        }
        let all = ChaosUpdate {
            fail_percent: Some(100),
            latency_ms: None,
            pool_size: None,
            query_ms: None,
        };
        chaos.update(&all).unwrap_or_else(|error| panic!("{error}"));
        for _ in 0..200 {
            assert!(chaos.call().await.is_err());
        }
    }
}
