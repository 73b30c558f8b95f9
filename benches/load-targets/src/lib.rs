//! What `scripts/bench-load.sh` runs besides the example server, kept out of it so that the
//! reference server carries no benchmark hooks:
//!
//! - `bare-server`: the example's routes with no middleware at all, served by the same
//!   `rampart::server::Server` settings: the baseline every variant is compared with.
//! - `count-requests`: drives N requests through a router in-process, for callgrind.

use axum::Router;
use example_server::ServerConfig;

/// The example's routes with no middleware at all; `/metrics` answers an empty page, so that a
/// scrape of the baseline costs what serving a route costs.
pub fn bare(config: &ServerConfig) -> Router {
    example_server::handlers(config).route("/metrics", axum::routing::get(|| async { "" }))
}
