//! The `code` of every answer a rampart layer makes itself, in one place.
//!
//! A problem document's `status` says what kind of failure it is; `code` says which layer
//! answered and why, because two layers may answer with the same status (a `503` is an open
//! breaker, an overload refusal or a rate limit whose Redis is down). Clients, dashboards and
//! tests match on these strings; they never change meaning.
//!
//! # Example
//!
//! ```
//! use http::StatusCode;
//! use rampart_core::{Problem, codes};
//!
//! let problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED);
//! assert_eq!(problem.code(), "rate_limited");
//! assert!(codes::ALL.contains(&codes::OVERLOADED));
//! assert!(codes::CLIENT_CHOSEN.contains(&codes::CACHE_ONLY_IF_CACHED));
//! ```

/// `429`: a rate-limit policy refused the request (`rampart-ratelimit`).
pub const RATE_LIMITED: &str = "rate_limited";
/// `503`: the shared rate limit could not decide (Redis down or late) and fails closed.
pub const RATE_LIMIT_UNAVAILABLE: &str = "rate_limit_unavailable";
/// `400` or `401`: the request lacks the key a policy counts by (an API key header, say).
pub const RATE_LIMIT_KEY_MISSING: &str = "rate_limit_key_missing";
/// `503`: the circuit breaker of the route is open (`rampart-breaker`).
pub const CIRCUIT_OPEN: &str = "circuit_open";
/// `503`: the concurrency limit is full (`rampart-concurrency`).
pub const OVERLOADED: &str = "overloaded";
/// `504`: the request outlived its deadline (`rampart-timeout`).
pub const REQUEST_TIMEOUT: &str = "request_timeout";
/// `408`: the client stopped sending the request body (`rampart-timeout`).
pub const REQUEST_BODY_TIMEOUT: &str = "request_body_timeout";
/// `408`: the client sent the request body slower than the server's minimum data rate
/// (`rampart-server`).
pub const REQUEST_BODY_TOO_SLOW: &str = "request_body_too_slow";
/// `413`: the request body is over the route's limit (`rampart-limit`).
pub const BODY_TOO_LARGE: &str = "body_too_large";
/// `500`: a handler panicked (`rampart-panic`).
pub const INTERNAL_ERROR: &str = "internal_error";
/// `504`: `Cache-Control: only-if-cached` and nothing stored answers it (`rampart-cache`).
pub const CACHE_ONLY_IF_CACHED: &str = "cache_only_if_cached";
/// `404`: no route matches the path (the `Stack`'s fallback).
pub const NOT_FOUND: &str = "not_found";
/// `405`: the route exists, not for this method (the `Stack`'s fallback).
pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";

/// The codes of answers the client asked for: a 5xx among them (`only-if-cached` with nothing
/// stored is a `504` by RFC 9111) is not the server failing, so an availability SLO leaves it
/// out and a log writes it below WARN.
pub const CLIENT_CHOSEN: &[&str] = &[CACHE_ONLY_IF_CACHED];

/// Every code above.
pub const ALL: &[&str] = &[
    RATE_LIMITED,
    RATE_LIMIT_UNAVAILABLE,
    RATE_LIMIT_KEY_MISSING,
    CIRCUIT_OPEN,
    OVERLOADED,
    REQUEST_TIMEOUT,
    REQUEST_BODY_TIMEOUT,
    REQUEST_BODY_TOO_SLOW,
    BODY_TOO_LARGE,
    INTERNAL_ERROR,
    CACHE_ONLY_IF_CACHED,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
];
