use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use crate::BackendUnavailable;
use crate::gcra::{Decision, decide};
use crate::store::KeyedStore;
#[cfg(feature = "redis")]
use crate::{FailMode, RedisBackend};
use rampart_core::ConfigError;

use crate::{Key, Quota};

/// The default cap on keys tracked per policy.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// One or more quotas, each with its own per-key state, decided together: a request must pass
/// every policy, and consumes nothing from any of them when one refuses it.
///
/// # Example
///
/// ```
/// use rampart_ratelimit::{Key, Quota, RateLimiter};
/// use tokio::time::Instant;
///
/// let limiter = RateLimiter::builder()
///     .policy("per-client", Quota::per_second(20))
///     .policy("everyone", Quota::per_minute(5_000))
///     .build()
///     .unwrap();
/// let now = Instant::now();
/// let client = Key::text("203.0.113.9");
/// let allowed = limiter.check(&[client, Key::Global], now).unwrap();
/// assert_eq!(allowed.policy_index(), 0); // "per-client", the policy closest to refusing
/// assert_eq!(allowed.remaining(), 19);
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: Instant,
    policies: Box<[PolicyState]>,
    #[cfg(feature = "redis")]
    backend: Option<RedisBackend>,
}

#[derive(Debug)]
struct PolicyState {
    name: Box<str>,
    quota: Quota,
    interval: u64,
    burst: u64,
    store: KeyedStore,
}

/// Builds a [`RateLimiter`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RateLimiterBuilder {
    policies: Vec<(Box<str>, Quota)>,
    max_keys: Option<usize>,
    #[cfg(feature = "redis")]
    backend: Option<RedisBackend>,
}

impl RateLimiterBuilder {
    /// Adds a policy; requests are checked against policies in the order they were added.
    pub fn policy(mut self, name: impl Into<Box<str>>, quota: Quota) -> Self {
        self.policies.push((name.into(), quota));
        self
    }

    /// Caps the keys each policy tracks (default [`DEFAULT_MAX_KEYS`]).
    pub const fn max_keys(mut self, max: usize) -> Self {
        self.max_keys = Some(max);
        self
    }

    /// Keeps the quotas in Redis (feature `redis`), shared by every instance using the same server and prefix;
    /// this instance's own state is then the fallback when Redis fails (see [`FailMode`](crate::FailMode)).
    #[cfg(feature = "redis")]
    pub fn redis(mut self, backend: RedisBackend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The limiter.
    ///
    /// # Errors
    ///
    /// When a quota admits nothing, or there is no policy at all.
    pub fn build(self) -> Result<RateLimiter, ConfigError> {
        if self.policies.is_empty() {
            return Err(ConfigError::new(
                "policies",
                "a rate limiter needs at least one policy",
            ));
        }
        let max = self.max_keys.unwrap_or(DEFAULT_MAX_KEYS).max(1);
        let policies = self
            .policies
            .into_iter()
            .enumerate()
            .map(|(index, (name, quota))| {
                quota
                    .validate()
                    .map_err(|error| error.in_section(&format!("policies[{index}]")))?;
                Ok(PolicyState {
                    name,
                    interval: quota.interval_nanos(),
                    burst: u64::from(quota.burst()),
                    quota,
                    store: KeyedStore::new(max),
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(RateLimiter {
            inner: Arc::new(Inner {
                base: Instant::now(),
                policies,
                #[cfg(feature = "redis")]
                backend: self.backend,
            }),
        })
    }
}

/// An admitted request: what the policy closest to refusing has left.
///
/// It names the policy by its position (see [`RateLimiter::policies`]), so that admitting a
/// request copies no string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    policy: usize,
    quota: Quota,
    remaining: u64,
    reset: Duration,
}

impl Allowance {
    /// The policy's position among the limiter's policies.
    pub const fn policy_index(&self) -> usize {
        self.policy
    }

    /// Its quota.
    pub const fn quota(&self) -> Quota {
        self.quota
    }

    /// Requests it would still admit right now.
    pub const fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Time until its quota is whole again.
    pub const fn reset(&self) -> Duration {
        self.reset
    }
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    name: Box<str>,
    quota: Quota,
    retry_after: Duration,
    reset: Duration,
}

impl Limited {
    /// The policy that refused.
    pub fn policy(&self) -> &str {
        &self.name
    }

    /// Its quota.
    pub const fn quota(&self) -> Quota {
        self.quota
    }

    /// How long until the same request would pass every policy.
    pub const fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// Time until the refusing policy's quota is whole again.
    pub const fn reset(&self) -> Duration {
        self.reset
    }
}

impl fmt::Display for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limit `{}` ({}) exceeded", self.name, self.quota)
    }
}

impl std::error::Error for Limited {}

/// What the limiter says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Go ahead.
    Allowed(Allowance),
    /// Over a quota.
    Limited(Limited),
    /// Redis could not decide and the fail mode is [`FailMode::Closed`](crate::FailMode::Closed).
    Unavailable(BackendUnavailable),
    /// Redis could not decide and the fail mode is [`FailMode::Open`](crate::FailMode::Open): this instance decided
    /// with its own state. Counted as `outcome="error"`, answered as `decision` says.
    DecidedLocally {
        /// What this instance's own state said.
        decision: Result<Allowance, Limited>,
        /// Why Redis could not decide.
        error: BackendUnavailable,
    },
}

impl From<Result<Allowance, Limited>> for Verdict {
    fn from(result: Result<Allowance, Limited>) -> Self {
        match result {
            Ok(allowance) => Self::Allowed(allowance),
            Err(limited) => Self::Limited(limited),
        }
    }
}

impl RateLimiter {
    /// A builder with no policy yet.
    pub fn builder() -> RateLimiterBuilder {
        RateLimiterBuilder::default()
    }

    /// The same policies, with fresh state, kept in Redis through `backend`.
    #[cfg(feature = "redis")]
    pub(crate) fn in_redis(&self, backend: RedisBackend) -> Self {
        let policies = self
            .inner
            .policies
            .iter()
            .map(|policy| PolicyState {
                name: policy.name.clone(),
                quota: policy.quota,
                interval: policy.interval,
                burst: policy.burst,
                store: KeyedStore::new(policy.store.max()),
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                base: Instant::now(),
                policies,
                backend: Some(backend),
            }),
        }
    }

    fn nanos(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.inner.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Decides one request at `now`; `keys[i]` is its key for the `i`-th policy.
    ///
    /// # Errors
    ///
    /// [`Limited`] when a policy refuses; nothing was consumed from any policy then.
    ///
    /// # Panics
    ///
    /// When `keys` does not hold one key per policy: a programming error.
    pub fn check(&self, keys: &[Key], now: Instant) -> Result<Allowance, Limited> {
        let policies = &self.inner.policies;
        assert_eq!(keys.len(), policies.len(), "one key per policy");
        let now = self.nanos(now);
        let mut closest: Option<(usize, u64, u64)> = None;
        for (index, (policy, key)) in policies.iter().zip(keys).enumerate() {
            let decision = policy.store.update(key, now, |tat| {
                let decision = decide(tat, now, policy.interval, policy.burst);
                match decision {
                    Decision::Allow { tat, .. } => (Some(tat), decision),
                    Decision::Deny { .. } => (None, decision),
                }
            });
            match decision {
                Decision::Allow {
                    remaining, reset, ..
                } => {
                    if closest.is_none_or(|(_, least, _)| remaining < least) {
                        closest = Some((index, remaining, reset));
                    }
                }
                Decision::Deny { retry_after, reset } => {
                    self.refund(&keys[..index], now);
                    let retry_after = self.longest_wait(index, retry_after, keys, now);
                    return Err(self.limited(index, retry_after, reset));
                }
            }
        }
        Ok(self.allowance(closest))
    }

    /// Whether [`RateLimiter::check`] would admit a request with `keys` now, without
    /// consuming anything (this instance's state only).
    pub(crate) fn would_admit(&self, keys: &[Key], now: Instant) -> bool {
        let now = self.nanos(now);
        self.inner.policies.iter().zip(keys).all(|(policy, key)| {
            matches!(
                decide(policy.store.peek(key), now, policy.interval, policy.burst),
                Decision::Allow { .. }
            )
        })
    }

    /// The admission, described by the policy closest to refusing (`(index, remaining, reset)`).
    fn allowance(&self, closest: Option<(usize, u64, u64)>) -> Allowance {
        let (index, remaining, reset) = closest.unwrap_or((0, 0, 0));
        Allowance {
            policy: index,
            quota: self.inner.policies[index].quota,
            remaining,
            reset: Duration::from_nanos(reset),
        }
    }

    /// The refusal by policy `index`.
    fn limited(&self, index: usize, retry_after: u64, reset: u64) -> Limited {
        let policy = &self.inner.policies[index];
        Limited {
            name: policy.name.clone(),
            quota: policy.quota,
            retry_after: Duration::from_nanos(retry_after),
            reset: Duration::from_nanos(reset),
        }
    }

    /// Gives back what the first `keys.len()` policies granted to a request that a later one
    /// refused. TATs only grow by whole intervals while they are ahead of the clock, so taking
    /// one interval off undoes this request's share whatever others did meanwhile.
    fn refund(&self, keys: &[Key], now: u64) {
        for (policy, key) in self.inner.policies.iter().zip(keys) {
            policy.store.update(key, now, |tat| {
                (Some(tat.saturating_sub(policy.interval)), ())
            });
        }
    }

    /// The wait until every policy from `from` on would admit the request, not only the first
    /// one that refused.
    fn longest_wait(&self, from: usize, first: u64, keys: &[Key], now: u64) -> u64 {
        self.inner.policies[from + 1..]
            .iter()
            .zip(&keys[from + 1..])
            .map(|(policy, key)| {
                match decide(policy.store.peek(key), now, policy.interval, policy.burst) {
                    Decision::Deny { retry_after, .. } => retry_after,
                    Decision::Allow { .. } => 0,
                }
            })
            .fold(first, u64::max)
    }

    /// The Redis backend, if the quotas are shared.
    #[cfg(feature = "redis")]
    pub fn backend(&self) -> Option<&RedisBackend> {
        self.inner.backend.as_ref()
    }

    /// Whether the quotas are kept in Redis, shared with other instances.
    pub fn is_shared(&self) -> bool {
        #[cfg(feature = "redis")]
        return self.inner.backend.is_some();
        #[cfg(not(feature = "redis"))]
        false
    }

    /// Decides one request: in Redis when there is a backend, else locally.
    ///
    /// With Redis, every policy is decided in one pipelined round trip; when one refuses, what
    /// the others granted is given back. When Redis fails or misses its deadline, the
    /// backend's [`FailMode`](crate::FailMode) decides: this instance's own state, or
    /// [`Verdict::Unavailable`].
    pub async fn decide(&self, keys: &[Key]) -> Verdict {
        #[cfg(feature = "redis")]
        if let Some(backend) = &self.inner.backend {
            return self.decide_shared(backend, keys).await;
        }
        self.check(keys, Instant::now()).into()
    }

    #[cfg(feature = "redis")]
    async fn decide_shared(&self, backend: &RedisBackend, keys: &[Key]) -> Verdict {
        let policies = &self.inner.policies;
        assert_eq!(keys.len(), policies.len(), "one key per policy");
        let names: Vec<String> = policies
            .iter()
            .zip(keys)
            .map(|(policy, key)| backend.redis_key(&policy.name, key))
            .collect();
        let micros = |policy: &PolicyState| (policy.interval / 1_000).max(1);
        let decisions = futures_util::future::join_all(
            policies
                .iter()
                .zip(&names)
                .map(|(policy, name)| backend.decide(name, micros(policy), policy.burst)),
        )
        .await;
        let mut closest: Option<(usize, u64, u64)> = None;
        let mut refused: Option<(usize, u64, u64)> = None;
        for (index, decision) in decisions.iter().enumerate() {
            match decision {
                Err(error) => {
                    return match backend.fail_mode_value() {
                        FailMode::Open => Verdict::DecidedLocally {
                            decision: self.check(keys, Instant::now()),
                            error: error.clone(),
                        },
                        FailMode::Closed => Verdict::Unavailable(error.clone()),
                    };
                }
                Ok(Decision::Allow {
                    remaining, reset, ..
                }) => {
                    if closest.is_none_or(|(_, least, _)| *remaining < least) {
                        closest = Some((index, *remaining, *reset));
                    }
                }
                Ok(Decision::Deny { retry_after, reset }) => {
                    let longest = refused.map_or(0, |(_, wait, _)| wait);
                    let first = refused.map_or(index, |(first, _, _)| first);
                    refused = Some((first, (*retry_after).max(longest), *reset));
                }
            }
        }
        if let Some((index, retry_after, reset)) = refused {
            let refunds = decisions
                .iter()
                .zip(policies.iter().zip(&names))
                .filter(|(decision, _)| matches!(decision, Ok(Decision::Allow { .. })))
                .map(|(_, (policy, name))| backend.refund(name, micros(policy)));
            futures_util::future::join_all(refunds).await;
            return Verdict::Limited(self.limited(index, retry_after, reset));
        }
        Verdict::Allowed(self.allowance(closest))
    }

    /// Drops the state of keys that are whole again (it is as good as absent). Requests do
    /// this as they go, shard by shard, when new keys arrive; call it to reclaim a quiet
    /// limiter's keys at once.
    pub fn prune(&self, now: Instant) {
        let now = self.nanos(now);
        for policy in self.inner.policies.iter() {
            policy.store.prune(now);
        }
    }

    /// Keys tracked per policy, in policy order.
    pub fn tracked_keys(&self) -> Vec<usize> {
        self.inner.policies.iter().map(|p| p.store.len()).collect()
    }

    /// The policies' names and quotas, in order.
    pub fn policies(&self) -> impl Iterator<Item = (&str, Quota)> {
        self.inner.policies.iter().map(|p| (&*p.name, p.quota))
    }
}
