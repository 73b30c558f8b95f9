use bytes::Bytes;
use http::header::ACCEPT_ENCODING;
use http::{Method, Request, Response};
use http_body::Body;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

use crate::CacheLayer;
use crate::body::CacheBody;
use crate::directives::RequestDirectives;
use crate::encoding::{self, Negotiated};
use crate::fetch::{self, Ctx, answer};
use crate::future::ResponseFuture;
use crate::key::resource_key;
use crate::status::CacheStatus;
use crate::store::Lookup;

/// Answers from the cache what it can, and stores what it may. Made by [`CacheLayer`].
#[derive(Clone)]
pub struct Cache<S> {
    pub(crate) inner: S,
    pub(crate) layer: Arc<CacheLayer>,
}

impl<S> Cache<S> {
    rampart_core::inner_service_accessors!();
}

impl<S: fmt::Debug> fmt::Debug for Cache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Cache<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    type Response = Response<CacheBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let Some(rule) = self.layer.routes.get(&request) else {
            return ResponseFuture::inner(self.inner.call(request));
        };
        let shared = &self.layer.shared;
        shared.listen();
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            let shared = Arc::clone(shared);
            let resource = resource_key(&request, rule);
            let inner = self.take_ready();
            let forwarded = fetch::other_method(shared, inner, request, resource);
            return ResponseFuture::fetching(forwarded);
        }
        match encoding::negotiate(request.headers(), shared.settings.encodings) {
            Negotiated::Keep => {}
            Negotiated::Set(coding) => {
                request.headers_mut().insert(ACCEPT_ENCODING, coding);
            }
            Negotiated::Remove => {
                request.headers_mut().remove(ACCEPT_ENCODING);
            }
        }
        let directives = RequestDirectives::of(request.headers());
        let resource = resource_key(&request, rule);
        let lookup = shared.store.lookup(&resource, request.headers());
        if let Lookup::Found(entry) = &lookup {
            let now = shared.clock.now();
            if entry.satisfies(&directives, now) {
                shared.telemetry.hit.increment(1);
                let (method, headers) = (request.method(), request.headers());
                return ResponseFuture::ready(answer(
                    entry,
                    method,
                    headers,
                    now,
                    CacheStatus::HIT,
                ));
            }
        }
        let ctx = Ctx {
            shared: Arc::clone(shared),
            rule: rule.clone(),
            resource,
            directives,
        };
        let inner = self.take_ready();
        ResponseFuture::fetching(fetch::lookup_miss(ctx, inner, request, lookup))
    }
}

impl<S: Clone> Cache<S> {
    /// The ready inner service, to go with a request; a clone stays behind to be readied.
    fn take_ready(&mut self) -> S {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }
}
