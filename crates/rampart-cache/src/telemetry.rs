use metrics::{Counter, Gauge, Unit};
use rampart_core::MetricsRecorder;

/// `rampart_cache_requests_total`, by `result`.
pub(crate) const REQUESTS: &str = "rampart_cache_requests_total";
/// `rampart_cache_size_bytes`: bytes held by the local tier (as weighed).
pub(crate) const SIZE: &str = "rampart_cache_size_bytes";
/// `rampart_cache_entries`: entries in the local tier (variant markers included).
pub(crate) const ENTRIES: &str = "rampart_cache_entries";
/// `rampart_cache_evictions_total`, by `reason` (`size`, `expired`).
pub(crate) const EVICTIONS: &str = "rampart_cache_evictions_total";
/// `rampart_cache_redis_errors_total`: Redis operations that failed, missed their deadline, or
/// were not tried because Redis failed the ones before.
#[cfg(feature = "redis")]
pub(crate) const REDIS_ERRORS: &str = "rampart_cache_redis_errors_total";
/// `rampart_cache_redis_evictions_total`: entries this instance's writes evicted from the
/// shared tier to stay within its budget in Redis.
#[cfg(feature = "redis")]
pub(crate) const REDIS_EVICTIONS: &str = "rampart_cache_redis_evictions_total";

/// What the cache records; handles made once.
#[derive(Debug)]
pub(crate) struct Telemetry {
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

impl Telemetry {
    pub(crate) fn new(recorder: &MetricsRecorder) -> Self {
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
        let result = |name: &str| recorder.counter(REQUESTS, &[("result", name.to_owned())]);
        let reason = |name: &str| recorder.counter(EVICTIONS, &[("reason", name.to_owned())]);
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
