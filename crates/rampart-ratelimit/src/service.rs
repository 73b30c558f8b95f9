use axum::extract::ConnectInfo;
use http::{Request, Response};
use rampart_core::address::{ClientAddress, canonical};
use rampart_core::{Problem, ResponseBody, codes};
use smallvec::SmallVec;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use tokio::time::Instant;
use tower_service::Service;

use crate::Policy;
use crate::future::{Rejection, ResponseFuture};
use crate::headers::ratelimit_header;
use crate::layer::RouteLimit;
use crate::policy::Keyed;
use crate::preflight::{Charge, is_preflight};
use crate::{Key, KeyMissing, RateLimitLayer, Verdict};

/// Rate limits the inner service. Made by [`RateLimitLayer`].
#[derive(Clone)]
pub struct RateLimit<S> {
    pub(crate) inner: S,
    pub(crate) layer: RateLimitLayer,
}

impl<S> RateLimit<S> {
    rampart_core::inner_service_accessors!();
}

impl<S: fmt::Debug> fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let Some(limit) = self.layer.routes.get(&request).clone() else {
            return ResponseFuture::passthrough(self.inner.call(request), None);
        };
        if !self.layer.limit_preflights && is_preflight(&request) {
            match Charge::of(Arc::clone(&limit), &request) {
                Some(charge) if charge.is_spent() => {}
                charge => return ResponseFuture::preflight(self.inner.call(request), charge),
            }
        }
        // Routes rarely have more than two policies: their keys stay off the heap.
        let mut keys: SmallVec<[Key; 2]> = SmallVec::new();
        for (policy, counters) in limit.policies.iter().zip(limit.counters().iter()) {
            match policy.key(&request) {
                Ok(Keyed::Own(key)) => keys.push(key),
                Ok(Keyed::Fallback(key)) => {
                    counters.key_fallbacks.increment(1);
                    if !counters.fallback_logged.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            policy = policy.name(),
                            "rate limit policy falls back to a shared key: {}",
                            policy.fallback_warning()
                        );
                    }
                    keys.push(key);
                }
                Err(status) => {
                    counters.error.increment(1);
                    tracing::debug!(
                        policy = policy.name(),
                        key_kind = policy.key_kind(),
                        "request lacks the rate-limit key its policy counts by"
                    );
                    let problem = Problem::new(status, codes::RATE_LIMIT_KEY_MISSING)
                        .with_detail(policy.missing_key_detail());
                    let reason = KeyMissing::new(policy.name());
                    return ResponseFuture::rejected(Rejection::KeyMissing(Box::new((
                        problem, reason,
                    ))));
                }
            }
        }
        // The client as a policy resolved it (a trusted proxy's header honoured), for the
        // layers below that tell clients apart (the concurrency limit's reserve). Only when it
        // is not the peer they fall back to (`ClientAddress::of`): an extension costs an
        // allocation per request.
        if let Some(&Key::Ip(address)) = keys.iter().find(|key| matches!(key, Key::Ip(_))) {
            let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
            if peer.map(|peer| canonical(peer.0.ip())) != Some(address) {
                request.extensions_mut().insert(ClientAddress(address));
            }
        }
        let headers = self.layer.headers;
        if limit.limiter.is_shared() {
            // The decision takes a round trip: the ready inner service waits with the request.
            let clone = self.inner.clone();
            let ready = std::mem::replace(&mut self.inner, clone);
            let deciding = Arc::clone(&limit);
            let decision = Box::pin(async move { deciding.limiter.decide(&keys).await });
            return ResponseFuture::deciding(decision, ready, request, limit, headers);
        }
        let verdict = limit.limiter.check(&keys, Instant::now()).into();
        match judge(&limit, verdict, headers) {
            Ok(headers) => ResponseFuture::passthrough(self.inner.call(request), headers),
            Err(rejection) => ResponseFuture::rejected(rejection),
        }
    }
}

/// Counts a verdict and turns it into the headers for an admitted request, or a rejection.
pub(crate) fn judge(
    limit: &RouteLimit,
    verdict: Verdict,
    headers: bool,
) -> Result<Option<crate::future::Headers>, Rejection> {
    match verdict {
        Verdict::Allowed(allowance) => {
            for counters in limit.counters().iter() {
                counters.allowed.increment(1);
            }
            Ok(admitted(limit, &allowance, headers))
        }
        Verdict::Limited(limited) => {
            if let Some(index) = limit
                .policies
                .iter()
                .position(|p| p.name() == limited.policy())
            {
                limit.counters()[index].limited.increment(1);
            }
            Err(refused(limit, limited, headers))
        }
        Verdict::Unavailable(error) => {
            for counters in limit.counters().iter() {
                counters.error.increment(1);
            }
            tracing::debug!(%error, "shared rate limit could not decide; refusing");
            Err(Rejection::Unavailable(error))
        }
        // Fail open: the shared decision failed, so the request counts as an error whatever
        // this instance's own state said.
        Verdict::DecidedLocally { decision, .. } => {
            for counters in limit.counters().iter() {
                counters.error.increment(1);
            }
            tracing::debug!("shared rate limit could not decide; decided by this instance");
            match decision {
                Ok(allowance) => Ok(admitted(limit, &allowance, headers)),
                Err(limited) => Err(refused(limit, limited, headers)),
            }
        }
    }
}

/// The `RateLimit` headers of an admitted request, when they are sent.
fn admitted(
    limit: &RouteLimit,
    allowance: &crate::Allowance,
    headers: bool,
) -> Option<crate::future::Headers> {
    headers.then(|| {
        (
            limit.policy_header.clone(),
            ratelimit_header(
                limit.policies[allowance.policy_index()].name(),
                allowance.remaining(),
                allowance.reset(),
            ),
        )
    })
}

fn refused(limit: &RouteLimit, limited: crate::Limited, headers: bool) -> Rejection {
    let key_kind = limit
        .policies
        .iter()
        .find(|policy| policy.name() == limited.policy())
        .map_or("unknown", Policy::key_kind);
    tracing::debug!(
        policy = limited.policy(),
        key_kind,
        retry_after_s = limited.retry_after().as_secs_f64(),
        "rate limit refused the request"
    );
    let headers = headers.then(|| {
        (
            limit.policy_header.clone(),
            ratelimit_header(limited.policy(), 0, limited.retry_after()),
        )
    });
    Rejection::Limited(Box::new((limited, headers)))
}
