//! The rampart example server: an axum application with every rampart layer in front of it.
//!
//! Run it with `cargo run --release -p example-server -- [--config FILE] [--listen ADDR]`.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /api/hello` | `hello, world` |
//! | `GET /api/items/{id}` | an item as JSON, cacheable for 30 s, with an `ETag`; 400 for a non-numeric id |
//! | `GET /api/report` | about 64 KiB of JSON, cacheable for 60 s |
//! | `GET /api/slow?ms=N` | sleeps N ms (the default 1 s deadline turns 1500 into a 504) |
//! | `GET /api/stream` | four lines of text, streamed 100 ms apart |
//! | `GET /api/upstream` | calls a simulated dependency; 502 when it fails |
//! | `GET /api/work` | one query on a simulated database: a pool of 8 connections, 10 ms each (800/s), under an adaptive concurrency limit |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /health/live`, `GET /health/ready` | liveness; readiness (503 while draining) |
//! | `GET, POST /admin/chaos` | the dependency's `fail_percent` and `latency_ms`, the database's `pool_size` and `query_ms` (bearer token) |
//!
//! The library half exists so that the black-box tests in `tests/` can start the same server
//! on a free port in-process; [`start`] is what they call.

mod access_log;
mod chaos;
pub mod config;
mod database;
mod report;
mod request_id;
mod routes;
mod server;
mod state;

pub use access_log::ACCESS_LOG;
pub use config::{LogFormat, ServerConfig, parse_ops_address};
pub use database::DatabaseSection;
pub use server::{RunningServer, app, handlers, serve, start};
