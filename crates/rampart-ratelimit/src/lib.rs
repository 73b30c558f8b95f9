//! Keyed GCRA rate limiting: exact decisions, several policies at once, bounded memory.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use rampart_ratelimit::{ClientIp, KeySource, Policy, Quota, RateLimitLayer};
//!
//! let limits = RateLimitLayer::try_new(vec![
//!     Policy::new("per_ip", Quota::per_second(20), KeySource::ClientIp(ClientIp::default())),
//!     Policy::new("everyone", Quota::per_minute(5_000), KeySource::Global),
//! ])
//! .unwrap();
//! let app: Router = Router::new().route("/api", get(|| async { "ok" })).layer(limits);
//! ```
//!
//! - [`Quota`]: "N per period, burst B", with constructors that say what they mean.
//! - [`Policy`]: a named quota and its [`KeySource`]: global, the client address
//!   ([`ClientIp`]: trusted proxies and the one [`ClientIpHeader`] they set, chains walked from the right, IPv6 grouped by
//!   prefix), a header, a request extension, or a closure; and what to do when a request has no
//!   key ([`OnMissingKey`]).
//! - [`RateLimiter`]: one or more policies decided together. A request must pass all of them
//!   and, when one refuses, consumes nothing from the others.
//! - [`RateLimitLayer`]: the Tower layer. Over quota: `429 Too Many Requests`, RFC 9457
//!   problem+json (code `rate_limited`), `Retry-After` in whole seconds rounded up, the typed
//!   [`Limited`] in the response extensions. Every response of a limited route carries the
//!   `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-09.
//!   `rampart_ratelimit_requests_total{policy, outcome="allowed|limited|error"}` counts.
//!
//! - `RedisBackend` (feature `redis`): quotas shared by every instance, GCRA evaluated
//!   atomically in Redis, with a deadline and a [`FailMode`] for when Redis is down or slow.
//!
//! # Features
//!
//! - `redis` (off by default): `RedisBackend`, `RateLimiterBuilder::redis` and
//!   `RateLimitLayer::with_redis`. Without it the crate builds no Redis client (and none of the
//!   `url`/IDNA crates a Redis URL needs).
//! - `redis-tls` (off by default): `rediss://` URLs, TLS through rustls (see `rampart-core`'s
//!   `redis-tls` for the roots it trusts).
//!
//! # Why not governor
//!
//! governor's GCRA is the model for this one, but its keyed limiter can only *consume*: there is
//! no way to ask a second policy before committing the first, so "20/s per client and 5 000/min
//! for everyone" would charge the client's quota for requests the global quota refuses. Its
//! keyed store also grows until the application calls `retain_recent`, with no hard cap. Here
//! each policy keeps one atomic theoretical arrival time per key, updated by compare-and-swap,
//! refunded exactly when a later policy refuses, in a store with a hard cap on keys.

mod client_ip;
mod config;
mod defaults;
mod fail_mode;
mod future;
mod gcra;
mod headers;
mod key;
mod key_missing;
mod layer;
mod limiter;
mod policy;
mod policy_set;
mod preflight;
mod quota;
#[cfg(feature = "redis")]
mod redis_backend;
mod service;
mod store;

#[doc(inline)]
pub use client_ip::{Cidr, ClientIp, ClientIpHeader, InvalidCidr};
#[doc(inline)]
pub use config::{KeyConfig, MissingKeyConfig, PolicyConfig, RateLimitConfig, RedisConfig};
#[doc(inline)]
pub use defaults::*;
#[doc(inline)]
pub use fail_mode::{BackendUnavailable, FailMode};
#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use key::Key;
#[doc(inline)]
pub use key_missing::KeyMissing;
#[doc(inline)]
pub use layer::RateLimitLayer;
#[doc(inline)]
pub use limiter::{Allowance, DEFAULT_MAX_KEYS, Limited, RateLimiter, RateLimiterBuilder, Verdict};
#[doc(inline)]
pub use policy::{KeyFn, KeySource, OnMissingKey, Policy};
#[doc(inline)]
pub use policy_set::PolicySet;
#[doc(inline)]
pub use quota::Quota;
#[cfg(feature = "redis")]
#[doc(inline)]
pub use redis_backend::RedisBackend;
#[doc(inline)]
pub use service::RateLimit;
