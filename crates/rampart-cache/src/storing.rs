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
        Self {
            shared,
            placement,
            admitted,
            status,
            received_at,
            guard,
            copy: BytesMut::with_capacity(length.unwrap_or(0).min(limit)),
            limit,
        }
    }

    /// Copies a chunk of the body; `false` once the body has outgrown the entry limit.
    pub(crate) fn copy(&mut self, data: &Bytes) -> bool {
        if self.copy.len() + data.len() > self.limit {
            return false;
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
