use hashbrown::HashMap;
use rampart_core::MetricsRecorder;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use tokio::time::Instant;

use crate::breaker::{Breaker, BreakerSnapshot};
use crate::telemetry::BreakerTelemetry;
use crate::{BreakerConfig, ForcedState};

/// The name of the breaker that keys beyond the cap share.
pub const OVERFLOW_BREAKER: &str = "_overflow";

/// Every breaker a layer has made, by name: the handle for an admin read-out and for forcing
/// states.
///
/// Breakers are made on first use. Keyed scopes (per host, per header value) are capped, by
/// default at 1 000 breakers: keys beyond the cap share one breaker named
/// [`OVERFLOW_BREAKER`], so a client inventing keys cannot grow memory or metric series.
///
/// # Example
///
/// ```
/// use rampart_breaker::{BreakerConfig, CircuitBreakerLayer, ForcedState};
///
/// let layer = CircuitBreakerLayer::new(BreakerConfig::default());
/// let breakers = layer.breakers();
/// assert!(breakers.snapshot().is_empty()); // none has seen a call yet
/// assert!(!breakers.force("/api/upstream", ForcedState::ForcedOpen));
/// ```
#[derive(Clone)]
pub struct Breakers {
    inner: Arc<Registry>,
}

struct Registry {
    recorder: MetricsRecorder,
    max: usize,
    by_name: RwLock<HashMap<Box<str>, Arc<Breaker>>>,
}

impl Breakers {
    /// An empty registry recording into `recorder`.
    pub fn new(recorder: MetricsRecorder) -> Self {
        Self {
            inner: Arc::new(Registry {
                recorder,
                max: 1000,
                by_name: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// Caps the number of breakers at `max` (at least 1).
    #[must_use]
    pub fn with_max_breakers(self, max: usize) -> Self {
        Self {
            inner: Arc::new(Registry {
                recorder: self.inner.recorder.clone(),
                max: max.max(1),
                by_name: RwLock::new(HashMap::new()),
            }),
        }
    }

    pub(crate) fn get_or_create(&self, name: &str, config: &BreakerConfig) -> Arc<Breaker> {
        if let Some(breaker) = self.read().get(name) {
            return Arc::clone(breaker);
        }
        let mut by_name = self
            .inner
            .by_name
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if by_name.is_empty() {
            BreakerTelemetry::describe(&self.inner.recorder);
        }
        let name = if by_name.len() >= self.inner.max && !by_name.contains_key(name) {
            OVERFLOW_BREAKER
        } else {
            name
        };
        let breaker = by_name.entry(name.into()).or_insert_with(|| {
            let telemetry = BreakerTelemetry::new(&self.inner.recorder, name);
            Arc::new(Breaker::new(name.into(), config.clone(), telemetry))
        });
        Arc::clone(breaker)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Box<str>, Arc<Breaker>>> {
        self.inner
            .by_name
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every breaker's state and window figures, by name.
    pub fn snapshot(&self) -> Vec<BreakerSnapshot> {
        let now = Instant::now();
        let mut snapshots: Vec<_> = self
            .read()
            .values()
            .map(|breaker| breaker.snapshot(now))
            .collect();
        snapshots.sort_by(|a, b| a.name.cmp(&b.name));
        snapshots
    }

    /// Forces the breaker `name` into `state`. False when no breaker of that name exists yet.
    pub fn force(&self, name: &str, state: ForcedState) -> bool {
        let Some(breaker) = self.read().get(name).cloned() else {
            return false;
        };
        breaker.force(state);
        true
    }
}

impl fmt::Debug for Breakers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breakers")
            .field("breakers", &self.read().len())
            .finish_non_exhaustive()
    }
}
