//! The shared tier's own budget in Redis: what the tier may hold there, in bytes and in
//! entries, whatever else shares the server.
//!
//! Redis's `maxmemory` is one limit for everything on a server: a flood of distinct URLs that
//! fills it makes the rate limiter's writes fail (`noeviction`) or evicts its quotas
//! (`allkeys-lru`). So the tier keeps its own books, next to its entries:
//!
//! - `<prefix>:b:expiry`: a sorted set of the entries' keys, scored by expiry (Redis time, ms);
//! - `<prefix>:b:meta`: a hash, entry key → its weight and its tags;
//! - `<prefix>:b:used`: the sum of the weights.
//!
//! Every write is one script that, atomically: forgets the entry it replaces; forgets up to
//! [`EXPIRED_PER_WRITE`] entries that expired by themselves; evicts the entries closest to
//! their expiry (Redis's `volatile-ttl` rule: they have the least left to give) until the new
//! one fits, at most [`EVICTIONS_PER_WRITE`] of them, and stores nothing when that is not
//! enough; then writes the entry, its books and its tag memberships. Purges remove entries
//! through the same bookkeeping. Books that lose track (an operator's `DEL`, an `allkeys-lru`
//! Redis evicting an entry) only over-count, and an empty index resets the sum: the budget errs
//! on the small side and heals.
//!
//! Scripts name tag sets they did not declare as keys: the tier wants a standalone Redis (or
//! one primary), as its `SCAN`-based purges already do.

use redis::Script;

/// Expired entries forgotten per write; a write adds one, so the books keep up.
const EXPIRED_PER_WRITE: u32 = 64;

/// Entries one write may evict to make room; a write that would need more is not stored.
const EVICTIONS_PER_WRITE: u32 = 256;

/// What Redis spends on one entry beyond its key and value: the key's object, expiry and
/// dictionary entries, its node in the expiry index and its field in the books (fitted to
/// `INFO memory`'s `used_memory` on Redis 7.0 over 10 000 entries of 800 bytes and 300 of
/// 33 KB; docs/cache.md gives the figures).
const OVERHEAD_PER_ENTRY: u64 = 320;

/// What Redis adds to a string's bytes in the same allocation: the largest header of its
/// strings and the terminating NUL. A 65 530-byte value crosses into the next size class.
const STRING_HEADER: u64 = 10;

/// What one tag membership costs beyond the names: the set's node, and, for a tag that names
/// one entry (`item-7`), the set's own key.
const OVERHEAD_PER_TAG: u64 = 160;

/// Forgets one entry's books and tag memberships (not the entry itself). Shared by both
/// scripts; `books` is `{expiry, meta, used}`, `tagset` the tag sets' key prefix.
const FORGET: &str = r"
local function forget(books, tagset, key)
  redis.call('ZREM', books[1], key)
  local meta = redis.call('HGET', books[2], key)
  if not meta then return end
  redis.call('HDEL', books[2], key)
  local first = true
  for word in string.gmatch(meta, '%S+') do
    if first then
      if redis.call('DECRBY', books[3], word) < 0 then
        redis.call('SET', books[3], 0)
      end
      first = false
    else
      redis.call('ZREM', tagset .. word, key)
    end
  end
end
";

/// KEYS: the entry, then the books (expiry, meta, used). ARGV: the value, how long it lives
/// (ms), its weight, the byte budget, the entry budget, the tag sets' prefix, its tags.
/// Returns how many entries it evicted, or -1 when the entry did not fit.
const STORE: &str = r"
local books = {KEYS[2], KEYS[3], KEYS[4]}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = tonumber(ARGV[2])
local weight = tonumber(ARGV[3])
local max_bytes = tonumber(ARGV[4])
local max_entries = tonumber(ARGV[5])
local tagset = ARGV[6]
if weight > max_bytes then return -1 end
forget(books, tagset, KEYS[1])
redis.call('DEL', KEYS[1])
for _, key in ipairs(redis.call('ZRANGEBYSCORE', books[1], '-inf', now, 'LIMIT', 0, EXPIRED_PER_WRITE)) do
  forget(books, tagset, key)
end
local evicted = 0
while tonumber(redis.call('GET', books[3]) or '0') + weight > max_bytes
    or redis.call('ZCARD', books[1]) >= max_entries do
  local oldest = redis.call('ZRANGE', books[1], 0, 0)[1]
  if not oldest then
    redis.call('SET', books[3], 0)
    break
  end
  if evicted == EVICTIONS_PER_WRITE then return -1 end
  forget(books, tagset, oldest)
  redis.call('DEL', oldest)
  evicted = evicted + 1
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', keep)
redis.call('ZADD', books[1], now + keep, KEYS[1])
local meta = ARGV[3]
for i = 7, #ARGV do
  local set = tagset .. ARGV[i]
  redis.call('ZADD', set, now + keep, KEYS[1])
  redis.call('ZREMRANGEBYSCORE', set, '-inf', now)
  if redis.call('PTTL', set) < keep then
    redis.call('PEXPIRE', set, keep)
  end
  meta = meta .. ' ' .. ARGV[i]
end
redis.call('HSET', books[2], KEYS[1], meta)
redis.call('INCRBY', books[3], weight)
return evicted
";

/// KEYS: the books (expiry, meta, used). ARGV: the tag sets' prefix, then the keys to remove.
/// Returns how many existed.
const REMOVE: &str = r"
local removed = 0
for i = 2, #ARGV do
  forget(KEYS, ARGV[1], ARGV[i])
  removed = removed + redis.call('DEL', ARGV[i])
end
return removed
";

/// The tier's budget in Redis and the scripts that keep it.
#[derive(Debug, Clone)]
pub(super) struct Budget {
    pub(super) max_bytes: u64,
    pub(super) max_entries: u64,
    pub(super) store: Script,
    pub(super) remove: Script,
}

impl Budget {
    pub(super) fn new(max_bytes: u64, max_entries: u64) -> Self {
        let store = STORE
            .replace("EXPIRED_PER_WRITE", &EXPIRED_PER_WRITE.to_string())
            .replace("EVICTIONS_PER_WRITE", &EVICTIONS_PER_WRITE.to_string());
        Self {
            max_bytes,
            max_entries,
            store: Script::new(&[FORGET, &store].concat()),
            remove: Script::new(&[FORGET, REMOVE].concat()),
        }
    }
}

/// What an entry weighs against the budget: its key (as the entry's name, the index's member
/// and the books' field), its value as Redis's allocator holds it, Redis's own structures, and
/// its tag memberships.
pub(super) fn weight(key: &str, value: usize, tags: &[Box<str>]) -> u64 {
    let key = key.len() as u64;
    let tags: u64 = tags
        .iter()
        .map(|tag| tag.len() as u64 + key + OVERHEAD_PER_TAG)
        .sum();
    3 * key + allocated(value as u64 + STRING_HEADER) + OVERHEAD_PER_ENTRY + tags
}

/// `bytes` rounded up to jemalloc's size class, as Redis allocates a value: multiples of 16 up
/// to 128, then four classes per doubling, so up to 25 % more (a 33 000-byte value takes
/// 40 960). Without it, a budget of 33 KB entries was exceeded by a quarter in Redis's
/// `used_memory`.
fn allocated(bytes: u64) -> u64 {
    if bytes <= 128 {
        return bytes.max(1).div_ceil(16) * 16;
    }
    let spacing = 1u64 << ((u64::BITS - (bytes - 1).leading_zeros()).saturating_sub(3));
    bytes.div_ceil(spacing) * spacing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_weighs_its_key_value_books_and_tags() {
        assert_eq!(weight("k", 10, &[]), 3 + 32 + OVERHEAD_PER_ENTRY);
        assert_eq!(
            weight("k", 10, &[Box::from("ab")]),
            3 + 32 + OVERHEAD_PER_ENTRY + 2 + 1 + OVERHEAD_PER_TAG
        );
        assert_eq!(weight("k", 65_530, &[]), 3 + 81_920 + OVERHEAD_PER_ENTRY);
    }

    #[test]
    fn values_weigh_what_the_allocator_gives_them() {
        for (asked, given) in [
            (1, 16),
            (17, 32),
            (33, 48),
            (129, 160),
            (64, 64),
            (65, 80),
            (818, 896),
            (1024, 1024),
            (33_000, 40_960),
            (1 << 20, 1 << 20),
            ((1 << 20) + 1, 1_310_720),
        ] {
            assert_eq!(allocated(asked), given, "{asked} bytes");
        }
    }

    #[test]
    fn the_scripts_have_their_limits_filled_in() {
        let budget = Budget::new(1, 1);
        assert!(!format!("{:?}", budget.store).contains("_PER_WRITE"));
    }
}
