//! What rampart's tests and benchmarks share, written once: a real `redis-server` started on a
//! free loopback port for one test ([`RedisServer`]), and reading a value out of a Prometheus
//! text exposition ([`series`]). Not published; a dev-dependency only.

mod prometheus_text;
mod redis_server;

pub use prometheus_text::{series, series_lines};
pub use redis_server::RedisServer;
