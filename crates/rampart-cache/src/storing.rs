//! Putting a response in the store, including one whose body is still streaming to its client.
//!
//! A miss answers its client as soon as the origin's headers arrive; the body is copied as it
//! passes ([`Pending`], carried by the response's [`CacheBody`](crate::CacheBody)) and stored
//! when it ends within the entry limit. The copy is dropped, never the client's stream, when the
//! body grows past the limit, carries trailers or fails. Followers of the flight wait for that
//! end: a stored body wakes them to a hit, a body that cannot be stored sends them to the
//! origin, and a client that goes away mid-body hands the flight to one of them.

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use std::sync::Arc;
use std::time::SystemTime;

use crate::copies::CopyCharge;
use crate::entry::{Admitted, Stored};
use crate::flight::{FlightGuard, Landing};
use crate::layer::Shared;
use crate::store::Placement;

/// Stores `entry` at `placement` locally and, when there is one, in the shared tier.
pub(crate) fn store(shared: &Arc<Shared>, placement: &Placement, entry: Arc<Stored>) {
    if let Some(tier) = &shared.tier {
        let keep = entry.keep;
        tier.put(shared, placement.slots(Arc::clone(&entry)), keep);
    }
    shared.store.insert(placement, entry);
}

/// A response admitted to the store whose body is on its way to the client.
#[derive(Debug)]
pub(crate) struct Pending {
    shared: Arc<Shared>,
    placement: Placement,
    admitted: Admitted,
    status: StatusCode,
    /// When the headers arrived: the entry's age counts from there, as it would had the body
    /// been read before answering.
    received_at: SystemTime,
    /// Dropped unlanded when the client goes away mid-body: a follower then takes over.
    guard: Option<FlightGuard>,
    copy: BytesMut,
    limit: usize,
    /// The copy's capacity, charged to the bound on copies in flight.
    charge: CopyCharge,
}

impl Pending {
    /// `length` is the body's length when known: the copy is then made in one allocation.
    pub(crate) fn new(
        shared: Arc<Shared>,
        placement: Placement,
        admitted: Admitted,
        status: StatusCode,
        received_at: SystemTime,
        guard: Option<FlightGuard>,
        length: Option<usize>,
    ) -> Self {
        let limit = shared.settings.max_entry_bytes;
        let mut charge = shared.copies.charge();
        // Without room for the whole body now, the copy starts empty and grows as it goes,
        // charged chunk by chunk (and given up if the room never comes).
        let capacity = length.unwrap_or(0).min(limit);
        let capacity = if charge.grow_to(capacity) {
            capacity
        } else {
            0
        };
        Self {
            shared,
            placement,
            admitted,
            status,
            received_at,
            guard,
            copy: BytesMut::with_capacity(capacity),
            limit,
            charge,
        }
    }

    /// Copies a chunk of the body; `false` once the body has outgrown the entry limit or the
    /// copies in flight their bound.
    pub(crate) fn copy(&mut self, data: &Bytes) -> bool {
        if self.copy.len() + data.len() > self.limit {
            return false;
        }
        let needed = self.copy.len() + data.len();
        if needed > self.copy.capacity() {
            // Grown by what the data needs, at least doubling as `Vec` would: the charge is
            // what the allocation will hold.
            let capacity = needed
                .max(self.copy.capacity().saturating_mul(2))
                .min(self.limit);
            if !self.charge.grow_to(capacity) {
                tracing::debug!(
                    copied = self.copy.len(),
                    "copies of streaming misses at their bound; this one is not stored"
                );
                return false;
            }
            self.copy.reserve(capacity - self.copy.len());
        }
        self.copy.extend_from_slice(data);
        true
    }

    /// The body ended: stores the entry and tells the followers it is there.
    pub(crate) fn finish(self) {
        let Self {
            shared,
            placement,
            admitted,
            status,
            received_at,
            guard,
            copy,
            ..
        } = self;
        // The entry keeps its body for as long as it lives and is weighed by its length: no
        // spare capacity from growing the copy may stay behind.
        let body = if copy.capacity() == copy.len() {
            copy.freeze()
        } else {
            Bytes::copy_from_slice(&copy)
        };
        let tag_header = &shared.settings.tag_header;
        let entry = Stored::new(admitted, status, body, tag_header, received_at);
        store(&shared, &placement, Arc::new(entry));
        if let Some(guard) = guard {
            guard.land(Landing::Stored);
        }
    }

    /// The body cannot be stored (too big, trailers, failed): followers go to the origin.
    pub(crate) fn refuse(self) {
        if let Some(guard) = &self.guard {
            guard.land(Landing::NotStored);
        }
    }
}
