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
//!   request head that long after it opened is closed, protocol sniffing included; a
//!   keep-alive connection with nothing in flight that starts no request for one to two such
//!   periods (idle, or trickling its next head) is closed too.
//! - **A cap on open connections** that stays under the process's open-files limit (default:
//!   the soft limit minus [`RESERVED_FILES`] for Redis connections, logs and the like), so
//!   accept never fails with `EMFILE`.
//! - **Room for newcomers at the cap**: a new connection closes the one that has waited
//!   longest without sending its first request head. A client that sends its request at once
//!   (a health check, a scrape, any real client) gets in however many slow connections a flood
//!   holds; the flood's connections make room for each other. Only when every connection has
//!   sent a request do new ones wait in the kernel's backlog.
//! - **HTTP/2 limits**: 256 concurrent streams per connection, and keep-alive pings every 20 s
//!   (a peer that does not answer within 20 s is dropped). hyper's protections against rapid
//!   resets stay on.
//! - **A graceful shutdown that ends**: when `shutdown` completes, the listener closes, idle
//!   connections close, requests in flight finish, and after the grace period (30 s) whatever
//!   is left is dropped. A half-sent request is dropped at its header-read timeout.
//!
//! Every request carries `ConnectInfo<SocketAddr>` in its extensions, as
//! `into_make_service_with_connect_info` gives it, so per-client rate limits work.
//!
//! hyper-util already has the connection builder and the graceful-shutdown watcher; what it
//! does not have (and this crate adds) is the accept loop with a cap that makes room for
//! newcomers, a deadline on the first request head that covers protocol sniffing, and `EMFILE`
//! handling.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use rampart_server::Server;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let app = Router::new().route("/", get(|| async { "hello" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let server = Server::new()
//!     .header_read_timeout(Duration::from_secs(5))
//!     .max_connections(1_000)
//!     .http2_max_concurrent_streams(128)
//!     .http2_keep_alive(Duration::from_secs(30))
//!     .shutdown_grace(Duration::from_secs(10));
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
mod connection;
mod limits;
mod signal;
mod slotted;
mod waiting;

use std::time::Duration;

pub use limits::RESERVED_FILES;
pub use signal::shutdown_signal;

/// How a server accepts and serves connections; [`Server::serve`] runs it.
#[derive(Debug, Clone)]
#[must_use]
pub struct Server {
    header_read_timeout: Duration,
    max_connections: usize,
    http2_max_concurrent_streams: u32,
    http2_keep_alive: Duration,
    shutdown_grace: Duration,
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
            max_connections: limits::default_max_connections(),
            http2_max_concurrent_streams: 256,
            http2_keep_alive: Duration::from_secs(20),
            shutdown_grace: Duration::from_secs(30),
        }
    }

    /// How long a new connection may take to send its first request head, and how often a
    /// keep-alive connection with nothing in flight must start a request (default 10 s;
    /// nginx's `client_header_timeout` is 60 s, its `keepalive_timeout` 75 s).
    pub const fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Connections open at once (default: the open-files limit minus [`RESERVED_FILES`]; at
    /// least 1).
    pub const fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = if max == 0 { 1 } else { max };
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
}
