//! The shared tier's own budget in Redis: what the tier may hold there, in bytes and in
//! entries, whatever else shares the server.
//!
//! Redis's `maxmemory` is one limit for everything on a server: a flood of distinct URLs that
//! fills it makes the rate limiter's writes fail (`noeviction`) or evicts its quotas
//! (`allkeys-lru`). So the tier keeps its own books, next to its entries:
//!
//! - `<prefix>:books:expiry`: a sorted set of the entries' ids, scored by expiry (Redis time,
//!   ms);
//! - `<prefix>:books:entries`: a hash, entry id → its weight, its tags and its key;
//! - `<prefix>:books:used`: the sum of the weights.
//!
//! An entry's id is the SHA-1 of its key, in hex, and the id, never the key, is what the
//! expiry index and the tag sets hold. A key is as long as the client made its URL; a
//! 40-byte id keeps every structure in the encoding Redis picks for short members (a tag set
//! of one entry in a 64-byte listpack), so what an entry costs Redis is what [`weight`] says
//! whatever the keys look like. With the keys themselves as members, a key past 64 bytes made
//! each tag set a ~1 KB skiplist, and Redis grew to 1.6x the books.
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
//! The scripts are declared (`#!lua`, Redis 7), so Redis checks `maxmemory` before a write
//! starts rather than at its first command that adds memory: the store script's first write
//! frees memory (`ZREM`), and undeclared, it ran past `maxmemory` while the rate limiter's
//! script was refused. Removal may run at `maxmemory` (`allow-oom`): it only frees.
//!
//! Scripts name tag sets they did not declare as keys: the tier wants a standalone Redis (or
//! one primary), as its `SCAN`-based purges already do.

use redis::Script;

/// Expired entries forgotten per write; a write adds one, so the books keep up. Each costs
/// Redis ~20 µs: a script is one blocking step for every client of the server.
const EXPIRED_PER_WRITE: u32 = 16;

/// Entries one write may evict; a write that still does not fit is not stored. At 256, a
/// 64 KB entry among 1 KB ones evicted ~35 in one script and held Redis for 12 ms.
const EVICTIONS_PER_WRITE: u32 = 16;

/// Room each write keeps free beyond its own, as a share of the budget (at most
/// [`MAX_HEADROOM`]): the eviction work is spread over the small writes, and a large entry
/// finds its room already made.
const HEADROOM_SHARE: u64 = 32;

/// The most room kept free, whatever the budget: a few of the largest entries the tier takes
/// by default (1 MiB).
const MAX_HEADROOM: u64 = 4 << 20;

/// Expired members trimmed from a tag set per write. An entry's own memberships leave with its
/// books; this trims what lost its books, a little at a time.
const TRIMMED_PER_WRITE: u32 = 16;

/// Length of an entry's id: SHA-1 in hex.
const ID: u64 = 40;

/// What Redis spends on an entry beyond its key and value bytes: the value's object, the
/// entry's dictionary and expiry entries and their share of the tables.
const ENTRY_OVERHEAD: u64 = 104;

/// What the books spend on an entry beyond its record's bytes: its id's node in the expiry
/// index (a skiplist node, the id, a dictionary entry) and its field in the records.
const BOOKS_OVERHEAD: u64 = 240;

/// What one tag membership costs beyond the tag set's name: the id in the set, and, for a tag
/// that names one entry (`item-7`), the set itself: its object, listpack and expiry.
const TAG_OVERHEAD: u64 = 150;

/// Forgets one entry's books and tag memberships (not the entry itself); returns its key, or
/// nothing when the books do not know it. Shared by the scripts; `books` is `{expiry, entries,
/// used}`, `tagset` the tag sets' key prefix. A record is `<weight> <tag>...\n<key>`.
const FORGET: &str = r"
local function forget(books, tagset, id)
  redis.call('ZREM', books[1], id)
  local record = redis.call('HGET', books[2], id)
  if not record then return nil end
  redis.call('HDEL', books[2], id)
  local head, key = string.match(record, '^([^\n]*)\n(.*)$')
  if not head then return nil end
  local first = true
  for word in string.gmatch(head, '%S+') do
    if first then
      if redis.call('DECRBY', books[3], word) < 0 then
        redis.call('SET', books[3], 0)
      end
      first = false
    else
      redis.call('ZREM', tagset .. word, id)
    end
  end
  return key
end
";

/// KEYS: the entry, then the books (expiry, entries, used). ARGV: the value, how long it lives
/// (ms), its weight, the byte budget, the entry budget, the tag sets' prefix, the room to keep
/// free, its tags. Returns how many entries it evicted, or -1 when the entry did not fit.
const STORE: &str = r"
local books = {KEYS[2], KEYS[3], KEYS[4]}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = tonumber(ARGV[2])
local weight = tonumber(ARGV[3])
local max_bytes = tonumber(ARGV[4])
local max_entries = tonumber(ARGV[5])
local tagset = ARGV[6]
local headroom = tonumber(ARGV[7])
if weight > max_bytes then return -1 end
local id = redis.sha1hex(KEYS[1])
forget(books, tagset, id)
redis.call('DEL', KEYS[1])
for _, expired in ipairs(redis.call('ZRANGEBYSCORE', books[1], '-inf', now, 'LIMIT', 0, EXPIRED_PER_WRITE)) do
  forget(books, tagset, expired)
end
local evicted = 0
local used = tonumber(redis.call('GET', books[3]) or '0')
while (used + weight > max_bytes - headroom or redis.call('ZCARD', books[1]) >= max_entries)
    and evicted < EVICTIONS_PER_WRITE do
  local oldest = redis.call('ZRANGE', books[1], 0, 0)[1]
  if not oldest then
    redis.call('SET', books[3], 0)
    used = 0
    break
  end
  local key = forget(books, tagset, oldest)
  if key then redis.call('DEL', key) end
  evicted = evicted + 1
  used = tonumber(redis.call('GET', books[3]) or '0')
end
if used + weight > max_bytes or redis.call('ZCARD', books[1]) >= max_entries then
  return -1
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', keep)
redis.call('ZADD', books[1], now + keep, id)
local head = ARGV[3]
for i = 8, #ARGV do
  local set = tagset .. ARGV[i]
  redis.call('ZADD', set, now + keep, id)
  local stale = redis.call('ZRANGEBYSCORE', set, '-inf', now, 'LIMIT', 0, TRIMMED_PER_WRITE)
  if #stale > 0 then redis.call('ZREM', set, unpack(stale)) end
  if redis.call('PTTL', set) < keep then
    redis.call('PEXPIRE', set, keep)
  end
  head = head .. ' ' .. ARGV[i]
end
redis.call('HSET', books[2], id, head .. '\n' .. KEYS[1])
redis.call('INCRBY', books[3], weight)
return evicted
";

/// KEYS: the books (expiry, entries, used). ARGV: the tag sets' prefix, then the keys to
/// remove. Returns how many existed.
const REMOVE_KEYS: &str = r"
local removed = 0
for i = 2, #ARGV do
  forget(KEYS, ARGV[1], redis.sha1hex(ARGV[i]))
  removed = removed + redis.call('DEL', ARGV[i])
end
return removed
";

/// KEYS: the books (expiry, entries, used). ARGV: the tag sets' prefix, then the ids of the
/// entries to remove (a tag set's members). Returns how many existed.
const REMOVE_IDS: &str = r"
local removed = 0
for i = 2, #ARGV do
  local key = forget(KEYS, ARGV[1], ARGV[i])
  if key then removed = removed + redis.call('DEL', key) end
end
return removed
";

/// The first line of a script that writes: Redis refuses it at `maxmemory` before it starts.
const WRITES: &str = "#!lua\n";

/// The first line of a script that only frees memory: Redis runs it at `maxmemory` too.
const FREES: &str = "#!lua flags=allow-oom\n";

/// The tier's budget in Redis and the scripts that keep it.
#[derive(Debug, Clone)]
pub(super) struct Budget {
    pub(super) max_bytes: u64,
    pub(super) max_entries: u64,
    pub(super) store: Script,
    pub(super) remove_keys: Script,
    pub(super) remove_ids: Script,
}

impl Budget {
    pub(super) fn new(max_bytes: u64, max_entries: u64) -> Self {
        let store = STORE
            .replace("EXPIRED_PER_WRITE", &EXPIRED_PER_WRITE.to_string())
            .replace("EVICTIONS_PER_WRITE", &EVICTIONS_PER_WRITE.to_string())
            .replace("TRIMMED_PER_WRITE", &TRIMMED_PER_WRITE.to_string());
        Self {
            max_bytes,
            max_entries,
            store: Script::new(&[WRITES, FORGET, &store].concat()),
            remove_keys: Script::new(&[FREES, FORGET, REMOVE_KEYS].concat()),
            remove_ids: Script::new(&[FREES, FORGET, REMOVE_IDS].concat()),
        }
    }

    /// Room each write keeps free beyond its own.
    pub(super) fn headroom(&self) -> u64 {
        (self.max_bytes / HEADROOM_SHARE).min(MAX_HEADROOM)
    }
}

/// What an entry weighs against the budget, as Redis allocates it: its key and value, its
/// record in the books (weight, tags and key) and its id in the expiry index, and each tag
/// membership (the set's name, the id, the set's own cost when it names one entry).
pub(super) fn weight(key: &str, value: usize, tags: &[Box<str>], tag_sets: &str) -> u64 {
    let key = key.len() as u64;
    let tag_names: u64 = tags.iter().map(|tag| tag.len() as u64 + 1).sum();
    let tags: u64 = tags
        .iter()
        .map(|tag| string(tag_sets.len() as u64 + tag.len() as u64) + TAG_OVERHEAD)
        .sum();
    // The record: up to 20 digits of weight, the tags, a newline, the key.
    let record = 20 + tag_names + 1 + key;
    string(key)
        + string(value as u64)
        + ENTRY_OVERHEAD
        + string(ID)
        + string(record)
        + BOOKS_OVERHEAD
        + tags
}

/// What Redis allocates for a string of `len` bytes: its header (by length class, as `sds`
/// picks it) and terminating NUL, rounded up to the allocator's size class.
fn string(len: u64) -> u64 {
    let header = match len {
        0..256 => 3,
        256..65_536 => 5,
        _ => 9,
    };
    allocated(len + header + 1)
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
        // Key and value of 16 bytes each (with their headers), the id, a 32-byte record.
        let bare = 16 + 16 + ENTRY_OVERHEAD + 48 + 32 + BOOKS_OVERHEAD;
        assert_eq!(weight("k", 10, &[], "p:tag:"), bare);
        // `p:tag:ab` in 16 bytes; "ab" still fits the record's 32.
        assert_eq!(
            weight("k", 10, &[Box::from("ab")], "p:tag:"),
            bare + 16 + TAG_OVERHEAD
        );
        // A key counts twice (the entry's name and its record), the id once whatever its length.
        let long = "k".repeat(300);
        assert_eq!(weight(&long, 10, &[], "p:tag:"), bare - 16 - 32 + 320 + 384);
    }

    #[test]
    fn strings_weigh_their_header_and_size_class() {
        assert_eq!(string(0), 16);
        assert_eq!(string(12), 16);
        assert_eq!(string(13), 32);
        assert_eq!(string(300), 320);
        assert_eq!(string(65_530), 65_536);
        assert_eq!(string(65_531), 81_920);
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

    #[test]
    fn the_headroom_is_a_share_of_the_budget_up_to_a_few_large_entries() {
        assert_eq!(Budget::new(3 << 20, 1).headroom(), 96 << 10);
        assert_eq!(Budget::new(256 << 20, 1).headroom(), MAX_HEADROOM);
    }
}
