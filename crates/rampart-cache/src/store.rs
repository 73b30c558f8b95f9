//! The local tier: moka, weighed in bytes, with TinyLFU admission.

use http::header::ACCEPT_ENCODING;
use http::{HeaderMap, HeaderName};
use moka::notification::RemovalCause;
use moka::sync::Cache as Moka;
use moka::{Expiry, PredicateError};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::Purge;
use crate::entry::Stored;
use crate::key::{VARIANT, purge_target, same_resource, variant_key, write_variant_key};
use crate::telemetry::Telemetry;

/// What the store holds under a key: a response, or, under a resource key whose response has
/// a `Vary`, the header names that select its variants.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    Variants(Arc<[HeaderName]>),
    Response(Arc<Stored>),
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Found(Arc<Stored>),
    /// Nothing for the resource.
    UriMiss,
    /// The resource varies on these headers, and this request's variant is not stored.
    VaryMiss(Arc<[HeaderName]>),
}

#[derive(Debug, Clone)]
pub(crate) struct Store {
    entries: Moka<Arc<str>, Slot>,
    usage: Arc<Usage>,
}

/// Entries and bytes held, kept exactly as slots come and go (moka's own counts lag until its
/// maintenance runs), for the gauges.
#[derive(Debug)]
struct Usage {
    entries: AtomicI64,
    bytes: AtomicI64,
    telemetry: Arc<Telemetry>,
}

impl Usage {
    fn change(&self, key: &str, slot: &Slot, sign: i64) {
        let entries = self.entries.fetch_add(sign, Ordering::Relaxed) + sign;
        let weight = sign * i64::from(weight(key, slot));
        let bytes = self.bytes.fetch_add(weight, Ordering::Relaxed) + weight;
        self.telemetry.entries.set(entries.max(0) as f64);
        self.telemetry.size.set(bytes.max(0) as f64);
    }
}

/// What a slot costs in moka besides its key and value: its node, its places in the hash table,
/// the access and write orders and the expiry timer wheel, and the allocator's rounding.
/// `tests/resident.rs` holds the weighed total against the allocator's count.
const SLOT_OVERHEAD: usize = 576;

/// What a slot weighs in the byte budget: its key (one allocation, which moka's node and hash
/// table share), what moka keeps per slot, and the value.
fn weight(key: &str, slot: &Slot) -> u32 {
    let value = match slot {
        Slot::Response(stored) => stored.weight(),
        Slot::Variants(names) => names.iter().map(|name| name.as_str().len() + 24).sum(),
    };
    u32::try_from(key.len() + SLOT_OVERHEAD + value).unwrap_or(u32::MAX)
}

/// Keeps each response as long as [`Stored::keep`] says; variant markers until evicted.
struct KeepFor;

#[allow(
    clippy::disallowed_types,
    reason = "moka's Expiry trait is written with std's Instant"
)]
impl Expiry<Arc<str>, Slot> for KeepFor {
    fn expire_after_create(
        &self,
        _key: &Arc<str>,
        value: &Slot,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        match value {
            Slot::Response(stored) => Some(stored.keep),
            Slot::Variants(_) => None,
        }
    }

    fn expire_after_update(
        &self,
        key: &Arc<str>,
        value: &Slot,
        updated_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, value, updated_at)
    }
}

impl Store {
    /// A store holding at most `max_bytes`, as [`Stored::weight`] counts them.
    pub(crate) fn new(max_bytes: u64, telemetry: Arc<Telemetry>) -> Self {
        let usage = Arc::new(Usage {
            entries: AtomicI64::new(0),
            bytes: AtomicI64::new(0),
            telemetry,
        });
        let removed = Arc::clone(&usage);
        let entries = Moka::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &Arc<str>, slot: &Slot| weight(key, slot))
            .expire_after(KeepFor)
            .support_invalidation_closures()
            .eviction_listener(move |key, slot, cause| {
                removed.change(&key, &slot, -1);
                match cause {
                    RemovalCause::Size => removed.telemetry.evicted_for_size.increment(1),
                    RemovalCause::Expired => removed.telemetry.expired.increment(1),
                    RemovalCause::Explicit | RemovalCause::Replaced => {}
                }
            })
            .build();
        Self { entries, usage }
    }

    /// The entry for `resource` and the variant `headers` select.
    ///
    /// A request with `Accept-Encoding` first tries the variant key for "varies on
    /// `Accept-Encoding` only", what the compression layer below makes of nearly every
    /// response: one map lookup per hit instead of two (variant list, then variant).
    pub(crate) fn lookup(&self, resource: &str, headers: &HeaderMap) -> Lookup {
        if headers.contains_key(ACCEPT_ENCODING) {
            let guess = self.get_variant(resource, &[ACCEPT_ENCODING], headers);
            if let Some(Slot::Response(stored)) = guess
                && *stored.vary == [ACCEPT_ENCODING]
            {
                return Lookup::Found(stored);
            }
        }
        match self.entries.get(resource) {
            None => Lookup::UriMiss,
            Some(Slot::Response(stored)) => Lookup::Found(stored),
            Some(Slot::Variants(names)) => match self.get_variant(resource, &names, headers) {
                Some(Slot::Response(stored)) => Lookup::Found(stored),
                _ => Lookup::VaryMiss(names),
            },
        }
    }

    /// The slot of one variant, its key written in a buffer kept per thread (no allocation
    /// per lookup).
    fn get_variant(
        &self,
        resource: &str,
        vary: &[HeaderName],
        headers: &HeaderMap,
    ) -> Option<Slot> {
        thread_local! {
            static KEY: RefCell<String> = const { RefCell::new(String::new()) };
        }
        KEY.with(|key| {
            let mut key = key.borrow_mut();
            write_variant_key(&mut key, resource, vary, headers);
            self.entries.get(key.as_str())
        })
    }

    /// Stores `stored` at `placement`.
    pub(crate) fn insert(&self, placement: &Placement, stored: Arc<Stored>) {
        for (key, slot) in placement.slots(stored) {
            self.insert_slot(key, slot);
        }
    }

    /// Stores a slot as it came from the shared tier.
    pub(crate) fn insert_slot(&self, key: Arc<str>, slot: Slot) {
        self.usage.change(&key, &slot, 1);
        self.entries.insert(key, slot);
    }

    /// Removes a resource and all its variants on this host.
    pub(crate) fn invalidate_resource(&self, resource: &str) {
        self.entries.invalidate(resource);
        let variants = format!("{resource}{VARIANT}");
        if let Err(error) = self.invalidate_if(move |key, _| key.starts_with(variants.as_str())) {
            tracing::error!(%error, "cache invalidation by predicate failed; purging everything");
            self.entries.invalidate_all();
        }
    }

    /// Removes what `purge` names. Lookups stop returning it at once; memory is reclaimed by
    /// moka's maintenance.
    pub(crate) fn purge(&self, purge: &Purge) {
        let registered = match purge {
            Purge::All => {
                self.entries.invalidate_all();
                Ok(())
            }
            Purge::Key(path_and_query) => {
                let target = purge_target(path_and_query);
                self.invalidate_if(move |key, _| same_resource(key, &target))
            }
            Purge::Prefix(prefix) => {
                let prefix = prefix.clone();
                self.invalidate_if(move |key, _| key.starts_with(prefix.as_str()))
            }
            Purge::Tag(tag) => {
                let tag = tag.clone();
                self.invalidate_if(move |_, slot| match slot {
                    Slot::Response(stored) => stored.tags.iter().any(|t| **t == *tag),
                    Slot::Variants(_) => false,
                })
            }
        };
        if let Err(error) = registered {
            // Only possible if moka was built without invalidation closures, which `new` asks
            // for: fall back to the one purge that always works.
            tracing::error!(%error, "cache purge by predicate failed; purging everything");
            self.entries.invalidate_all();
        }
    }

    fn invalidate_if(
        &self,
        predicate: impl Fn(&Arc<str>, &Slot) -> bool + Send + Sync + 'static,
    ) -> Result<(), PredicateError> {
        self.entries.invalidate_entries_if(predicate).map(drop)
    }

    /// Runs moka's pending maintenance and reports `(entries, bytes)`.
    pub(crate) fn usage(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }
}

/// Where a response is stored: under its resource key when it does not vary, else under its
/// variant key, with a marker under the resource key naming the headers it varies on. Worked out
/// when the response's headers arrive, so that a body stored once it has streamed needs nothing
/// of the request.
#[derive(Debug)]
pub(crate) struct Placement {
    resource: Arc<str>,
    vary: Arc<[HeaderName]>,
    variant: Arc<str>,
}

impl Placement {
    /// The place of the variant `headers` select of `resource`, which varies on `vary`.
    pub(crate) fn new(resource: &str, vary: Arc<[HeaderName]>, headers: &HeaderMap) -> Self {
        let variant = if vary.is_empty() {
            Arc::from(resource)
        } else {
            Arc::from(variant_key(resource, &vary, headers))
        };
        Self {
            resource: Arc::from(resource),
            vary,
            variant,
        }
    }

    /// The slots that store `stored` here.
    pub(crate) fn slots(&self, stored: Arc<Stored>) -> Vec<(Arc<str>, Slot)> {
        if self.vary.is_empty() {
            return vec![(Arc::clone(&self.resource), Slot::Response(stored))];
        }
        vec![
            (
                Arc::clone(&self.resource),
                Slot::Variants(Arc::clone(&self.vary)),
            ),
            (Arc::clone(&self.variant), Slot::Response(stored)),
        ]
    }
}
