//! rampart: Tower middleware that makes any axum service fast and hard to knock over.
//!
//! A [`Stack`] puts every rampart layer in front of a router in one line, in one documented
//! order, with per-route policies and a TOML configuration:
//!
//! ```
//! use axum::{Router, routing::get};
//! use rampart::{RoutePolicy, Stack};
//! use std::time::Duration;
//!
//! let stack = Stack::builder()
//!     .timeout(Duration::from_secs(1))
//!     .route("/api/report", RoutePolicy::new().timeout(Duration::from_secs(10)))
//!     .build();
//!
//! let router = Router::new()
//!     .route("/api/hello", get(|| async { "hello, world" }))
//!     .route("/api/report", get(|| async { "a long report" }));
//! let metrics = stack.metrics_endpoint().expect("the stack's own registry");
//! let app = stack.apply(router).route_service("/metrics", metrics);
//! # let _: Router = app;
//! ```
//!
//! # The layers, outermost first
//!
//! | layer | crate | why it sits there |
//! |---|---|---|
//! | request span | [`trace`] | every decision below is an event inside it; continues the caller's W3C trace |
//! | request metrics | [`request_metrics`] | sees every answer, the stack's own included, and times it to the last body byte |
//! | catch panic | [`catch_panic`] | a panic anywhere inside becomes a 500 that metrics still records |
//! | timeout | [`timeout`] | bounds all the work below it, so a slow handler cannot hold a connection |
//! | rate limit | [`ratelimit`] | refuses excess before any work is done on it; on routes given policies |
//! | response cache | [`cache`] | answers repeats without the breaker or the handler; above compression, so it stores encoded bytes; on routes given a rule |
//! | circuit breaker | [`breaker`] | judges the handler's own outcomes, never a refusal of the layers above or the overload refusals below; on routes given one |
//! | concurrency limit | [`concurrency`] | right around the handler, where the scarce resource is: cache hits and requests refused above never take a slot; on routes given one |
//! | compression | [`compression`] | innermost, so that a cache placed above it stores encoded bytes |
//!
//! `docs/architecture.md` argues the order in full; [`StackLayer`] implements it.
//!
//! Each layer is also usable on its own with `Router::layer` or `Router::route_layer`; the
//! crates are re-exported here under names that shadow nothing a `use rampart::*` brings into
//! scope: [`common`] (`rampart-core`), [`request_metrics`] and [`catch_panic`] rather than
//! `core`, `metrics` and `panic`.
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `ratelimit` | on | the rate limiter: [`ratelimit`], `[ratelimit]`, a route's `ratelimit`, [`RoutePolicy::rate_limit`] |
//! | `cache` | on | the response cache: [`cache`], `[cache]`, a route's `cache`, [`RoutePolicy::cache`], [`Stack::cache`] |
//! | `breaker` | on | circuit breakers: [`breaker`], a route's `breaker`, [`RoutePolicy::breaker`], [`Stack::breakers`] |
//! | `redis` | on | `[ratelimit.redis]` and `[cache.redis]`: quotas and a cache tier shared by every instance |
//! | `redis-tls` | off | `rediss://` URLs: TLS through rustls (ring), trusting the system's roots or the CAs in the file `SSL_CERT_FILE` names |
//! | `br`, `deflate` | on | those content codings (gzip is always built) |
//! | `zstd` | on | the zstd coding; a C library built from source |
//! | `opentelemetry` | off | the request span joins the caller's trace in `tracing-opentelemetry` ([`trace`]) |
//! | `otlp` | off | also `trace::OtlpExport`: spans sent over OTLP/HTTP, set up by the `OTEL_*` variables |
//! | `toml` | on | [`StackConfig::from_toml_str`], `from_file` and [`config::from_toml_str`] |
//!
//! `default-features = false` keeps the metrics, panic, timeout, body-limit, concurrency and
//! compression layers and the serde configuration, without the rate limiter, the cache, the
//! breaker, Redis, TOML or codings beyond gzip. A layer left out is left out of the [`Stack`]'s
//! type too (no pass-through layer remains), and a build without it, or without `redis`, refuses
//! its section of the configuration by name ("turn on the `cache` Cargo feature") rather than
//! ignoring it: quotas that silently stop being kept are worse than a start-up error.
//!
//! Each layer crate has its own features (`rampart-ratelimit/redis`, `rampart-cache/redis`,
//! `rampart-compression/br` ...), so a service that wants one layer depends on that crate
//! alone: the local rate limiter builds 52 crates (see `docs/benchmarks.md`, "Build cost").
//!
//! # Answers the stack makes itself
//!
//! Every response a rampart layer makes on its own is an RFC 9457 `application/problem+json`
//! document built by [`common::Problem`], with a stable `code` member saying which layer answered
//! and why.

pub mod config;
pub mod fallback;
mod nest;
mod policy;
pub mod problem_format;
mod stack;

#[doc(inline)]
pub use config::{ConfigError, RouteConfig, RouteGroupConfig, StackConfig, TimeoutConfig};
#[doc(inline)]
pub use nest::nest_service;
#[doc(inline)]
pub use policy::RoutePolicy;
#[doc(inline)]
pub use problem_format::{ProblemFormat, ProblemFormatLayer};
#[cfg(feature = "cache")]
#[doc(no_inline)]
pub use rampart_cache::{CacheConfig, CacheRedisConfig, RouteCacheConfig};
#[doc(no_inline)]
pub use rampart_compression::CompressionConfig;
#[doc(no_inline)]
pub use rampart_metrics::MetricsConfig;
#[cfg(feature = "ratelimit")]
#[doc(no_inline)]
pub use rampart_ratelimit::{
    KeyConfig, MissingKeyConfig, PolicyConfig, RateLimitConfig, RedisConfig,
};
#[doc(inline)]
pub use stack::{Stack, StackBuilder, StackLayer, StackService};

#[cfg(feature = "breaker")]
pub use rampart_breaker as breaker;
#[cfg(feature = "cache")]
pub use rampart_cache as cache;
pub use rampart_compression as compression;
pub use rampart_concurrency as concurrency;
pub use rampart_core as common;
pub use rampart_limit as limit;
pub use rampart_metrics as request_metrics;
pub use rampart_panic as catch_panic;
#[cfg(feature = "ratelimit")]
pub use rampart_ratelimit as ratelimit;
pub use rampart_server as server;
pub use rampart_timeout as timeout;
pub use rampart_trace as trace;

/// Compiles and runs the Rust snippets of the README, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeSnippets;

/// Compiles and runs the Rust snippets of the guides in `docs/` too.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../../../docs/architecture.md")]
    struct Architecture;
    #[doc = include_str!("../../../docs/benchmarks.md")]
    struct Benchmarks;
    #[doc = include_str!("../../../docs/body-limit.md")]
    struct BodyLimit;
    #[doc = include_str!("../../../docs/breaker.md")]
    struct Breaker;
    #[doc = include_str!("../../../docs/cache.md")]
    struct Cache;
    #[doc = include_str!("../../../docs/compression.md")]
    struct Compression;
    #[doc = include_str!("../../../docs/concurrency.md")]
    struct Concurrency;
    #[doc = include_str!("../../../docs/metrics.md")]
    struct Metrics;
    #[doc = include_str!("../../../docs/ratelimit.md")]
    struct Ratelimit;
    #[doc = include_str!("../../../docs/reliability.md")]
    struct Reliability;
    #[doc = include_str!("../../../docs/server.md")]
    struct Server;
    #[doc = include_str!("../../../docs/timeout.md")]
    struct Timeout;
    #[doc = include_str!("../../../docs/tracing.md")]
    struct Tracing;
}
