use bytes::Bytes;
use rampart::breaker::Breakers;
use rampart::cache::CacheHandle;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::chaos::Chaos;
use crate::database::DatabaseSection;
use crate::report;

/// What the handlers share.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) chaos: Arc<Chaos>,
    pub(crate) report: Bytes,
    pub(crate) report_etag: Arc<str>,
    pub(crate) admin_token: Option<Arc<str>>,
    pub(crate) breakers: Breakers,
    pub(crate) cache: CacheHandle,
    ready: Arc<AtomicBool>,
}

impl AppState {
    pub(crate) fn new(
        admin_token: Option<String>,
        database: DatabaseSection,
        breakers: Breakers,
        cache: CacheHandle,
    ) -> Self {
        let report = report::report();
        Self {
            chaos: Arc::new(Chaos::new(database)),
            report_etag: report::etag(&report).into(),
            report,
            admin_token: admin_token.map(Into::into),
            breakers,
            cache,
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// From now on `/health/ready` answers 503, so load balancers stop sending traffic while
    /// in-flight requests drain.
    pub(crate) fn stop_accepting(&self) {
        self.ready.store(false, Ordering::Relaxed);
    }
}
