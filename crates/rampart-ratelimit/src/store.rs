//! Per-key GCRA state with a hard cap on the number of keys.
//!
//! Each key costs one map entry: the [`Key`] (24 bytes, plus the text of a text key on the
//! heap) and its TAT (8 bytes), about 40 bytes with the table's overhead. The default cap of
//! 100 000 keys per policy is therefore about 4 MB.
//!
//! Keys whose TAT is in the past are exactly as good as absent (see [`crate::gcra`]), so
//! pruning them never changes a decision. Pruning happens on the request path, when a new key is
//! stored: its shard is swept first if [`SWEEP_INTERVAL`] has passed since its last sweep, so a
//! store that keeps meeting new clients sheds the old ones every few seconds, and a store that
//! meets none holds what it has (bounded by the cap) at no cost. No thread or task per limiter:
//! a router with fifty rate-limited routes has fifty limiters. When the cap is reached, a new key's shard is pruned
//! there and then: a flood of one-request clients leaves keys that expire within one emission
//! interval, so the newcomer finds room and its own quota. When that shard frees nothing (it was
//! pruned a moment ago, so all it holds is fresh), another shard is pruned, in turn, so room is
//! found wherever expired keys are. A prune of a large shard that frees less than an eighth of
//! it holds off pruning that shard for a second: when the keys are truly live, new keys share
//! one overflow state, and a flood of made-up keys competes for one quota instead of growing
//! memory.

use hashbrown::{DefaultHashBuilder, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::Key;

const SHARDS: usize = 16;

#[derive(Debug)]
pub(crate) struct KeyedStore {
    hasher: DefaultHashBuilder,
    shards: Box<[RwLock<Shard>]>,
    global: AtomicU64,
    overflow: AtomicU64,
    len: AtomicUsize,
    max: usize,
    /// The shard pruned next when a new key's own shard frees nothing.
    next_victim: AtomicUsize,
}

#[derive(Debug, Default)]
struct Shard {
    keys: HashMap<Key, AtomicU64>,
    /// Until when pruning on the request path is not worth trying: the last prune freed less
    /// than [`WORTH_PRUNING`] of the shard.
    futile_until: u64,
    /// When a new key next sweeps the shard's expired keys.
    next_sweep: u64,
}

/// How often a shard that meets new keys is swept of the expired ones (nanoseconds).
pub(crate) const SWEEP_INTERVAL: u64 = 10_000_000_000;

/// A prune that frees at least this share of a shard (one in N keys) may run again at once.
const WORTH_PRUNING: usize = 8;

/// How long a full shard whose keys are live waits before the request path prunes it again
/// (the background pruning runs regardless).
const FUTILE_BACKOFF: u64 = 1_000_000_000;

impl KeyedStore {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            hasher: DefaultHashBuilder::default(),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            global: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            max,
            next_victim: AtomicUsize::new(0),
        }
    }

    /// The most keys it tracks.
    #[cfg(feature = "redis")]
    pub(crate) const fn max(&self) -> usize {
        self.max
    }

    /// Keys tracked right now.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    fn shard_index(&self, key: &Key) -> usize {
        let hash = self.hasher.hash_one(key);
        // The top bits: the map itself uses the low ones.
        (hash >> 60) as usize % SHARDS
    }

    fn shard(&self, key: &Key) -> &RwLock<Shard> {
        &self.shards[self.shard_index(key)]
    }

    /// Runs `decide` on the key's TAT and stores what it returns, atomically: `decide` may run
    /// more than once when other requests change the TAT meanwhile.
    pub(crate) fn update<R>(
        &self,
        key: &Key,
        now: u64,
        decide: impl Fn(u64) -> (Option<u64>, R),
    ) -> R {
        if let Key::Global = key {
            return compare_and_swap(&self.global, &decide);
        }
        let index = self.shard_index(key);
        let lock = &self.shards[index];
        {
            let shard = lock.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(tat) = shard.keys.get(key) {
                return compare_and_swap(tat, &decide);
            }
        }
        let mut shard = lock.write().unwrap_or_else(PoisonError::into_inner);
        let new_key = !shard.keys.contains_key(key);
        if new_key && now >= shard.next_sweep {
            self.prune_shard(&mut shard, now);
        }
        if new_key && self.len() >= self.max {
            self.try_prune(&mut shard, now);
            if self.len() >= self.max {
                // One shard lock at a time: no order to keep, no deadlock.
                drop(shard);
                self.prune_another(index, now);
                shard = lock.write().unwrap_or_else(PoisonError::into_inner);
            }
        }
        if !shard.keys.contains_key(key) {
            if self.len() >= self.max {
                return compare_and_swap(&self.overflow, &decide);
            }
            shard.keys.insert(key.clone(), AtomicU64::new(0));
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        let tat = shard.keys.get(key).unwrap_or(&self.overflow);
        compare_and_swap(tat, &decide)
    }

    /// Prunes `shard` unless a recent prune of it was futile; holds off pruning it again when
    /// this one was costly (a large shard) and freed little.
    fn try_prune(&self, shard: &mut Shard, now: u64) {
        if now < shard.futile_until {
            return;
        }
        let before = shard.keys.len();
        let freed = self.prune_shard(shard, now);
        if before >= self.max / SHARDS / 2 && freed * WORTH_PRUNING < before {
            shard.futile_until = now.saturating_add(FUTILE_BACKOFF);
        }
    }

    /// Prunes the next shard in turn other than `skip`.
    fn prune_another(&self, skip: usize, now: u64) {
        let mut victim = self.next_victim.fetch_add(1, Ordering::Relaxed) % SHARDS;
        if victim == skip {
            victim = (victim + 1) % SHARDS;
        }
        let mut shard = self.shards[victim]
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        self.try_prune(&mut shard, now);
    }

    /// The key's TAT without changing it.
    pub(crate) fn peek(&self, key: &Key) -> u64 {
        match key {
            Key::Global => self.global.load(Ordering::Acquire),
            key => self
                .shard(key)
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .keys
                .get(key)
                .map_or(0, |tat| tat.load(Ordering::Acquire)),
        }
    }

    /// Drops every key whose TAT is not after `now`: they are as good as absent.
    pub(crate) fn prune(&self, now: u64) {
        for shard in self.shards.iter() {
            let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
            self.prune_shard(&mut shard, now);
        }
    }

    /// Drops the shard's keys whose TAT is not after `now`; how many.
    fn prune_shard(&self, shard: &mut Shard, now: u64) -> usize {
        shard.next_sweep = now.saturating_add(SWEEP_INTERVAL);
        let before = shard.keys.len();
        shard
            .keys
            .retain(|_, tat| tat.load(Ordering::Acquire) > now);
        let freed = before - shard.keys.len();
        self.len.fetch_sub(freed, Ordering::Relaxed);
        freed
    }
}

fn compare_and_swap<R>(tat: &AtomicU64, decide: impl Fn(u64) -> (Option<u64>, R)) -> R {
    let mut current = tat.load(Ordering::Acquire);
    loop {
        let (next, result) = decide(current);
        let Some(next) = next else {
            return result;
        };
        match tat.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return result,
            Err(actual) => current = actual,
        }
    }
}
