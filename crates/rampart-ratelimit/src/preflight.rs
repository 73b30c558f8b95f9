//! CORS preflights: not counted against a quota when a CORS layer answers them.
//!
//! A browser sends a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//! before a cross-origin call it then makes for real, without the call's credentials or API
//! key. Counting it would halve a client's quota and refuse preflights under a header-keyed
//! policy; a refused preflight fails the real call with a CORS error the page cannot read. But
//! anyone can send a request shaped like a preflight, so one that a handler answers (a route
//! with `any(..)`, or no CORS layer at all) is charged once its answer is known, and one whose
//! client has spent its quota is decided (refused) as any request is: only the answers of a CORS
//! layer, which does no work, are free. With Redis quotas the spent check would cost a round
//! trip and is not made; a preflight without the policy's key cannot be counted and passes.

use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{Method, Request, Response};
use smallvec::SmallVec;
use std::sync::Arc;
use tokio::time::Instant;

use crate::Key;
use crate::layer::RouteLimit;

/// Whether `request` is a CORS preflight (Fetch standard 4.8).
pub(crate) fn is_preflight<B>(request: &Request<B>) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(ORIGIN)
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// What a preflight costs if a handler, not a CORS layer, answers it.
pub(crate) struct Charge {
    limit: Arc<RouteLimit>,
    keys: SmallVec<[Key; 2]>,
}

impl Charge {
    /// The charge for `request` on a route limited by `limit`; `None` when a policy finds no
    /// key in it (a preflight carries no API key or credentials): it cannot be counted.
    pub(crate) fn of<B>(limit: Arc<RouteLimit>, request: &Request<B>) -> Option<Box<Self>> {
        let keys = limit
            .policies
            .iter()
            .map(|policy| policy.key.key(request))
            .collect::<Option<SmallVec<[Key; 2]>>>()?;
        Some(Box::new(Self { limit, keys }))
    }

    /// Whether the quota is spent already (this instance's state): such a preflight is
    /// decided as any request is, so the preflight shape is no way past a spent quota.
    pub(crate) fn is_spent(&self) -> bool {
        !self.limit.limiter.is_shared()
            && !self.limit.limiter.would_admit(&self.keys, Instant::now())
    }

    /// Charges the quota unless `response` is a CORS layer's answer.
    pub(crate) fn settle<B>(self, response: &Response<B>) {
        if response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
            return;
        }
        let Self { limit, keys } = self;
        if !limit.limiter.is_shared() {
            let _ = limit.limiter.check(&keys, Instant::now());
            return;
        }
        // The response is not held for the round trip.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = limit.limiter.decide(&keys).await;
            });
        }
    }
}
