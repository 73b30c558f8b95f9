use metrics::{Counter, Gauge, Unit};
use rampart_core::MetricsRecorder;
use rampart_core::names::{
    CACHE_ENTRIES as ENTRIES, CACHE_EVICTIONS as EVICTIONS, CACHE_REQUESTS as REQUESTS,
    CACHE_SIZE as SIZE, REASON_LABEL, RESULT_LABEL,
};
#[cfg(feature = "redis")]
use rampart_core::names::{
    CACHE_REDIS_ERRORS as REDIS_ERRORS, CACHE_REDIS_EVICTIONS as REDIS_EVICTIONS,
};
use std::ops::Deref;
use std::sync::OnceLock;

/// What the cache records: its handles, registered on the recorder the layer was given the
/// first time the cache records anything, so building a layer records nothing anywhere (and a
/// global recorder installed after the router was built still gets the cache's metrics).
#[derive(Debug)]
pub(crate) struct Telemetry {
    recorder: MetricsRecorder,
    handles: OnceLock<Handles>,
}

impl Telemetry {
    pub(crate) const fn new(recorder: MetricsRecorder) -> Self {
        Self {
            recorder,
            handles: OnceLock::new(),
        }
    }
}

impl Deref for Telemetry {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        self.handles.get_or_init(|| Handles::new(&self.recorder))
    }
}

/// The handles, made once.
#[derive(Debug)]
pub(crate) struct Handles {
    /// Answered from a fresh entry (local or shared tier).
    pub(crate) hit: Counter,
    /// Answered from a stale entry (stale-while-revalidate, stale-if-error).
    pub(crate) stale: Counter,
    /// Went to the origin for a full response.
    pub(crate) miss: Counter,
    /// A stale entry refreshed by the origin's 304.
    pub(crate) revalidated: Counter,
    /// Not a request the cache handles (method, `no-store` ...).
    pub(crate) bypass: Counter,
    pub(crate) size: Gauge,
    pub(crate) entries: Gauge,
    pub(crate) evicted_for_size: Counter,
    pub(crate) expired: Counter,
    #[cfg(feature = "redis")]
    pub(crate) redis_errors: Counter,
    #[cfg(feature = "redis")]
    pub(crate) redis_evictions: Counter,
}

impl Handles {
    fn new(recorder: &MetricsRecorder) -> Self {
        recorder.describe_counter(
            REQUESTS,
            Unit::Count,
            "Requests seen by the response cache.",
        );
        recorder.describe_gauge(SIZE, Unit::Bytes, "Bytes held by the local cache tier.");
        recorder.describe_gauge(ENTRIES, Unit::Count, "Entries in the local cache tier.");
        recorder.describe_counter(
            EVICTIONS,
            Unit::Count,
            "Entries evicted from the local tier.",
        );
        #[cfg(feature = "redis")]
        recorder.describe_counter(REDIS_ERRORS, Unit::Count, "Failed shared-tier operations.");
        #[cfg(feature = "redis")]
        recorder.describe_counter(
            REDIS_EVICTIONS,
            Unit::Count,
            "Entries evicted from the shared tier to stay within its budget.",
        );
        let result = |name: &str| recorder.counter(REQUESTS, &[(RESULT_LABEL, name.to_owned())]);
        let reason = |name: &str| recorder.counter(EVICTIONS, &[(REASON_LABEL, name.to_owned())]);
        Self {
            hit: result("hit"),
            stale: result("stale"),
            miss: result("miss"),
            revalidated: result("revalidated"),
            bypass: result("bypass"),
            size: recorder.gauge(SIZE, &[]),
            entries: recorder.gauge(ENTRIES, &[]),
            evicted_for_size: reason("size"),
            expired: reason("expired"),
            #[cfg(feature = "redis")]
            redis_errors: recorder.counter(REDIS_ERRORS, &[]),
            #[cfg(feature = "redis")]
            redis_evictions: recorder.counter(REDIS_EVICTIONS, &[]),
        }
    }
}
