//! The simulated database behind `/api/work`: a pool of connections, each query holding one
//! for the query time. A query waits for a connection as long as it takes, as with a
//! deadpool or sqlx pool configured without an acquire timeout: under more demand than the
//! pool serves, queries queue and latency climbs, which is what overload protection is for.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// The largest pool an admin may set.
pub(crate) const MAX_POOL_SIZE: u32 = 1024;

/// `[database]`: the simulated pool behind `/api/work`; `POST /admin/chaos` changes it at run
/// time (`pool_size`, `query_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// Connections in the pool. Default: 8.
    pub pool_size: u32,
    /// How long each query holds its connection. Default: 10 ms (so 800 queries a second).
    #[serde(with = "humantime_serde")]
    pub query_time: Duration,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            pool_size: 8,
            query_time: Duration::from_millis(10),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Database {
    connections: Arc<Semaphore>,
    pool_size: AtomicU32,
    query_micros: AtomicU64,
}

impl Database {
    pub(crate) fn new(section: DatabaseSection) -> Self {
        let pool_size = section.pool_size.clamp(1, MAX_POOL_SIZE);
        Self {
            connections: Arc::new(Semaphore::new(pool_size as usize)),
            pool_size: AtomicU32::new(pool_size),
            query_micros: AtomicU64::new(micros(section.query_time)),
        }
    }

    pub(crate) fn pool_size(&self) -> u32 {
        self.pool_size.load(Ordering::Relaxed)
    }

    pub(crate) fn query_ms(&self) -> u64 {
        self.query_micros.load(Ordering::Relaxed) / 1000
    }

    pub(crate) fn set_query_ms(&self, ms: u64) {
        self.query_micros
            .store(ms.saturating_mul(1000), Ordering::Relaxed);
    }

    /// Grows the pool at once; shrinks it as connections come back (the ones to close are
    /// taken by a task that waits for them in line with the queries).
    pub(crate) fn resize(&self, size: u32) {
        let size = size.clamp(1, MAX_POOL_SIZE);
        let before = self.pool_size.swap(size, Ordering::Relaxed);
        if size > before {
            self.connections.add_permits((size - before) as usize);
        } else if size < before {
            let connections = Arc::clone(&self.connections);
            tokio::spawn(async move {
                if let Ok(closed) = connections.acquire_many_owned(before - size).await {
                    closed.forget();
                }
            });
        }
    }

    /// One query: waits for a connection, holds it for the query time.
    pub(crate) async fn query(&self) {
        // The semaphore is never closed: acquiring only waits.
        let _connection = self.connections.acquire().await;
        let hold = Duration::from_micros(self.query_micros.load(Ordering::Relaxed));
        tokio::time::sleep(hold).await;
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    async fn round(database: &Arc<Database>, queries: usize) -> Duration {
        let started = Instant::now();
        let calls: Vec<_> = (0..queries)
            .map(|_| {
                let database = Arc::clone(database);
                tokio::spawn(async move { database.query().await })
            })
            .collect();
        for call in calls {
            call.await.unwrap_or_else(|error| panic!("{error}"));
        }
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn queries_queue_for_the_pool_and_a_resize_changes_its_capacity() {
        let database = Arc::new(Database::new(DatabaseSection::default()));
        // 32 queries on 8 connections of 10 ms: four rounds.
        assert_eq!(round(&database, 32).await, Duration::from_millis(40));
        database.resize(4);
        tokio::task::yield_now().await;
        assert_eq!(round(&database, 32).await, Duration::from_millis(80));
        database.resize(16);
        database.set_query_ms(20);
        assert_eq!(round(&database, 32).await, Duration::from_millis(40));
        assert_eq!((database.pool_size(), database.query_ms()), (16, 20));
    }
}
