//! Overload protection for Tower services: a concurrency limit that finds the capacity of the
//! resource behind a service by itself, from the latency of completed calls.
//!
//! When demand exceeds capacity, every request admitted past it only queues for the scarce
//! resource (a database pool, a CPU): latency climbs until everything times out, and goodput
//! collapses exactly when it matters. A fixed limit (tower's `ConcurrencyLimit` + `LoadShed`)
//! works when someone tunes it to the resource and the resource never changes; an adaptive
//! limit follows the resource.
//!
//! [`ConcurrencyLimitLayer`] admits as many calls at once as the limit allows and answers the
//! rest at once with `503` problem+json (`code: "overloaded"`) and `Retry-After`: it never
//! queues, so a refusal costs the client nothing but a retry, and the calls admitted keep the
//! latency of a resource that is not overloaded. A [`Limit`] is learned from latency
//! ([`GradientLimit`]) or fixed by hand.
//!
//! # Who gets the last slots
//!
//! Once several clients hold slots, the last quarter of a limit only admits a client that
//! holds none and is not asking again and again (refused 16 times lately), so clients in a
//! tight loop cannot take every slot that frees from one asking now and then; a client alone
//! still takes them all. A client is its address: `rampart_core::address::ClientAddress`
//! when the rate limiter resolved it, else the connection's peer (`ConnectInfo`).
//!
//! # Scopes and critical routes
//!
//! A [`Limit`] is one pool of slots. [`ConcurrencyLimitLayer::from_table`] gives each route
//! template a [`RouteLimit`]: its own limit (each route's capacity found separately), a limit
//! shared with the routes that use the same resource (every route that queries the database),
//! or none (never refused). A critical route (health checks, `/metrics`, admin) takes a slot
//! of its limit, so the other routes see the load it adds, but is never refused.
//!
//! # Dropped calls
//!
//! A call the request deadline drops (the `Deadline` extension of `rampart-timeout` has
//! passed) is congestion and makes the limit back off; a call whose client went away teaches
//! nothing; both return their slot at once. The slot is held until the response's head is
//! ready (the resource's work is done by then), not while its body streams to a slow client.
//!
//! # With a circuit breaker
//!
//! A refusal carries [`rampart_core::shed::Shed`] in its extensions: a `rampart-breaker` above
//! counts it neither as a failure nor as a success, since the service was never asked.
//!
//! # Configuration
//!
//! [`ConcurrencyConfig`] (`[concurrency]`: defaults, groups, `Retry-After`) and
//! [`RouteConcurrencyConfig`] (`[routes."/x".concurrency]`) are the serde form the `rampart`
//! facade loads from TOML; they build the [`Limit`]s and [`RouteLimit`]s above.
//!
//! # The algorithm: a latency gradient against the unloaded latency (Envoy's)
//!
//! The limiter first measures the resource's latency unloaded: the median of 50 calls. While
//! nobody is refused, demand is below the limit and, the limit tracking the resource, does
//! not queue for it: the calls it sees are unloaded ones, and the limit stays where it is (20
//! at the start). Once a call is refused, demand has reached the limit, calls queue, and the
//! measurement starts again with only `min` calls let in (3 by default). Then, every window
//! (100 ms), it compares the 90th percentile of the window's calls with that latency plus a
//! buffer (25 %): `gradient = min_rtt × 1.25 / p90`, kept within `[0.5, 2]`, and the limit
//! becomes `limit × gradient + √limit`, within `[min, max]`. Calls as fast as unloaded grow it
//! (the `√limit` headroom lets it probe for more), but only while demand comes near it (half
//! of it in flight at once): under light load it would otherwise climb to `max` and let the
//! next surge queue; calls slower than the buffer allows shrink it in proportion. A call the
//! deadline drops is congestion: the limit backs off by a tenth (and a measurement in
//! progress, whose calls were queueing, starts again at `min`). Every minute the unloaded
//! latency is measured again, so a resource that became slower or faster for good is
//! followed; under load that costs a fraction of a second at `min` calls, below it nothing.
//!
//! This is the gradient of Envoy's adaptive-concurrency filter. Netflix's Gradient2 compares
//! each sample with a long-term average of the samples instead of a measured unloaded latency;
//! under lasting overload that average climbs with the queue it is meant to detect (each
//! sample is the queue's, so the average follows it), and the limit with it: its only fixed
//! point is a limit that keeps growing. AIMD (tower-resilience) learns from a fixed latency
//! threshold someone must set, halving on any call over it and adding one per call under it;
//! Vegas needs the same minimum latency as this gradient and reacts to it with fixed steps.
//!
//! # What we measured
//!
//! `scripts/overload.sh` (`docs/benchmarks.md`, "Overload"): the example's `/api/work` on a
//! simulated pool of 8 connections × 10 ms, open-loop demand from 0.5x to 8x capacity. From 2x
//! to 8x, this limit kept 710–719 answers/s within 200 ms, as much as tower's
//! `ConcurrencyLimit` + `LoadShed` set by hand to exactly the pool (701–727/s) and 1.25x
//! tower-resilience's AIMD (570–575/s, its sawtooth idling the pool after each halving), with
//! a p99 of 23–24 ms for admitted calls against 60–64 ms for AIMD (unloaded: 13 ms); without a
//! limit, 16–139/s. When the pool halved mid-run the limit followed in 0.3 s. The fixed limit
//! keeps the unloaded latency (it admits exactly the pool) but only because it was told the
//! pool; this one runs at about 1.5x the pool (the 25 % buffer and the √limit probe), which
//! costs admitted calls 5–10 ms of queueing and is what lets it find a pool it was not told.

mod config;
mod fairness;
mod future;
mod gradient;
mod layer;
mod limit;
mod limiter;
mod rejection;
mod service;
mod telemetry;

pub use config::{ConcurrencyConfig, LimitConfig, RouteConcurrencyConfig};
pub use future::ResponseFuture;
pub use gradient::GradientLimit;
pub use layer::ConcurrencyLimitLayer;
pub use limit::{Limit, RouteLimit};
pub use rejection::Overloaded;
pub use service::ConcurrencyLimit;
