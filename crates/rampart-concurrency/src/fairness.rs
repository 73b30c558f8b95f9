//! Who holds the slots and who keeps asking: the last ones of a limit go to clients that
//! hold none and are not asking again and again.
//!
//! A limit that never queues gives a freed slot to whoever asks next. Under overload the
//! clients in a tight loop ask again the moment they are refused, so they take nearly every
//! slot that frees, and a client asking now and then finds the limit full: with 12 addresses
//! looping within their quotas, clients asking an eighth of the capacity were refused 82 % of
//! the time (issue 30). So once several clients hold slots, the last quarter of the limit
//! ([`Holdings::reserve`]) only admits a client that holds none and was refused fewer than
//! [`INSISTENCE`] times lately (a count halved every [`HALF_LIFE_MS`]): the loops are refused
//! first, and an occasional client finds a slot. A client alone (a benchmark, one upstream
//! proxy) still gets every slot, so a limit's goodput under one heavy client is what it was.
//! Holding alone is not enough: with more looping clients than slots, some hold none at any
//! moment, and they would take the reserve as fast as it frees.
//!
//! Clients are counted in [`BUCKETS`] counters by a hash of their address (the rate limiter's
//! [`ClientAddress`] when it resolved one, else the peer's): a fixed 48 KiB per limit whatever
//! the number of addresses, two atomic operations per admitted call and one per refusal. Two
//! clients in one bucket count as one, so one may be refused a reserved slot for the other's
//! sake: with at most a limit's worth of holders among 4 096 buckets, rare.

use http::Request;
use rampart_core::address::ClientAddress;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use tokio::time::Instant;

/// Counters per limit.
pub(crate) const BUCKETS: usize = 4096;

/// Refusals, lately, past which a client is asking again and again: a client asking now and
/// then is refused a few times at most while the limit is full; a loop, hundreds of times.
pub(crate) const INSISTENCE: u32 = 16;

/// How often the count of a client's refusals halves.
pub(crate) const HALF_LIFE_MS: u64 = 100;

/// How many slots each bucket of clients holds, and how many buckets hold any.
#[derive(Debug)]
pub(crate) struct Holdings {
    buckets: Box<[AtomicU32]>,
    holders: AtomicUsize,
    /// Per bucket, its refusals lately: the count in the low 32 bits, the half-life it was
    /// counted in above.
    refusals: Box<[AtomicU64]>,
    started: Instant,
    hasher: RandomState,
}

impl Holdings {
    pub(crate) fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            holders: AtomicUsize::new(0),
            refusals: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            started: Instant::now(),
            hasher: RandomState::new(),
        }
    }

    /// The bucket of the client that sent `request`, if it says where it came from.
    pub(crate) fn bucket_of<B>(&self, request: &Request<B>) -> Option<usize> {
        ClientAddress::of(request).map(|address| self.bucket(address))
    }

    fn bucket(&self, address: IpAddr) -> usize {
        // The low bits of a SipHash: spread whatever the addresses look like.
        let hash = self.hasher.hash_one(address);
        usize::try_from(hash % BUCKETS as u64).unwrap_or(0)
    }

    /// The slots of `limit` kept for clients that hold none: a quarter, none for a limit of 1.
    pub(crate) const fn reserve(limit: usize) -> usize {
        limit / 4
    }

    /// Whether a call of `bucket` may take a slot with `in_flight` of `limit` taken.
    pub(crate) fn admits(&self, bucket: Option<usize>, in_flight: usize, limit: usize) -> bool {
        if in_flight >= limit {
            return false;
        }
        if in_flight < limit - Self::reserve(limit) {
            return true;
        }
        let Some(bucket) = bucket else {
            return true;
        };
        // Alone, a client starves nobody; among others, only one holding nothing and not
        // asking again and again may.
        self.holders.load(Ordering::Relaxed) <= 1
            || (self.buckets[bucket].load(Ordering::Relaxed) == 0
                && self.refused_lately(bucket) < INSISTENCE)
    }

    /// The half-life we are in.
    fn period(&self) -> u64 {
        let elapsed = Instant::now().saturating_duration_since(self.started);
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX) / HALF_LIFE_MS
    }

    /// `packed` (a count and its half-life) as counted in half-life `now`.
    fn decayed(packed: u64, now: u64) -> u64 {
        let halvings = now.saturating_sub(packed >> 32);
        (packed & u64::from(u32::MAX))
            .checked_shr(u32::try_from(halvings).unwrap_or(u32::MAX))
            .unwrap_or(0)
    }

    fn refused_lately(&self, bucket: usize) -> u32 {
        let count = Self::decayed(self.refusals[bucket].load(Ordering::Relaxed), self.period());
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// A call of `bucket` refused.
    pub(crate) fn refused(&self, bucket: usize) {
        let now = self.period();
        let _ =
            self.refusals[bucket].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |packed| {
                let count = (Self::decayed(packed, now) + 1).min(u64::from(u32::MAX));
                Some(now << 32 | count)
            });
    }

    /// A slot taken by a client of `bucket`.
    pub(crate) fn take(&self, bucket: usize) {
        if self.buckets[bucket].fetch_add(1, Ordering::Relaxed) == 0 {
            self.holders.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A slot of a client of `bucket` given back.
    pub(crate) fn give_back(&self, bucket: usize) {
        if self.buckets[bucket].fetch_sub(1, Ordering::Relaxed) == 1 {
            self.holders.fetch_sub(1, Ordering::Relaxed);
        }
    }

    #[cfg(test)]
    pub(crate) fn holders(&self) -> usize {
        self.holders.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Option<usize> = Some(1);
    const B: Option<usize> = Some(2);
    const C: Option<usize> = Some(3);

    fn holding(holdings: &Holdings, bucket: Option<usize>, slots: usize) {
        for _ in 0..slots {
            holdings.take(bucket.unwrap_or_default());
        }
    }

    #[tokio::test]
    async fn among_several_clients_the_last_quarter_goes_to_those_holding_none() {
        let holdings = Holdings::new();
        holding(&holdings, A, 5);
        holding(&holdings, B, 1);
        assert_eq!(holdings.holders(), 2);
        // 6 of 8 taken: the last 2 are kept.
        assert!(!holdings.admits(A, 6, 8));
        assert!(!holdings.admits(B, 6, 8));
        assert!(holdings.admits(C, 6, 8));
        holding(&holdings, C, 1);
        assert!(!holdings.admits(C, 7, 8));
        assert!(holdings.admits(Some(4), 7, 8));
        assert!(!holdings.admits(Some(4), 8, 8));
        // Below the reserve, anyone.
        assert!(holdings.admits(A, 5, 8));
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_refused_again_and_again_is_kept_out_of_the_reserve_for_a_while() {
        let holdings = Holdings::new();
        holding(&holdings, A, 5);
        holding(&holdings, B, 1);
        for _ in 0..INSISTENCE {
            holdings.refused(3);
        }
        assert!(!holdings.admits(C, 6, 8));
        // Halved every 100 ms: back under the bar once it stops asking.
        tokio::time::advance(std::time::Duration::from_millis(HALF_LIFE_MS)).await;
        assert!(holdings.admits(C, 6, 8));
        // A few refusals now and then do not count against it.
        for _ in 0..INSISTENCE / 2 - 1 {
            holdings.refused(3);
        }
        assert!(holdings.admits(C, 6, 8));
        assert!(holdings.admits(C, 5, 8));
    }

    #[tokio::test]
    async fn a_client_alone_takes_every_slot() {
        let holdings = Holdings::new();
        holding(&holdings, A, 7);
        assert!(holdings.admits(A, 7, 8));
        assert!(!holdings.admits(A, 8, 8));
        // A call nobody can place is never held back by the reserve.
        holding(&holdings, B, 1);
        assert!(holdings.admits(None, 7, 9));
    }

    #[tokio::test]
    async fn slots_given_back_leave_no_holder() {
        let holdings = Holdings::new();
        holding(&holdings, A, 2);
        holding(&holdings, B, 1);
        holdings.give_back(1);
        holdings.give_back(1);
        holdings.give_back(2);
        assert_eq!(holdings.holders(), 0);
        assert_eq!(Holdings::reserve(1), 0);
        assert_eq!(Holdings::reserve(20), 5);
    }

    #[tokio::test]
    async fn addresses_spread_over_the_buckets() {
        let holdings = Holdings::new();
        let buckets: std::collections::HashSet<usize> = (0..=255u8)
            .map(|n| holdings.bucket(IpAddr::from([127, 0, 0, n])))
            .collect();
        assert!(
            buckets.len() > 240,
            "{} buckets for 256 addresses",
            buckets.len()
        );
    }
}
