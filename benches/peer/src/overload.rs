//! The overload peers of `scripts/overload.sh`: the example's handlers (`/api/work` on its
//! simulated pool of 8 × 10 ms) behind the load shedding users assemble today, and nothing
//! else.

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::response::IntoResponse;
use http::StatusCode;
use std::time::Duration;
use tower::{BoxError, ServiceBuilder};
use tower_resilience::adaptive::{AdaptiveLimiterLayer, Aimd};

/// Which limiter stands in front of the handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shedder {
    /// tower's `ConcurrencyLimit` at this many calls + `LoadShed`: the fixed limit someone
    /// tuned by hand to the pool.
    Fixed(usize),
    /// tower-resilience's AIMD adaptive limiter + `LoadShed`: +1 per call answered within
    /// 30 ms (3x the unloaded query), halved on a slower one or an error, within `[1, 1000]`.
    Aimd,
}

/// The handlers behind `shedder`; a refused call is a `503`. With `RAMPART_ADMIN_TOKEN` set,
/// `/admin/chaos` is served too (behind the same limiter, which it does not query through).
///
/// # Panics
///
/// When the AIMD configuration is rejected (constants here).
pub fn app(shedder: Shedder) -> Router {
    // `/admin/chaos` too when RAMPART_ADMIN_TOKEN is set, for the capacity change mid-run.
    let mut config = example_server::ServerConfig::default();
    config.server.admin_token = std::env::var("RAMPART_ADMIN_TOKEN").ok();
    let handlers = example_server::handlers(&config);
    let refused = HandleErrorLayer::new(|_: BoxError| async {
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded").into_response()
    });
    match shedder {
        Shedder::Fixed(limit) => handlers.layer(
            ServiceBuilder::new()
                .layer(refused)
                .load_shed()
                .concurrency_limit(limit),
        ),
        Shedder::Aimd => {
            let aimd = Aimd::builder()
                .initial_limit(10)
                .min_limit(1)
                .max_limit(1000)
                .latency_threshold(Duration::from_millis(30))
                .build()
                .expect("a valid AIMD configuration");
            handlers.layer(
                ServiceBuilder::new()
                    .layer(refused)
                    .load_shed()
                    .layer(AdaptiveLimiterLayer::new(aimd)),
            )
        }
    }
}
