//! What rampart's tests and benchmarks share, written once: a real `redis-server` started on a
//! free loopback port for one test ([`RedisServer`], with TLS if asked, its certificates made
//! by [`Certificates`]), reading a value out of a Prometheus text exposition ([`series`]), and
//! an example's binary run as a user would ([`start_listening`]), and every span a request made,
//! with its fields and events ([`SpanRecorder`]). Not published; a
//! dev-dependency only.

mod certificates;
mod listening;
mod prometheus_text;
mod redis_server;
mod span_recorder;

pub use certificates::Certificates;
pub use listening::start_listening;
pub use prometheus_text::{series, series_lines};
pub use redis_server::RedisServer;
pub use span_recorder::{RecordedSpan, SpanRecorder};
