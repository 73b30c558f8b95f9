//! The names of the metrics rampart records, in one place.
//!
//! The scheme:
//!
//! - HTTP server metrics follow the OpenTelemetry HTTP semantic conventions, written the way
//!   Prometheus spells them (`http.server.request.duration` in seconds becomes
//!   `http_server_request_duration_seconds`).
//! - rampart's own metrics are `rampart_<layer>_<what>[_<unit>]`: a counter ends in `_total`,
//!   a size in `_bytes`, a time in `_seconds`; a gauge is named for what it measures.
//! - A metric about requests carries the label `http_route` with the route template (or
//!   `unmatched`), never a raw path. Other labels are small closed sets (`outcome`, `result`,
//!   `policy`, `breaker`), documented next to the metric.

/// Histogram: time from the request reaching the layer to the end of the response body.
pub const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// Gauge: requests in flight (received, response body not yet finished).
pub const ACTIVE_REQUESTS: &str = "http_server_active_requests";
/// Histogram: request body size (`Content-Length`, or bytes read when the body is chunked).
pub const REQUEST_BODY_SIZE: &str = "http_server_request_body_size_bytes";
/// Histogram: response body size, as counted while streaming.
pub const RESPONSE_BODY_SIZE: &str = "http_server_response_body_size_bytes";
/// Counter: requests answered with 504 by the timeout layer. Label: `http_route`.
pub const TIMEOUTS: &str = "rampart_timeouts_total";
/// Counter: requests answered with 408 because the client sent none of the rest of the request
/// body for the body timeout. Label: `http_route`.
pub const REQUEST_BODY_TIMEOUTS: &str = "rampart_request_body_timeouts_total";
/// Gauge: upgraded connections (WebSockets) open now, by the route of their handshake. Needs a
/// server that keeps them (`rampart::server::Server`). Label: `http_route`.
pub const UPGRADED_CONNECTIONS: &str = "rampart_upgraded_connections";
/// Histogram: how long upgraded connections stayed open, in seconds, recorded when they close.
/// Label: `http_route`.
pub const UPGRADED_CONNECTION_DURATION: &str = "rampart_upgraded_connection_duration_seconds";
/// Counter: handler panics turned into 500 responses. Label: `http_route`.
pub const PANICS: &str = "rampart_panics_total";

/// Counter: requests by [`POLICY_LABEL`] and [`OUTCOME_LABEL`] (`allowed`, `limited`, `error`).
pub const RATELIMIT_REQUESTS: &str = "rampart_ratelimit_requests_total";
/// Counter: requests by [`POLICY_LABEL`] keyed on the policy's fallback because their own key
/// was missing: for a client-address policy, requests without `ConnectInfo` (every client then
/// shares one quota).
pub const RATELIMIT_KEY_FALLBACKS: &str = "rampart_ratelimit_key_fallbacks_total";

/// Counter: requests seen by the response cache, by [`RESULT_LABEL`] (`hit`, `stale`, `miss`,
/// `revalidated`, `bypass`).
pub const CACHE_REQUESTS: &str = "rampart_cache_requests_total";
/// Gauge: bytes held by the local cache tier (as weighed).
pub const CACHE_SIZE: &str = "rampart_cache_size_bytes";
/// Gauge: entries in the local cache tier (variant markers included).
pub const CACHE_ENTRIES: &str = "rampart_cache_entries";
/// Counter: entries evicted from the local tier, by [`REASON_LABEL`] (`size`, `expired`).
pub const CACHE_EVICTIONS: &str = "rampart_cache_evictions_total";
/// Counter: shared-tier (Redis) operations that failed, missed their deadline, or were not
/// tried because Redis failed the ones before.
pub const CACHE_REDIS_ERRORS: &str = "rampart_cache_redis_errors_total";
/// Counter: entries this instance's writes evicted from the shared tier to stay within its
/// budget in Redis.
pub const CACHE_REDIS_EVICTIONS: &str = "rampart_cache_redis_evictions_total";

/// Gauge: a breaker's state, 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled. Label:
/// [`BREAKER_LABEL`].
pub const BREAKER_STATE: &str = "rampart_breaker_state";
/// Counter: calls by [`OUTCOME_LABEL`] (`success`, `failure`, `slow`, `rejected`). Label:
/// [`BREAKER_LABEL`].
pub const BREAKER_CALLS: &str = "rampart_breaker_calls_total";
/// Counter: transitions by [`FROM_LABEL`] and [`TO_LABEL`] state. Label: [`BREAKER_LABEL`].
pub const BREAKER_TRANSITIONS: &str = "rampart_breaker_transitions_total";

/// Gauge: how many calls a concurrency limit lets in at once. Label: [`LIMITER_LABEL`].
pub const CONCURRENCY_LIMIT: &str = "rampart_concurrency_limit";
/// Gauge: how many calls are in flight under a concurrency limit. Label: [`LIMITER_LABEL`].
pub const CONCURRENCY_IN_FLIGHT: &str = "rampart_concurrency_in_flight";
/// Counter: calls by [`OUTCOME_LABEL`] (`admitted`, `refused`). Label: [`LIMITER_LABEL`].
pub const CONCURRENCY_REQUESTS: &str = "rampart_concurrency_requests_total";
/// Gauge: the unloaded latency an adaptive limit is judged against. Label: [`LIMITER_LABEL`].
pub const CONCURRENCY_MIN_RTT: &str = "rampart_concurrency_min_rtt_seconds";

/// Counter: new connections the server closed at once, by `reason`: `address_share` (the
/// address holds its share of the cap), `capacity` (at the cap, nothing to take for it).
pub const SERVER_CONNECTIONS_REFUSED: &str = "rampart_server_connections_refused_total";
/// Counter: connections the server closed to make room for a newcomer.
pub const SERVER_CONNECTIONS_EVICTED: &str = "rampart_server_connections_evicted_total";
/// Counter: requests whose body came slower than the minimum data rate (408).
pub const SERVER_REQUEST_BODIES_TOO_SLOW: &str = "rampart_server_request_bodies_too_slow_total";

/// Label: the HTTP method, or `_OTHER`.
pub const METHOD_LABEL: &str = "http_request_method";
/// Label: the route template, or `unmatched`.
pub const ROUTE_LABEL: &str = "http_route";
/// Label: the response status code.
pub const STATUS_LABEL: &str = "http_response_status_code";
/// Label: `http` or `https`, from the connection ([`crate::semconv::url_scheme`]).
pub const SCHEME_LABEL: &str = "url_scheme";
/// Label: the HTTP version, `1.1` or `2` say ([`crate::semconv::protocol_version`]).
pub const PROTOCOL_VERSION_LABEL: &str = "network_protocol_version";
/// Label: why a request failed ([`crate::semconv::ErrorType`]); only on failed requests.
pub const ERROR_TYPE_LABEL: &str = "error_type";
/// Label: `true` on the one series of a route that holds every label set past the route's
/// bound (OpenTelemetry's `otel.metric.overflow`; `rampart_metrics::RouteLabels::max_label_sets`).
pub const OVERFLOW_LABEL: &str = "otel_metric_overflow";
/// Label: a rate-limit policy's name.
pub const POLICY_LABEL: &str = "policy";
/// Label: what became of a call (values listed with each metric).
pub const OUTCOME_LABEL: &str = "outcome";
/// Label: how the cache answered.
pub const RESULT_LABEL: &str = "result";
/// Label: why an entry left the cache.
pub const REASON_LABEL: &str = "reason";
/// Label: a circuit breaker's name (its route template, or its scope's key).
pub const BREAKER_LABEL: &str = "breaker";
/// Label: the state a breaker left.
pub const FROM_LABEL: &str = "from";
/// Label: the state a breaker entered.
pub const TO_LABEL: &str = "to";
/// Label: a concurrency limit's name (its group, or its route template).
pub const LIMITER_LABEL: &str = "limiter";

/// Bucket bounds (seconds) of [`REQUEST_DURATION`]: OpenTelemetry's recommended bounds with
/// 1 ms and 2.5 ms added below, because a cached or rejected answer takes well under 5 ms, and
/// 200 ms, the latency objective of `deploy/prometheus/rampart.rules.yml` (a ratio of requests
/// under a bound is exact only at a bucket's edge).
pub const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
    10.0,
];

/// Bucket bounds (seconds) of [`UPGRADED_CONNECTION_DURATION`]: a WebSocket lives seconds to
/// hours, far past the request buckets.
pub const LIFETIME_BUCKETS: &[f64] = &[
    1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
];

/// Bucket bounds (bytes) of the body size histograms: powers of four from 64 B to 16 MiB.
pub const SIZE_BUCKETS: &[f64] = &[
    64.0,
    256.0,
    1024.0,
    4096.0,
    16_384.0,
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
];
