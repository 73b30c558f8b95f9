//! Shared pieces of the [rampart] middleware crates.
//!
//! Every rampart layer answers some requests itself (a timeout, a rejection, a caught panic).
//! This crate is the one place those answers are built, so they all look alike:
//!
//! - [`Problem`]: an RFC 9457 `application/problem+json` response, with `Cache-Control: no-store`
//!   so no cache keeps a synthetic error.
//! - [`ResponseBody`]: the body type of a layer that either passes the inner body through or
//!   answers with its own bytes, without boxing.
//! - [`MetricsRecorder`]: where a layer records its `rampart_*` metrics: the process-wide
//!   `metrics` recorder by default, or one the application hands in (two stacks in one process,
//!   as tests build them, then never share a registry).
//! - [`route_label`] and [`RouteTable`]: the route template of a request (axum's `MatchedPath`)
//!   and per-route settings keyed by it, so metric labels and per-route policies never depend on
//!   the raw path a client chose.
//!
//! - [`address`]: CIDR blocks and the canonical form of a client address, shared by the rate
//!   limiter's client key and the server's per-address connection share.
//! - [`codes`]: the `code` of every answer a rampart layer makes, and
//!   [`whole_seconds_up`], the one rounding of a wait into `Retry-After` and `RateLimit` seconds.
//! - [`ConfigError`]: a configuration that cannot be used, naming the field at fault
//!   (`routes."/x".breaker.window`), returned by every crate's `try_` constructors and config
//!   validation.
//! - [`names`]: the name of every metric rampart records, and the scheme they follow.
//! - [`deadline`] and [`coding`]: contracts between layers, as types: the request's deadline
//!   (timeout → cache), and the content codings an encoder offers (compression → cache).
//! - [`shed`]: an answer a layer made to shed load, which a breaker above does not judge the
//!   service by (concurrency limit → breaker).
//! - [`upgrade`]: how a layer learns when an upgraded connection (a WebSocket) closes.
//! - [`gate`], [`outage`] and (feature `redis`) `redis_link`: how the Redis tiers stop waiting
//!   on a Redis that is down, say so once, and heal a connection that died silently. Feature
//!   `redis-tls` adds `rediss://` URLs: TLS through rustls with its `ring` provider, trusting
//!   the system's roots or, where `SSL_CERT_FILE` names a file, the CAs in it (redis-rs reads
//!   them through rustls-native-certs). A binary that also builds rustls with `aws-lc-rs` must
//!   install one provider as the process default, as rustls asks.
//!
//! [rampart]: https://docs.rs/rampart

pub mod address;
mod body;
pub mod codes;
pub mod coding;
mod config_error;
pub mod deadline;
pub mod gate;
pub mod names;
pub mod outage;
mod problem;
mod recorder;
#[cfg(feature = "redis")]
pub mod redis_link;
mod route;
mod route_counters;
mod seconds;
pub mod semconv;
pub mod shed;
pub mod upgrade;

#[doc(inline)]
pub use body::ResponseBody;
#[doc(inline)]
pub use config_error::ConfigError;
#[doc(inline)]
pub use problem::{PROBLEM_JSON, Problem};
#[doc(inline)]
pub use recorder::MetricsRecorder;
#[doc(inline)]
pub use route::{RouteTable, UNMATCHED_ROUTE, route_label};
#[doc(inline)]
pub use route_counters::RouteCounters;
#[doc(inline)]
pub use seconds::whole_seconds_up;

/// `get_ref`, `get_mut` and `into_inner` for a layer's service whose wrapped service is its
/// `inner` field, as tower-http's services have them. Used inside `impl<S> Service<S> { }`.
#[doc(hidden)]
#[macro_export]
macro_rules! inner_service_accessors {
    () => {
        /// The wrapped service.
        pub const fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The wrapped service, mutably.
        pub const fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// The wrapped service, unwrapped.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}
