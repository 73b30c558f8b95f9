//! The connection the Redis tiers (shared quotas, the shared cache) call Redis through, made
//! to survive Redis being down, hung or silently gone.
//!
//! redis-rs's `ConnectionManager` is the client: one multiplexed connection that pipelines
//! concurrent calls and reconnects by itself after an I/O error. Three gaps remain, and this
//! type closes them:
//!
//! - **An outage costs every call its deadline.** Calls go through a [`Gate`]: after
//!   [`TRIP_AFTER`] failures or missed deadlines in a row, calls fall back at once, and one
//!   probe per [`COOL_DOWN`] finds out when Redis is back.
//! - **A connection that dies silently is never replaced.** The manager reconnects only on an
//!   error it sees; a call cancelled at its deadline shows it none, so a peer that vanished
//!   (a NAT entry expired, no RST) keeps every call waiting for good. When the gate opens, the
//!   connection is replaced by a fresh one, which the probe then tries.
//! - **The kernel does not notice either.** Every socket gets TCP keepalive and
//!   `TCP_USER_TIMEOUT` (Linux), so the kernel itself drops a dead connection within about
//!   [`DEAD_AFTER`] and redis-rs reconnects, idle or busy; and `TCP_NODELAY`, since every call is
//!   a small request waiting for a small answer.
//!
//! # Example
//!
//! ```no_run
//! use rampart_core::redis_link::RedisLink;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let link = RedisLink::new("redis://127.0.0.1:6379/", "example tier", "carrying on without it")
//!     .expect("a Redis URL");
//! let pong: Result<String, _> = link
//!     .call(Duration::from_millis(50), |mut connection| async move {
//!         redis::cmd("PING").query_async(&mut connection).await
//!     })
//!     .await;
//! # }
//! ```

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::{TcpSettings, socket2::TcpKeepalive};
use redis::{Client, IntoConnectionInfo, RedisResult};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::gate::{Attempt, Gate, Transition};
use crate::outage::OutageLog;

/// Failures or missed deadlines in a row after which calls stop trying for a cool-down.
pub const TRIP_AFTER: u32 = 3;

/// How long calls fall back without trying before one probes; sharing resumes at most this
/// long (plus one deadline) after Redis returns.
pub const COOL_DOWN: Duration = Duration::from_secs(1);

/// About how long the kernel takes to drop a connection whose peer stopped answering.
pub const DEAD_AFTER: Duration = Duration::from_secs(10);

/// A gated, self-healing connection to one Redis server.
#[derive(Clone)]
pub struct RedisLink {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    connection: Mutex<ConnectionManager>,
    gate: Gate,
    outage: OutageLog,
}

pub use crate::gate::Unavailable;

impl RedisLink {
    /// A link to `url` (`redis://host:port/db`). Connects lazily and reconnects by itself, so
    /// a Redis that is down at start-up is not an error; needs a tokio runtime. `subject` and
    /// `fallback` name the dependency and what happens without it in the outage log
    /// ("shared cache tier", "serving from the local tier").
    ///
    /// # Errors
    ///
    /// When the URL is not a Redis URL.
    pub fn new(url: &str, subject: &'static str, fallback: &'static str) -> RedisResult<Self> {
        let info = url.into_connection_info()?.set_tcp_settings(tcp_settings());
        let client = Client::open(info)?;
        let connection = connect(&client)?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                connection: Mutex::new(connection),
                gate: Gate::new(TRIP_AFTER, COOL_DOWN),
                outage: OutageLog::new(subject, fallback),
            }),
        })
    }

    /// Checks `url` as [`RedisLink::new`] will take it, without connecting: the error names
    /// the field `url`. For configuration validation.
    ///
    /// # Errors
    ///
    /// When the URL is not a Redis URL this build can use (`rediss://` needs `redis-tls`).
    pub fn check_url(url: &str) -> Result<(), crate::ConfigError> {
        url.into_connection_info()
            .and_then(Client::open)
            .map(drop)
            .map_err(|error| crate::ConfigError::new("url", error.to_string()))
    }

    /// The client, for connections of their own (a pub/sub subscription); its sockets have
    /// the same keepalive settings.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Whether calls are being held back because Redis failed the calls before them.
    pub fn is_held_back(&self) -> bool {
        self.inner.gate.is_open()
    }

    /// Runs `operation` on the shared connection within `deadline`, unless the gate holds it
    /// back; its outcome teaches the gate.
    ///
    /// # Errors
    ///
    /// When the gate held the call back, or Redis failed it or missed the deadline.
    pub async fn call<T, F>(
        &self,
        deadline: Duration,
        operation: impl FnOnce(ConnectionManager) -> F,
    ) -> Result<T, Unavailable>
    where
        F: Future<Output = RedisResult<T>>,
    {
        let inner = &self.inner;
        let Some(attempt) = inner.gate.try_pass() else {
            inner.outage.fell_back();
            return Err(Unavailable::HeldBack);
        };
        let result = self.call_ungated(deadline, operation).await;
        self.report(attempt, result.as_ref().err());
        result
    }

    /// Runs `operation` within `deadline` whatever the gate says, for the rare call that must
    /// try (an administrator's purge); its outcome teaches the gate nothing.
    ///
    /// # Errors
    ///
    /// When Redis failed the call or missed the deadline.
    pub async fn call_ungated<T, F>(
        &self,
        deadline: Duration,
        operation: impl FnOnce(ConnectionManager) -> F,
    ) -> Result<T, Unavailable>
    where
        F: Future<Output = RedisResult<T>>,
    {
        match tokio::time::timeout(deadline, operation(self.connection())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Unavailable::Failed(error.to_string())),
            Err(_) => Err(Unavailable::Late(deadline)),
        }
    }

    fn connection(&self) -> ConnectionManager {
        self.inner
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn report(&self, attempt: Attempt<'_>, error: Option<&Unavailable>) {
        let inner = &self.inner;
        let Some(error) = error else {
            if attempt.succeeded() == Transition::Closed {
                inner.outage.ended();
            }
            return;
        };
        inner.outage.fell_back();
        if attempt.failed() == Transition::Opened {
            inner.outage.began(error);
            self.reconnect();
        }
    }

    /// Replaces the connection: the old one may be silently dead, which redis-rs cannot see.
    fn reconnect(&self) {
        match connect(&self.inner.client) {
            Ok(fresh) => {
                *self
                    .inner
                    .connection
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = fresh;
            }
            Err(error) => tracing::debug!(%error, "redis reconnect not started"),
        }
    }
}

impl fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLink")
            .field("gate", &self.inner.gate)
            .finish_non_exhaustive()
    }
}

fn connect(client: &Client) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_secs(2));
    ConnectionManager::new_lazy_with_config(client.clone(), config)
}

/// Keepalive probes after 5 s idle, every 2 s, 3 unanswered drop the connection; unacknowledged
/// writes drop it after [`DEAD_AFTER`].
fn tcp_settings() -> TcpSettings {
    let keepalive = TcpKeepalive::new()
        .with_time(Duration::from_secs(5))
        .with_interval(Duration::from_secs(2));
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let keepalive = keepalive.with_retries(3);
    let settings = TcpSettings::default()
        .set_nodelay(true)
        .set_keepalive(keepalive);
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let settings = settings.set_user_timeout(DEAD_AFTER);
    settings
}
