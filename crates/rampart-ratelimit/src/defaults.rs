//! The Redis backend's defaults, stated once: the backend and the `rampart` facade's
//! `[ratelimit.redis]` configuration both take them from here. They exist whatever the
//! features, so that a configuration can name them in a build without Redis.

use std::time::Duration;

/// The namespace of every key in Redis: `rampart:rl`.
pub const DEFAULT_REDIS_PREFIX: &str = "rampart:rl";
/// How long a decision may wait for Redis before the fail mode decides: 50 ms.
pub const DEFAULT_REDIS_DEADLINE: Duration = Duration::from_millis(50);
