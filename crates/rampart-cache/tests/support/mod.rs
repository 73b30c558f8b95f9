//! An origin that counts its calls and answers what the test tells it to.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the support module"
)]

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use rampart_cache::{Cache, CacheBody, CacheLayer, CacheRule};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

/// The origin as a service.
pub(crate) type OriginService =
    BoxCloneSyncService<Request<Body>, Response<Full<Bytes>>, Infallible>;

pub(crate) type Answer = Arc<dyn Fn(&Request<Body>) -> Response<Full<Bytes>> + Send + Sync>;

/// The origin: counts calls, remembers the last request's headers, answers with `answer`.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) calls: Arc<AtomicUsize>,
    pub(crate) last: Arc<Mutex<Option<http::HeaderMap>>>,
    pub(crate) answer: Arc<Mutex<Answer>>,
    pub(crate) delay: Arc<Mutex<std::time::Duration>>,
}

impl Origin {
    pub(crate) fn new(
        answer: impl Fn(&Request<Body>) -> Response<Full<Bytes>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            calls: Arc::default(),
            last: Arc::default(),
            answer: Arc::new(Mutex::new(Arc::new(answer))),
            delay: Arc::default(),
        }
    }

    pub(crate) fn answer(
        &self,
        answer: impl Fn(&Request<Body>) -> Response<Full<Bytes>> + Send + Sync + 'static,
    ) {
        *self.answer.lock().expect("not poisoned") = Arc::new(answer);
    }

    pub(crate) fn delay(&self, delay: std::time::Duration) {
        *self.delay.lock().expect("not poisoned") = delay;
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn last_header(&self, name: &str) -> Option<String> {
        let last = self.last.lock().expect("not poisoned");
        last.as_ref()?
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
    }

    pub(crate) fn service(&self) -> OriginService {
        let origin = self.clone();
        BoxCloneSyncService::new(tower::service_fn(move |request: Request<Body>| {
            let origin = origin.clone();
            async move {
                origin.calls.fetch_add(1, Ordering::SeqCst);
                *origin.last.lock().expect("not poisoned") = Some(request.headers().clone());
                let delay = *origin.delay.lock().expect("not poisoned");
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let answer = Arc::clone(&origin.answer.lock().expect("not poisoned"));
                Ok::<_, Infallible>(answer(&request))
            }
        }))
    }
}

/// A response with `headers` and `body`.
pub(crate) fn response(headers: &[(&str, &str)], body: &'static str) -> Response<Full<Bytes>> {
    let mut builder = Response::builder();
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("valid response")
}

/// A cache with every route cached under `rule`, over `origin`.
pub(crate) fn cached(origin: &Origin, rule: CacheRule) -> Cache<OriginService> {
    CacheLayer::builder()
        .default_rule(rule)
        .build()
        .layer(origin.service())
}

/// A GET for `uri` with `headers`.
pub(crate) fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    request("GET", uri, headers)
}

pub(crate) fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "example.test");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).expect("valid request")
}

/// What a client sees.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii"))
    }

    pub(crate) fn cache_status(&self) -> &str {
        self.header("cache-status").unwrap_or("")
    }
}

/// Sends `request` through `service` and reads the whole answer.
pub(crate) async fn send<S>(service: &S, request: Request<Body>) -> Seen
where
    S: Service<Request<Body>, Response = Response<CacheBody<Full<Bytes>>>, Error = Infallible>
        + Clone,
{
    let response = service.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a whole body").to_bytes();
    Seen {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}
