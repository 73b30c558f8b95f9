//! Per-key GCRA state with a hard cap on the number of keys.
//!
//! Each key costs one map entry: the [`Key`] (24 bytes, plus the text of a text key on the
//! heap) and its TAT (8 bytes), about 40 bytes with the table's overhead. The default cap of
//! 100 000 keys per policy is therefore about 4 MB.
//!
//! Keys whose TAT is in the past are exactly as good as absent (see [`crate::gcra`]), so
//! pruning them never changes a decision. When the cap is reached and pruning frees nothing,
//! new keys share one overflow state: a flood of made-up keys then competes for one quota
//! instead of growing memory.

use hashbrown::{DefaultHashBuilder, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::Key;

const SHARDS: usize = 16;

#[derive(Debug)]
pub(crate) struct KeyedStore {
    hasher: DefaultHashBuilder,
    shards: Box<[RwLock<HashMap<Key, AtomicU64>>]>,
    global: AtomicU64,
    overflow: AtomicU64,
    len: AtomicUsize,
    max: usize,
    /// When a full store last tried pruning, so a flood at the cap does not scan on every
    /// request.
    last_prune: AtomicU64,
}

/// How often a full store may try to free room on the request path (the background pruning
/// runs regardless).
const PRUNE_EVERY: u64 = 1_000_000_000;

impl KeyedStore {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            hasher: DefaultHashBuilder::default(),
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            global: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            max,
            last_prune: AtomicU64::new(0),
        }
    }

    /// Keys tracked right now.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    fn shard(&self, key: &Key) -> &RwLock<HashMap<Key, AtomicU64>> {
        let hash = self.hasher.hash_one(key);
        // The top bits: the map itself uses the low ones.
        &self.shards[(hash >> 60) as usize % SHARDS]
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
        let shard = self.shard(key);
        {
            let map = shard.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(tat) = map.get(key) {
                return compare_and_swap(tat, &decide);
            }
        }
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        if !map.contains_key(key) {
            if self.len() >= self.max && self.may_prune(now) {
                self.prune_shard(&mut map, now);
            }
            if self.len() >= self.max {
                return compare_and_swap(&self.overflow, &decide);
            }
            map.insert(key.clone(), AtomicU64::new(0));
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        let tat = map.get(key).unwrap_or(&self.overflow);
        compare_and_swap(tat, &decide)
    }

    fn may_prune(&self, now: u64) -> bool {
        let last = self.last_prune.load(Ordering::Relaxed);
        now.saturating_sub(last) >= PRUNE_EVERY
            && self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// The key's TAT without changing it.
    pub(crate) fn peek(&self, key: &Key) -> u64 {
        match key {
            Key::Global => self.global.load(Ordering::Acquire),
            key => self
                .shard(key)
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(key)
                .map_or(0, |tat| tat.load(Ordering::Acquire)),
        }
    }

    /// Drops every key whose TAT is not after `now`: they are as good as absent.
    pub(crate) fn prune(&self, now: u64) {
        for shard in self.shards.iter() {
            let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
            self.prune_shard(&mut map, now);
        }
    }

    fn prune_shard(&self, map: &mut HashMap<Key, AtomicU64>, now: u64) {
        let before = map.len();
        map.retain(|_, tat| tat.load(Ordering::Acquire) > now);
        self.len.fetch_sub(before - map.len(), Ordering::Relaxed);
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
