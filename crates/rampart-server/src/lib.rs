//! Serve an axum application with the limits `axum::serve` leaves out.
//!
//! `axum::serve` is the easy way to run a `Router`, and it is built for that: hyper runs with no
//! timer, so its header-read timeout never applies, and nothing caps the connections. One
//! client that sends a header byte every few seconds holds a connection for good; 1 500 of them
//! exhaust a process's 1 024 file descriptors (a systemd default), after which every new client,
//! health probes included, waits for as long as the attack lasts. A half-sent request holds a
//! graceful shutdown for its whole grace period.
//!
//! [`Server`] serves the same `Router` through hyper-util's connection builder (HTTP/1.1 and
//! HTTP/2 on one port, upgrades included), with:
//!
//! - **A header-read timeout** (10 s by default): a connection that has not sent a whole
//!   request head that long after it opened is closed, protocol sniffing included; so is a
//!   keep-alive connection whose next head has not completed one to two such periods after its
//!   first byte.
//! - **An idle timeout** (75 s): a keep-alive connection with nothing in flight and no next
//!   head started, above the 60 s a load balancer keeps an idle connection.
//! - **A minimum request-body rate** ([`MinDataRate`], 240 B/s after 5 s of waiting, as
//!   Kestrel): a body trickled slower is cut and the request answered `408`.
//! - **A cap on open connections** that stays under the process's open-files limit (default:
//!   the soft limit minus [`RESERVED_FILES`] for Redis connections, logs and the like), so
//!   accept never fails with `EMFILE`, and **a share per client address** (half the cap).
//! - **Room for newcomers at the cap**: a new connection closes a connection of the address
//!   that holds the most (one that has sent no head, else an idle one, else its oldest), so one
//!   address, or a dozen, cannot lock the others out by holding connections with slow heads,
//!   slow uploads or idle keep-alives; the flood's connections make room for each other.
//!   Trusted proxies ([`Server::trust_proxy`]) carry many clients: no share, and their busy
//!   connections are never taken.
//! - **HTTP/2 limits**: 256 concurrent streams per connection, and keep-alive pings every 20 s
//!   (a peer that does not answer within 20 s is dropped). hyper's protections against rapid
//!   resets stay on.
//! - **A graceful shutdown that ends**: when `shutdown` completes, the listener closes, idle
//!   connections close, requests in flight finish, and after the grace period (30 s) whatever
//!   is left is dropped. A half-sent request is dropped at its header-read timeout.
//!
//! What it refuses, closes to make room and cuts is counted ([`Server::with_recorder`]):
//! `rampart_server_connections_refused_total{reason}` (`address_share`, `capacity`),
//! `rampart_server_connections_evicted_total` and
//! `rampart_server_request_bodies_too_slow_total`.
//!
//! Every request carries `ConnectInfo<SocketAddr>` in its extensions, as
//! `into_make_service_with_connect_info` gives it, so per-client rate limits work.
//!
//! hyper-util already has the connection builder and the graceful-shutdown watcher; what it
//! does not have (and this crate adds) is the accept loop with a cap and per-address shares
//! that make room for newcomers, a deadline on the first request head that covers protocol
//! sniffing, an idle timeout apart from it, a minimum body rate, and `EMFILE` handling.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use rampart_server::{MinDataRate, Server};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let app = Router::new().route("/", get(|| async { "hello" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let server = Server::new()
//!     .header_read_timeout(Duration::from_secs(5))
//!     .idle_timeout(Duration::from_secs(90))
//!     .max_connections(1_000)
//!     .max_connections_per_address(100)
//!     .trust_proxy("10.0.0.0/8".parse().expect("a CIDR block"))
//!     .min_request_body_rate(Some(MinDataRate::new(1_024, Duration::from_secs(2))))
//!     .http2_max_concurrent_streams(128)
//!     .http2_keep_alive(Duration::from_secs(30))
//!     .shutdown_grace(Duration::from_secs(10))
//!     .with_recorder(rampart_core::MetricsRecorder::global());
//!
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let serving = tokio::spawn(server.serve(listener, app, async {
//!     let _ = stopped.await;
//! }));
//! let mut stream = tokio::net::TcpStream::connect(addr).await?;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! stream.write_all(b"GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").await?;
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("hello"));
//!
//! let _ = stop.send(());
//! serving.await.expect("the server task")?;
//! # Ok(())
//! # }
//! ```

mod accept;
mod activity;
mod body_rate;
mod connection;
mod limits;
mod registry;
mod signal;
mod slotted;
mod telemetry;
mod watchdog;

use rampart_core::MetricsRecorder;
use rampart_core::address::Cidr;
use std::time::Duration;

#[doc(inline)]
pub use body_rate::{MinDataRate, RequestBodyTooSlow};
pub use limits::RESERVED_FILES;
pub use signal::shutdown_signal;

/// How a server accepts and serves connections; [`Server::serve`] runs it.
#[derive(Debug, Clone)]
#[must_use]
pub struct Server {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    max_connections_per_address: Option<usize>,
    trusted_proxies: Vec<Cidr>,
    min_request_body_rate: Option<MinDataRate>,
    http2_max_concurrent_streams: u32,
    http2_keep_alive: Duration,
    shutdown_grace: Duration,
    recorder: MetricsRecorder,
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

impl Server {
    /// The defaults described in the [crate docs](crate).
    pub fn new() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: limits::default_max_connections(),
            max_connections_per_address: None,
            trusted_proxies: Vec::new(),
            min_request_body_rate: Some(MinDataRate::default()),
            http2_max_concurrent_streams: 256,
            http2_keep_alive: Duration::from_secs(20),
            shutdown_grace: Duration::from_secs(30),
            recorder: MetricsRecorder::global(),
        }
    }

    /// How long a request head may take: a new connection's first, from the connection, and a
    /// keep-alive connection's next, from its first byte (default 10 s; nginx's
    /// `client_header_timeout` is 60 s).
    pub const fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a keep-alive connection may stay open with nothing in flight and no next
    /// request started (default 75 s, nginx's `keepalive_timeout`: above the 60 s a load
    /// balancer such as AWS ALB keeps an idle connection, so the balancer always closes first
    /// and never sends a request on a connection the server is closing). Idle connections are
    /// the first closed at the cap, so a long idle timeout costs nothing under a flood.
    pub const fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Connections open at once (default: the open-files limit minus [`RESERVED_FILES`]; at
    /// least 1).
    pub const fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = if max == 0 { 1 } else { max };
        self
    }

    /// Connections one client address may hold at once (default: half of
    /// [`max_connections`](Self::max_connections), at least 1). An IPv6 client is its /64. A
    /// new connection from an address at its share closes one of that address's own
    /// connections that has not sent a request or is idle, or is refused (closed at once).
    /// Trusted proxies have no share.
    pub const fn max_connections_per_address(mut self, max: usize) -> Self {
        self.max_connections_per_address = Some(if max == 0 { 1 } else { max });
        self
    }

    /// Trusts `proxies` (the load balancers in front of the server): each of their
    /// connections carries many clients, so they have no per-address share and their
    /// connections with a request in flight are never closed to make room. Give the rate
    /// limiter's `client_ip.trusted_proxies` here too.
    pub fn trust_proxy(mut self, proxies: Cidr) -> Self {
        self.trusted_proxies.push(proxies);
        self
    }

    /// The slowest a client may send a request body the application waits for (default
    /// [`MinDataRate::default`], Kestrel's 240 bytes per second after 5 s; `None`: no minimum).
    /// A body below it ends with [`RequestBodyTooSlow`] and the request is answered `408`
    /// problem+json, code `request_body_too_slow`, with `Connection: close`.
    pub const fn min_request_body_rate(mut self, rate: Option<MinDataRate>) -> Self {
        self.min_request_body_rate = rate;
        self
    }

    /// Concurrent streams per HTTP/2 connection (default 256).
    pub const fn http2_max_concurrent_streams(mut self, max: u32) -> Self {
        self.http2_max_concurrent_streams = max;
        self
    }

    /// How often an HTTP/2 peer is pinged, and how long it has to answer (default 20 s).
    pub const fn http2_keep_alive(mut self, interval: Duration) -> Self {
        self.http2_keep_alive = interval;
        self
    }

    /// How long requests in flight may take to finish once shutdown begins (default 30 s).
    pub const fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Records the server's metrics (`rampart_server_*`: connections refused and closed to
    /// make room, bodies cut for their rate) into `recorder` (default: the global `metrics`
    /// recorder), e.g. the stack's Prometheus registry.
    pub fn with_recorder(mut self, recorder: MetricsRecorder) -> Self {
        self.recorder = recorder;
        self
    }

    fn per_address_share(&self) -> usize {
        self.max_connections_per_address
            .unwrap_or(self.max_connections / 2)
            .max(1)
    }
}
