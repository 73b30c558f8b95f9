//! The cache's defaults, stated once: the builder, the Redis tier and the `rampart` facade's
//! `[cache]` configuration all take them from here. They exist whatever the features, so that
//! a configuration can name them in a build without Redis.

use std::time::Duration;

/// Bytes the local tier holds at most: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Larger responses stream through and are never stored: 1 MiB.
pub const DEFAULT_MAX_ENTRY_BYTES: usize = 1024 * 1024;
/// How long concurrent misses for one key wait for the first: 5 s.
pub const DEFAULT_COALESCE_WAIT: Duration = Duration::from_secs(5);
/// The response header whose tags purges name: `cache-tag`.
pub const DEFAULT_TAG_HEADER: &str = "cache-tag";
/// The Redis tier's key and channel prefix: `rampart:cache`.
pub const DEFAULT_REDIS_PREFIX: &str = "rampart:cache";
/// How long a Redis read or write may take before the cache goes on without it: 50 ms.
pub const DEFAULT_REDIS_DEADLINE: Duration = Duration::from_millis(50);
/// Serialized entries larger than this stay in the local tier: 1 MiB.
pub const DEFAULT_REDIS_MAX_ENTRY_BYTES: usize = 1024 * 1024;
/// What the Redis tier may hold in Redis, as Redis weighs it: 256 MiB.
pub const DEFAULT_REDIS_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// How many entries the Redis tier may hold in Redis: 1 000 000.
pub const DEFAULT_REDIS_MAX_ENTRIES: u64 = 1_000_000;
