//! The shared tier: entries in Redis for every instance, purges announced on a channel.
//!
//! Layout, under a prefix (`rampart:cache` by default):
//!
//! - `<prefix>:e:<key>`: one slot (a response, or a resource's variant list), serialized with
//!   its metadata, expiring when the entry stops being useful (freshness + stale windows +
//!   revalidation grace).
//! - `<prefix>:tag:<tag>`: the entries tagged `<tag>`, for purges by tag: a sorted set of
//!   their ids (see `budget.rs`) scored by each entry's expiry (Redis time, ms). Each write
//!   drops the members that have expired and makes the set live exactly as long as its
//!   longest-lived entry, so a tag's set holds the entries that exist, not every URL ever
//!   tagged (with plain sets refreshed for 24 h on every write, 105 000 URLs took Redis from
//!   1 MB to 170 MB).
//! - `<prefix>:books:*`: the tier's books, so it stays within a byte and an entry budget of its
//!   own whatever else shares the server, and the way from an id back to its entry (see
//!   `budget.rs`).
//! - `<prefix>:purge`: the pub/sub channel on which every purge is announced. Each instance
//!   subscribes and applies what it hears to its local tier. An instance that loses its
//!   subscription cannot know what it missed, so it empties its local tier when it gets the
//!   subscription back.
//!
//! Every operation has a deadline and goes through a [`RedisLink`]: after a few failures in a
//! row the tier stops asking Redis for a cool-down, then probes. A failure, a missed deadline
//! or an operation held back counts in `rampart_cache_redis_errors_total`, and the request goes
//! on with the local tier alone.

use http::HeaderMap;
use rampart_core::ConfigError;
use rampart_core::redis_link::{RedisLink, Unavailable};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::entry::Stored;
use crate::key::variant_key;
use crate::layer::Shared;
use crate::store::Slot;
use crate::{
    DEFAULT_REDIS_DEADLINE, DEFAULT_REDIS_MAX_BYTES, DEFAULT_REDIS_MAX_ENTRIES,
    DEFAULT_REDIS_MAX_ENTRY_BYTES, DEFAULT_REDIS_PREFIX,
};
use budget::{Budget, weight};
use codec::{decode, encode};

mod budget;
mod codec;
mod purge;
mod subscription;

/// A Redis server holding the cache's shared tier.
///
/// # Example
///
/// ```no_run
/// use rampart_cache::{CacheLayer, RedisTier};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let tier = RedisTier::try_new("redis://127.0.0.1:6379/")
///     .unwrap()
///     .deadline(Duration::from_millis(20))
///     .max_entry_bytes(256 * 1024)
///     .max_bytes(512 * 1024 * 1024)
///     .max_entries(2_000_000)
///     .prefix("shop:cache");
/// let layer = CacheLayer::builder().shared_tier(tier).build();
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct RedisTier {
    link: RedisLink,
    prefix: Arc<str>,
    deadline: Duration,
    max_entry_bytes: usize,
    budget: Budget,
}

impl fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTier")
            .field("prefix", &self.prefix)
            .field("deadline", &self.deadline)
            .field("max_entry_bytes", &self.max_entry_bytes)
            .field("max_bytes", &self.budget.max_bytes)
            .field("max_entries", &self.budget.max_entries)
            .finish_non_exhaustive()
    }
}

impl RedisTier {
    /// A tier at `url` (`redis://host:port/db`). Connects lazily and reconnects by itself, so a
    /// Redis that is down at start-up is not an error; needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for `url` when it is not a Redis URL.
    pub fn try_new(url: &str) -> Result<Self, ConfigError> {
        let link = RedisLink::new(url, "shared cache tier", "serving from the local tier")
            .map_err(|error| ConfigError::new("url", error.to_string()))?;
        Ok(Self {
            link,
            prefix: Arc::from(DEFAULT_REDIS_PREFIX),
            deadline: DEFAULT_REDIS_DEADLINE,
            max_entry_bytes: DEFAULT_REDIS_MAX_ENTRY_BYTES,
            budget: Budget::new(DEFAULT_REDIS_MAX_BYTES, DEFAULT_REDIS_MAX_ENTRIES),
        })
    }

    /// The prefix of every key and of the channel (default `rampart:cache`). Instances share
    /// entries only when they share the prefix.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = Arc::from(prefix);
        self
    }

    /// How long a read or write may take before the cache goes on without it (default 50 ms).
    pub const fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Entries larger than this, serialized, stay in the local tier only (default 1 MiB).
    pub const fn max_entry_bytes(mut self, bytes: usize) -> Self {
        self.max_entry_bytes = bytes;
        self
    }

    /// What the tier may hold in Redis, weighed as Redis spends it: keys, values, its books
    /// and tag memberships (default 256 MiB). A write that needs room evicts the entries
    /// closest to their expiry. Keep it under the server's `maxmemory`, with room for whatever
    /// else the server holds, so a flood of distinct URLs never makes Redis refuse writes.
    pub const fn max_bytes(mut self, bytes: u64) -> Self {
        self.budget.max_bytes = bytes;
        self
    }

    /// How many entries the tier may hold in Redis (default 1 000 000).
    pub const fn max_entries(mut self, entries: u64) -> Self {
        self.budget.max_entries = entries;
        self
    }

    fn entry_key(&self, key: &str) -> String {
        format!("{}:e:{key}", self.prefix)
    }

    fn tag_key(&self, tag: &str) -> String {
        format!("{}{tag}", self.tag_sets())
    }

    fn tag_sets(&self) -> String {
        format!("{}:tag:", self.prefix)
    }

    /// The books' keys: the expiry index, the records (weight, tags, key), the sum.
    fn books(&self) -> [String; 3] {
        ["expiry", "entries", "used"].map(|book| format!("{}:books:{book}", self.prefix))
    }

    fn channel(&self) -> String {
        format!("{}:purge", self.prefix)
    }

    /// Runs `operation` within the deadline, unless Redis failed the operations before it;
    /// failures are counted (and logged once per outage by the link).
    async fn bounded<T, F>(
        &self,
        shared: &Shared,
        operation: impl FnOnce(ConnectionManager) -> F,
    ) -> Option<T>
    where
        F: Future<Output = RedisResult<T>>,
    {
        counted(shared, self.link.call(self.deadline, operation).await)
    }

    /// The response for `resource` and the variant `headers` select, with the slots that
    /// hold it (to copy into the local tier).
    pub(crate) async fn fetch(
        &self,
        resource: &str,
        headers: &HeaderMap,
        shared: &Shared,
    ) -> Option<(Arc<Stored>, Vec<(Arc<str>, Slot)>)> {
        match self.get(resource, shared).await? {
            Slot::Response(stored) => Some((
                Arc::clone(&stored),
                vec![(Arc::from(resource), Slot::Response(stored))],
            )),
            Slot::Variants(vary) => {
                let variant = variant_key(resource, &vary, headers);
                let Slot::Response(stored) = self.get(&variant, shared).await? else {
                    return None;
                };
                Some((
                    Arc::clone(&stored),
                    vec![
                        (Arc::from(resource), Slot::Variants(vary)),
                        (Arc::from(variant), Slot::Response(stored)),
                    ],
                ))
            }
        }
    }

    async fn get(&self, key: &str, shared: &Shared) -> Option<Slot> {
        let redis_key = self.entry_key(key);
        let bytes: Option<Vec<u8>> = self
            .bounded(shared, |mut connection| async move {
                connection.get(redis_key).await
            })
            .await?;
        decode(&bytes?, shared.clock.now())
    }

    /// Writes `slots` in the background; the request does not wait for Redis.
    pub(crate) fn put(&self, shared: &Arc<Shared>, slots: Vec<(Arc<str>, Slot)>, keep: Duration) {
        if self.link.is_held_back() {
            // The write would not be tried (the reads probe for Redis's return): spare the
            // encoding and the task.
            shared.telemetry.redis_errors.increment(1);
            return;
        }
        let encoded: Vec<Encoded> = slots
            .iter()
            .filter_map(|(key, slot)| {
                let tags = match slot {
                    Slot::Response(stored) => stored.tags.clone(),
                    Slot::Variants(_) => Box::default(),
                };
                Some(Encoded {
                    key: self.entry_key(key),
                    bytes: encode(slot)?,
                    tags,
                })
            })
            .collect();
        if encoded.len() != slots.len()
            || encoded
                .iter()
                .any(|slot| slot.bytes.len() > self.max_entry_bytes)
        {
            return;
        }
        let tier = self.clone();
        let shared = Arc::clone(shared);
        let millis = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX).max(1);
        tokio::spawn(async move {
            let books = tier.books();
            let tag_sets = tier.tag_sets();
            let budget = &tier.budget;
            let evicted = tier
                .bounded(&shared, |mut connection| async move {
                    let mut evicted = 0;
                    for slot in &encoded {
                        let mut store = budget.store.prepare_invoke();
                        store
                            .key(&slot.key)
                            .key(&books)
                            .arg(&slot.bytes)
                            .arg(millis)
                            .arg(weight(&slot.key, slot.bytes.len(), &slot.tags, &tag_sets))
                            .arg(budget.max_bytes)
                            .arg(budget.max_entries)
                            .arg(&tag_sets)
                            .arg(budget.headroom());
                        for tag in &slot.tags {
                            store.arg(&**tag);
                        }
                        let outcome: i64 = store.invoke_async(&mut connection).await?;
                        evicted += u64::try_from(outcome).unwrap_or(0);
                    }
                    Ok(evicted)
                })
                .await;
            shared
                .telemetry
                .redis_evictions
                .increment(evicted.unwrap_or(0));
        });
    }
}

/// The value of a Redis operation, or `None` counted as a Redis error.
fn counted<T>(shared: &Shared, result: Result<T, Unavailable>) -> Option<T> {
    if result.is_err() {
        shared.telemetry.redis_errors.increment(1);
    }
    result.ok()
}

/// One slot ready for Redis.
struct Encoded {
    key: String,
    bytes: Vec<u8>,
    tags: Box<[Box<str>]>,
}

/// `*`, `?`, `[`, `]` and `\` matched literally in a SCAN pattern.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_are_literal() {
        assert_eq!(glob_escape("/a*[b]?"), "/a\\*\\[b\\]\\?");
    }
}
