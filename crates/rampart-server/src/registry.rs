//! Who holds the connection slots, by client address, and whom a newcomer closes when the
//! server is at its cap.
//!
//! Every open socket counts against its address (IPv4, or IPv6 grouped by /64: one host's
//! block). An address at its share makes room among its own connections or is refused; a
//! newcomer at the cap closes a connection of the address that holds the most, preferring one
//! that has not sent a request head, then one idle between requests, and a busy one only from an
//! address that holds more than the newcomer's would; when no address holds more than one, the
//! oldest head-less or idle connection of anyone. Trusted proxies carry many clients: they have
//! no share, and their busy connections are never closed for a newcomer.
//!
//! Eviction only looks at the oldest [`SCAN`] connections of an address (or of all): the choice
//! costs the same at a cap of 100 or 100 000, and the oldest are the ones a flood opened first.

use futures_util::task::AtomicWaker;
use rampart_core::address::{Cidr, canonical};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::poll_fn;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;

use crate::activity::Activity;
use crate::telemetry::Telemetry;

/// How many of the oldest connections an eviction looks at.
const SCAN: usize = 64;

/// The slots' holders, and the rules for making room.
#[derive(Debug)]
pub(crate) struct Registry {
    per_address: usize,
    trusted: Vec<Cidr>,
    next: AtomicU64,
    book: Mutex<Book>,
    pub(crate) telemetry: Telemetry,
}

#[derive(Debug, Default)]
struct Book {
    addresses: HashMap<IpAddr, Holder>,
    /// (open sockets, address) of every untrusted address: the heaviest is the last.
    by_count: BTreeSet<(usize, IpAddr)>,
    /// Every connection that can still be closed (its HTTP connection task runs), accept order.
    all: BTreeMap<u64, Arc<Entry>>,
}

#[derive(Debug, Default)]
struct Holder {
    open: usize,
    trusted: bool,
    connections: BTreeMap<u64, Arc<Entry>>,
}

/// One connection as eviction sees it.
#[derive(Debug)]
struct Entry {
    address: IpAddr,
    activity: Arc<Activity>,
    eviction: Arc<Eviction>,
}

/// The signal that closes an evicted connection. Not a `Notify`: the connection's task waits on
/// it beside the connection itself, so it is polled on every wake-up, and a `Notify` takes its
/// lock on each poll.
#[derive(Debug, Default)]
pub(crate) struct Eviction {
    evicted: AtomicBool,
    waker: AtomicWaker,
}

impl Eviction {
    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Completes once the connection is evicted (at once if it already was).
    pub(crate) async fn evicted(&self) {
        poll_fn(|cx| {
            if self.evicted.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            if self.evicted.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// An address's claim to one open socket; held by the socket, released when it closes.
#[derive(Debug)]
pub(crate) struct Tenancy {
    registry: Arc<Registry>,
    address: IpAddr,
}

/// A connection whose HTTP task can still be told to close; leaves the registry when dropped
/// (an upgraded socket keeps its [`Tenancy`] but can no longer be evicted).
#[derive(Debug)]
pub(crate) struct Place {
    registry: Arc<Registry>,
    address: IpAddr,
    number: u64,
    pub(crate) eviction: Arc<Eviction>,
}

/// What a newcomer at the cap gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    /// A connection was told to close; its slot is coming.
    Made,
    /// Every connection is busy and none may be taken: wait for one to end.
    Wait,
    /// The newcomer's address already holds connections and none may be taken for it.
    Refused,
}

/// Which connections a choice may take.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// Head-less or idle ones only.
    Quiet,
    /// The oldest, busy or not, when no quiet one is found.
    Any,
}

impl Registry {
    pub(crate) fn new(per_address: usize, trusted: Vec<Cidr>, telemetry: Telemetry) -> Self {
        Self {
            per_address: per_address.max(1),
            trusted,
            next: AtomicU64::new(0),
            book: Mutex::default(),
            telemetry,
        }
    }

    /// The key a peer's connections are counted under.
    pub(crate) fn address_of(peer: IpAddr) -> IpAddr {
        match canonical(peer) {
            IpAddr::V6(v6) => {
                let block = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(Ipv6Addr::from(block))
            }
            v4 => v4,
        }
    }

    /// Counts a new socket from `peer`; `None` when its address is at its share and none of its
    /// own connections was quiet enough to close for it.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Tenancy> {
        let address = Self::address_of(peer);
        let mut book = self.lock();
        let trusted = book.addresses.get(&address).map_or_else(
            || self.trusted.iter().any(|cidr| cidr.contains(peer)),
            |holder| holder.trusted,
        );
        let open = book.addresses.get(&address).map_or(0, |holder| holder.open);
        if !trusted && open >= self.per_address {
            if !book.evict_from(address, Takes::Quiet) {
                return None;
            }
            self.telemetry.evicted.increment(1);
        }
        book.count(address, trusted, 1);
        Some(Tenancy {
            registry: Arc::clone(self),
            address,
        })
    }

    /// Registers the HTTP connection of an admitted socket, so a newcomer can close it.
    pub(crate) fn enter(self: &Arc<Self>, tenancy: &Tenancy, activity: Arc<Activity>) -> Place {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let eviction = Arc::new(Eviction::default());
        let entry = Arc::new(Entry {
            address: tenancy.address,
            activity,
            eviction: Arc::clone(&eviction),
        });
        let mut book = self.lock();
        book.all.insert(number, Arc::clone(&entry));
        if let Some(holder) = book.addresses.get_mut(&tenancy.address) {
            holder.connections.insert(number, entry);
        }
        Place {
            registry: Arc::clone(self),
            address: tenancy.address,
            number,
            eviction,
        }
    }

    /// At the cap: tells one connection to close to make room for a newcomer from `peer`
    /// (already admitted).
    pub(crate) fn make_room(&self, peer: IpAddr) -> Room {
        let newcomer = Self::address_of(peer);
        let mut book = self.lock();
        // The newcomer's own socket is counted already.
        let held = book
            .addresses
            .get(&newcomer)
            .map_or(0, |holder| holder.open.saturating_sub(1));
        if let Some(&(open, heaviest)) = book.by_count.last() {
            // Busy connections only from an address that would still hold more than the
            // newcomer's once it has lost one: room is never taken from an equal.
            let takes = if open > held + 2 {
                Takes::Any
            } else {
                Takes::Quiet
            };
            if open >= 2 && book.evict_from(heaviest, takes) {
                self.telemetry.evicted.increment(1);
                return Room::Made;
            }
        }
        if held == 0 {
            // A client that holds nothing may take anyone's quiet connection, or wait.
            if book.evict_oldest_quiet() {
                self.telemetry.evicted.increment(1);
                return Room::Made;
            }
            return Room::Wait;
        }
        // One that holds some already does not wait at the accept loop, where it would hold
        // up every newcomer behind it.
        Room::Refused
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Book {
    fn count(&mut self, address: IpAddr, trusted: bool, opened: isize) {
        let holder = self.addresses.entry(address).or_default();
        holder.trusted = trusted;
        if !trusted {
            self.by_count.remove(&(holder.open, address));
        }
        holder.open = holder.open.saturating_add_signed(opened);
        if holder.open == 0 {
            self.addresses.remove(&address);
        } else if !trusted {
            self.by_count.insert((holder.open, address));
        }
    }

    /// Closes one of `address`'s oldest connections: head-less first, then idle, then (when
    /// `takes` allows) the oldest.
    fn evict_from(&mut self, address: IpAddr, takes: Takes) -> bool {
        let Some(holder) = self.addresses.get(&address) else {
            return false;
        };
        let oldest = holder.connections.iter().take(SCAN);
        let chosen = choose(oldest, takes == Takes::Any && !holder.trusted);
        chosen.is_some_and(|number| self.evict(number))
    }

    /// Closes the oldest head-less connection, or else the oldest idle one, of anyone.
    fn evict_oldest_quiet(&mut self) -> bool {
        let chosen = choose(self.all.iter().take(SCAN), false);
        chosen.is_some_and(|number| self.evict(number))
    }

    fn evict(&mut self, number: u64) -> bool {
        let Some(entry) = self.all.remove(&number) else {
            return false;
        };
        if let Some(holder) = self.addresses.get_mut(&entry.address) {
            holder.connections.remove(&number);
        }
        // A flag: the connection sees it even if it is not listening yet.
        entry.eviction.evict();
        true
    }
}

/// Among `oldest` (accept order): the first head-less, else the first idle, else (when
/// `busy_too`) the first.
fn choose<'a>(
    oldest: impl Iterator<Item = (&'a u64, &'a Arc<Entry>)> + Clone,
    busy_too: bool,
) -> Option<u64> {
    let find = |quiet: fn(&Activity) -> bool| {
        oldest
            .clone()
            .find(|(_, entry)| quiet(&entry.activity))
            .map(|(number, _)| *number)
    };
    find(Activity::is_head_less)
        .or_else(|| find(Activity::is_idle))
        .or_else(|| {
            busy_too
                .then(|| oldest.clone().next().map(|(number, _)| *number))
                .flatten()
        })
}

impl Drop for Tenancy {
    fn drop(&mut self) {
        let mut book = self.registry.lock();
        let trusted = book
            .addresses
            .get(&self.address)
            .is_some_and(|holder| holder.trusted);
        book.count(self.address, trusted, -1);
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut book = self.registry.lock();
        book.all.remove(&self.number);
        if let Some(holder) = book.addresses.get_mut(&self.address) {
            holder.connections.remove(&self.number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rampart_core::MetricsRecorder;

    /// What a step does to the model.
    #[derive(Debug, Clone)]
    enum Step {
        /// A connection from address `n` (4 is the trusted proxy).
        Connect(u8),
        /// Connection `i` (modulo those open) starts a request, finishes it, closes, or is
        /// upgraded (its HTTP task ends, its socket stays).
        Start(usize),
        Finish(usize),
        Close(usize),
        Upgrade(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (0u8..5).prop_map(Step::Connect),
            2 => any::<usize>().prop_map(Step::Start),
            2 => any::<usize>().prop_map(Step::Finish),
            1 => any::<usize>().prop_map(Step::Close),
            1 => any::<usize>().prop_map(Step::Upgrade),
        ]
    }

    fn peer(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n + 1])
    }

    /// One open socket of the model.
    struct Open {
        address: IpAddr,
        _tenancy: Tenancy,
        place: Option<Place>,
        activity: Arc<Activity>,
        answering: Vec<crate::activity::Answering>,
    }

    const CAP: usize = 6;
    const SHARE: usize = 3;

    proptest! {
        /// Whatever connections come and go: an untrusted address never holds more than its
        /// share once evicted connections have closed; at the cap a connection is made room for
        /// or told to wait or refused, never over the cap; a trusted proxy's busy connection
        /// and an upgraded one are never evicted; a busy one only from an address holding more
        /// than the newcomer's would; and when everything has closed the books are empty.
        #[test]
        fn the_books_keep_every_promise(steps in proptest::collection::vec(step(), 1..120)) {
            let registry = Arc::new(Registry::new(
                SHARE,
                vec!["127.0.0.5".parse().unwrap()],
                Telemetry::new(&MetricsRecorder::global()),
            ));
            let mut open: Vec<Open> = Vec::new();
            for step in steps {
                match step {
                    Step::Connect(n) => {
                        let before = open.len();
                        let Some(tenancy) = registry.admit(peer(n)) else {
                            prop_assert!(n != 4, "a trusted proxy was refused its share");
                            continue;
                        };
                        let mut room = Room::Made;
                        if before - evicted(&open) >= CAP {
                            let held = open.iter().filter(|o| o.address == peer(n)).count();
                            let victims_before: Vec<bool> = open.iter().map(is_evicted).collect();
                            room = registry.make_room(peer(n));
                            for (o, was) in open.iter().zip(victims_before) {
                                if is_evicted(o) && !was {
                                    prop_assert!(o.place.is_some(), "an upgraded socket was evicted");
                                    if o.activity.is_answering() {
                                        prop_assert!(o.address != peer(4), "a proxy's busy connection");
                                        let theirs = open.iter().filter(|p| p.address == o.address).count();
                                        prop_assert!(theirs > held + 2, "busy taken from an equal");
                                    }
                                }
                            }
                        }
                        close_evicted(&mut open);
                        if room == Room::Made && open.len() < CAP {
                            let activity = Arc::new(Activity::default());
                            let place = registry.enter(&tenancy, Arc::clone(&activity));
                            open.push(Open { address: peer(n), _tenancy: tenancy, place: Some(place), activity, answering: Vec::new() });
                        }
                    }
                    Step::Start(i) if !open.is_empty() => {
                        let n = open.len();
                        let o = &mut open[i % n];
                        let answering = o.activity.start();
                        o.answering.push(answering);
                    }
                    Step::Finish(i) if !open.is_empty() => {
                        let n = open.len();
                        open[i % n].answering.pop();
                    }
                    Step::Close(i) if !open.is_empty() => {
                        let n = open.len();
                        drop(open.swap_remove(i % n));
                    }
                    Step::Upgrade(i) if !open.is_empty() => {
                        let n = open.len();
                        open[i % n].place = None;
                    }
                    _ => {}
                }
                close_evicted(&mut open);
                for n in 0..4 {
                    let held = open.iter().filter(|o| o.address == peer(n)).count();
                    prop_assert!(held <= SHARE, "{held} open from an address with a share of {SHARE}");
                }
                let book = registry.lock();
                let counted: usize = book.addresses.values().map(|h| h.open).sum();
                prop_assert_eq!(counted, open.len());
                prop_assert_eq!(book.all.len(), open.iter().filter(|o| o.place.is_some()).count());
            }
            drop(open);
            let book = registry.lock();
            prop_assert!(book.addresses.is_empty() && book.by_count.is_empty() && book.all.is_empty());
        }
    }

    fn is_evicted(open: &Open) -> bool {
        open.place
            .as_ref()
            .is_some_and(|place| place.eviction.evicted.load(Ordering::Acquire))
    }

    fn evicted(open: &[Open]) -> usize {
        open.iter().filter(|o| is_evicted(o)).count()
    }

    /// What an evicted connection's task does: close.
    fn close_evicted(open: &mut Vec<Open>) {
        open.retain(|o| !is_evicted(o));
    }
}
