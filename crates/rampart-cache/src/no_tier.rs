//! Without the `redis` feature there is no shared tier. This uninhabited type stands in for
//! `RedisTier` in the layer's plumbing, so the paths that use a tier compile unchanged and are
//! never taken: an `Option<RedisTier>` is always `None`.

use http::HeaderMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::entry::Stored;
use crate::layer::Shared;
use crate::store::Slot;
use crate::{Purge, PurgeReport, SharedTierError};

#[derive(Debug, Clone)]
pub(crate) enum RedisTier {}

impl RedisTier {
    pub(crate) fn listen(&self, _shared: Weak<Shared>) {
        match *self {}
    }

    pub(crate) async fn purge(
        &self,
        _shared: &Shared,
        _purge: &Purge,
    ) -> Result<PurgeReport, SharedTierError> {
        match *self {}
    }

    pub(crate) async fn fetch(
        &self,
        _resource: &str,
        _headers: &HeaderMap,
        _shared: &Shared,
    ) -> Option<(Arc<Stored>, Vec<(Arc<str>, Slot)>)> {
        match *self {}
    }

    pub(crate) fn put(
        &self,
        _shared: &Arc<Shared>,
        _slots: Vec<(Arc<str>, Slot)>,
        _keep: Duration,
    ) {
        match *self {}
    }
}
