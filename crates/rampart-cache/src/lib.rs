//! A shared HTTP response cache for Tower (RFC 9111): request coalescing, stale serving,
//! memory bounded in bytes, an optional Redis tier shared by every instance.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use rampart_cache::{CacheLayer, CacheRule};
//! use std::time::Duration;
//!
//! let cache = CacheLayer::builder()
//!     .route("/api/report", CacheRule::new().default_ttl(Duration::from_secs(60)))
//!     .build();
//! let purges = cache.handle(); // for an admin endpoint
//! let app: Router = Router::new()
//!     .route("/api/report", get(|| async { "a big report" }))
//!     .layer(cache);
//! ```
//!
//! # What it does
//!
//! - **Semantics** from the standard, through `http-cache-semantics` (a shared cache's
//!   storability, freshness from `s-maxage`/`max-age`/`Expires`/heuristics, `Age`, 304
//!   merging), plus what that crate does not read: request directives (`no-cache`, `no-store`,
//!   `max-age`, `max-stale`, `min-fresh`, `only-if-cached`), `stale-while-revalidate` and
//!   `stale-if-error` (RFC 5861). GET is stored, HEAD is answered from it.
//! - **Keys**: path, query (sorted, parameters ignored on request), host, and the route's key
//!   headers. **Variants** by `Vary`, one entry each; `Accept-Encoding` is reduced to the one
//!   coding the encoder below will use, so a URL has at most one variant per coding, and the
//!   encoder sees exactly what the variant was keyed on. Sitting above compression, the cache keeps the
//!   encoded bytes: a hit costs no compression.
//! - **Poisoning**: never stores `Set-Cookie` responses, responses to `Authorization`
//!   requests unless `public` or `s-maxage`, or `Vary: *`.
//! - **Conditional requests**: hits answer `If-None-Match`/`If-Modified-Since` with 304; stale
//!   entries with a validator are revalidated upstream, and a 304 refreshes them.
//! - **Coalescing**: concurrent misses for one variant make one origin request; the others
//!   wait (bounded) and share it. A leader that fails or is cancelled wakes them.
//! - **Stale serving**: within `stale-while-revalidate`, the stale entry answers at once and
//!   one background request refreshes it; within `stale-if-error`, it answers instead of a
//!   5xx, an error, an open circuit or the request deadline.
//! - **Streaming**: a miss answers as soon as the origin's headers arrive; its body streams to
//!   the client and is copied on the way, then stored if it ended within the entry limit
//!   without trailers or error. The copy is given up, never the client's stream.
//! - **Memory**: moka, weighed in bytes, TinyLFU admission; bodies declared larger than the
//!   entry limit stream through uncopied.
//! - **Headers**: `Age` and `Cache-Status` (RFC 9211) on every response the cache touches.
//! - **Invalidation** by key, path prefix, tag (`Cache-Tag`) or all, with [`CacheHandle`];
//!   unsafe methods invalidate their URI. With a `RedisTier`, purges reach every instance.
//! - **Metrics**: `rampart_cache_requests_total{result}`, `rampart_cache_size_bytes`,
//!   `rampart_cache_entries`, `rampart_cache_evictions_total{reason}`,
//!   and with Redis `rampart_cache_redis_errors_total`, `rampart_cache_redis_evictions_total`.
//!
//! # Features
//!
//! - `redis` (off by default): `RedisTier`, a shared tier behind the local one
//!   (`CacheLayerBuilder::shared_tier`), and purges announced to every instance. Without it the
//!   crate builds no Redis client.
//! - `redis-tls` (off by default): `rediss://` URLs, TLS through rustls (see `rampart-core`'s
//!   `redis-tls` for the roots it trusts).
//!
//! # Why not moka's `get_with` for coalescing
//!
//! moka can coalesce initialisations itself, but a dropped init future (a client that
//! disconnects) has been reported to leave the other callers waiting. Here a leader holds a
//! guard whose drop always wakes the followers, who then elect a new leader.

mod body;
mod clock;
mod conditional;
mod config;
mod copies;
mod defaults;
mod directives;
mod encoding;
mod entry;
mod fetch;
mod flight;
mod future;
mod handle;
mod key;
mod layer;
#[cfg(not(feature = "redis"))]
mod no_tier;
mod normalise;
mod purge;
mod range;
mod reason;
#[cfg(feature = "redis")]
mod redis_tier;
mod rule;
mod service;
mod status;
mod store;
mod storing;
mod targeted;
mod telemetry;

#[doc(inline)]
pub use body::CacheBody;
#[doc(inline)]
pub use config::{CacheConfig, CacheRedisConfig, RouteCacheConfig};
#[doc(inline)]
pub use defaults::*;
#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use handle::{CacheHandle, CacheUsage};
#[doc(inline)]
pub use layer::{CacheLayer, CacheLayerBuilder};
#[cfg(not(feature = "redis"))]
use no_tier::RedisTier;
#[doc(inline)]
pub use purge::{Purge, PurgeJob, PurgeReport, SharedTierError};
#[doc(inline)]
pub use reason::OnlyIfCachedMiss;
#[cfg(feature = "redis")]
#[doc(inline)]
pub use redis_tier::RedisTier;
#[doc(inline)]
pub use rule::CacheRule;
#[doc(inline)]
pub use service::Cache;
#[doc(inline)]
pub use status::CACHE_STATUS;
#[doc(inline)]
pub use targeted::{CDN_CACHE_CONTROL, RAMPART_CACHE_CONTROL};
