//! Quotas shared by every instance of a service: GCRA evaluated atomically inside Redis.
//!
//! Each decision is one server-side script over one key, so it is atomic and cluster-safe
//! (the whole key is a hash tag). The script reads Redis's own clock (`TIME`), so instances
//! with skewed clocks still share one timeline. It is loaded once and called by its SHA1;
//! after a `NOSCRIPT` (a restarted or failed-over Redis) it is loaded again.
//!
//! The client is `redis` (redis-rs) with its `ConnectionManager`, through
//! [`RedisLink`]: one multiplexed connection that pipelines concurrent requests (so decisions
//! under load share round trips), behind a gate that stops waiting on a Redis that is down and
//! probes for its return, with TCP keepalive and a fresh connection when the old one went
//! silent.

use rampart_core::ConfigError;

use crate::{DEFAULT_REDIS_DEADLINE, DEFAULT_REDIS_PREFIX};
use rampart_core::redis_link::RedisLink;
use redis::Script;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::gcra::Decision;
use crate::{BackendUnavailable, FailMode, Key};

/// GCRA on one key. ARGV: interval and burst span in microseconds. Returns
/// `{1, remaining, reset_us}` when admitted, `{0, retry_after_us, reset_us}` when refused.
/// The key expires when its quota is whole again, so Redis holds only active clients.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local ahead = tat + interval - now
if ahead <= span then
  redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(ahead / 1000))
  return {1, math.floor((span - ahead) / interval), ahead}
end
return {0, ahead - span, tat - now}
";

/// Gives back one interval granted to a request that another policy refused.
const REFUND: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat and tat - tonumber(ARGV[1]) > now then
  redis.call('SET', KEYS[1], tat - tonumber(ARGV[1]), 'KEEPTTL')
end
return 0
";

/// A Redis server (or cluster entry point) holding shared quotas.
///
/// # Example
///
/// ```no_run
/// use rampart_ratelimit::{FailMode, RedisBackend};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let backend = RedisBackend::try_new("redis://127.0.0.1:6379/")
///     .unwrap()
///     .deadline(Duration::from_millis(20))
///     .fail_mode(FailMode::Open)
///     .prefix("shop");
/// # }
/// ```
#[derive(Clone)]
pub struct RedisBackend {
    inner: Arc<Inner>,
}

struct Inner {
    link: RedisLink,
    gcra: Script,
    refund: Script,
    prefix: Box<str>,
    deadline: Duration,
    fail_mode: FailMode,
}

impl RedisBackend {
    /// A backend for `url` (`redis://host:port/db`). Connects lazily and reconnects by itself,
    /// so a Redis that is down at start-up is not an error; needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `url` when it is not a Redis URL.
    pub fn try_new(url: &str) -> Result<Self, ConfigError> {
        let link = RedisLink::new(url, "rate limit backend", "deciding without it")
            .map_err(|error| ConfigError::new("url", error.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                link,
                gcra: Script::new(GCRA),
                refund: Script::new(REFUND),
                prefix: DEFAULT_REDIS_PREFIX.into(),
                deadline: DEFAULT_REDIS_DEADLINE,
                fail_mode: FailMode::Open,
            }),
        })
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let inner = &self.inner;
        let mut next = Inner {
            link: inner.link.clone(),
            gcra: Script::new(GCRA),
            refund: Script::new(REFUND),
            prefix: inner.prefix.clone(),
            deadline: inner.deadline,
            fail_mode: inner.fail_mode,
        };
        change(&mut next);
        Self {
            inner: Arc::new(next),
        }
    }

    /// How long a decision may wait for Redis before the fail mode applies (default 50 ms).
    #[must_use]
    pub fn deadline(self, deadline: Duration) -> Self {
        self.rebuild(|inner| inner.deadline = deadline)
    }

    /// What happens when Redis is down or slow (default [`FailMode::Open`]).
    #[must_use]
    pub fn fail_mode(self, fail_mode: FailMode) -> Self {
        self.rebuild(|inner| inner.fail_mode = fail_mode)
    }

    /// Namespaces every key as `<prefix>:{<policy>:<key>}` (default `rampart:rl`).
    #[must_use]
    pub fn prefix(self, prefix: &str) -> Self {
        let prefix = prefix.into();
        self.rebuild(|inner| inner.prefix = prefix)
    }

    pub(crate) fn fail_mode_value(&self) -> FailMode {
        self.inner.fail_mode
    }

    /// The Redis key of `key` under `policy`: the braces make the whole name the hash tag, so
    /// each key lives on one cluster slot and keys spread over all of them.
    pub(crate) fn redis_key(&self, policy: &str, key: &Key) -> String {
        format!("{}:{{{policy}:{key}}}", self.inner.prefix)
    }

    /// One GCRA decision in Redis, bounded by the deadline.
    pub(crate) async fn decide(
        &self,
        redis_key: &str,
        interval_us: u64,
        burst: u64,
    ) -> Result<Decision, BackendUnavailable> {
        let inner = &self.inner;
        // Built inside: a call the gate holds back costs nothing.
        let (allowed, value, reset) = inner
            .link
            .call(inner.deadline, |mut connection| async move {
                let mut invocation = inner.gcra.key(redis_key);
                invocation
                    .arg(interval_us)
                    .arg(interval_us.saturating_mul(burst));
                invocation
                    .invoke_async::<(u8, u64, u64)>(&mut connection)
                    .await
            })
            .await
            .map_err(BackendUnavailable)?;
        let micros = |us: u64| us.saturating_mul(1_000);
        Ok(if allowed == 1 {
            Decision::Allow {
                tat: 0,
                remaining: value,
                reset: micros(reset),
            }
        } else {
            Decision::Deny {
                retry_after: micros(value),
                reset: micros(reset),
            }
        })
    }

    /// Gives back one interval on `redis_key`; best effort, within the deadline.
    pub(crate) async fn refund(&self, redis_key: &str, interval_us: u64) {
        let inner = &self.inner;
        let _ = inner
            .link
            .call(inner.deadline, |mut connection| async move {
                let mut invocation = inner.refund.key(redis_key);
                invocation.arg(interval_us);
                invocation.invoke_async::<i64>(&mut connection).await
            })
            .await;
    }
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("prefix", &self.inner.prefix)
            .field("deadline", &self.inner.deadline)
            .field("fail_mode", &self.inner.fail_mode)
            .finish_non_exhaustive()
    }
}
