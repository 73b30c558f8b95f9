//! Metric handles registered once per label set and kept.
//!
//! The `metrics` facade looks a key up in the recorder's registry on every `histogram!` call,
//! hashing the name and every label. Here a request finds its handles in its route's own cache
//! and, when it ends, in a short lock-free scan of the statuses that route has answered.

use hashbrown::{Equivalent, HashMap};
use http::Method;
use metrics::{Gauge, Histogram, Unit};
use rampart_core::{MetricsRecorder, UNMATCHED_ROUTE};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use rampart_core::names;

const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER",
];

/// The index of a method's label in [`METHODS`]; unknown methods fold into `_OTHER`.
fn method_index(method: &Method) -> u8 {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}

#[derive(Hash, PartialEq, Eq)]
struct RouteKey {
    method: u8,
    route: Box<str>,
}

/// Borrowed form of [`RouteKey`]; its derived `Hash` matches because `Box<str>` and `&str` hash
/// as the `str` they hold.
#[derive(Hash)]
struct RouteKeyRef<'a> {
    method: u8,
    route: &'a str,
}

impl Equivalent<RouteKey> for RouteKeyRef<'_> {
    fn equivalent(&self, key: &RouteKey) -> bool {
        self.method == key.method && self.route == &*key.route
    }
}

/// The handles one wrapped service used, by method.
///
/// Inside a router each route has its own service, so the route is the same on every call:
/// the first handles seen per method answer all later calls without the shared map's lock.
#[derive(Default)]
pub(crate) struct ServiceHandles {
    by_method: [OnceLock<Arc<RouteHandles>>; METHODS.len()],
}

impl ServiceHandles {
    pub(crate) fn route(
        &self,
        cache: &HandleCache,
        method: &Method,
        route: &str,
    ) -> Arc<RouteHandles> {
        let slot = &self.by_method[usize::from(method_index(method))];
        if let Some(handles) = slot.get() {
            if *handles.route == *route {
                return Arc::clone(handles);
            }
        }
        let handles = cache.route(method, route);
        let _ = slot.set(Arc::clone(&handles));
        handles
    }
}

/// Every handle the layer needs, per recorder.
pub(crate) struct HandleCache {
    recorder: MetricsRecorder,
    routes: RwLock<HashMap<RouteKey, Arc<RouteHandles>>>,
}

impl HandleCache {
    pub(crate) fn new(recorder: MetricsRecorder) -> Self {
        Self {
            recorder,
            routes: RwLock::new(HashMap::new()),
        }
    }

    /// The handles for one method and route, registered on first use.
    pub(crate) fn route(&self, method: &Method, route: &str) -> Arc<RouteHandles> {
        let method = method_index(method);
        let key = RouteKeyRef { method, route };
        if let Some(handles) = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Arc::clone(handles);
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        if routes.is_empty() {
            self.describe();
        }
        let handles = routes
            .entry(RouteKey {
                method,
                route: route.into(),
            })
            .or_insert_with(|| Arc::new(RouteHandles::new(&self.recorder, method, route)));
        Arc::clone(handles)
    }

    /// Gives the recorder the metrics' help lines and units: with the first registration, so
    /// building a layer records nothing anywhere.
    fn describe(&self) {
        let recorder = &self.recorder;
        recorder.describe_histogram(
            names::REQUEST_DURATION,
            Unit::Seconds,
            "Duration of HTTP server requests, until the response body has been sent.",
        );
        recorder.describe_gauge(
            names::ACTIVE_REQUESTS,
            Unit::Count,
            "Number of HTTP server requests in flight.",
        );
        recorder.describe_histogram(
            names::REQUEST_BODY_SIZE,
            Unit::Bytes,
            "Size of HTTP server request bodies.",
        );
        recorder.describe_histogram(
            names::RESPONSE_BODY_SIZE,
            Unit::Bytes,
            "Size of HTTP server response bodies.",
        );
        recorder.describe_gauge(
            names::UPGRADED_CONNECTIONS,
            Unit::Count,
            "Upgraded connections (WebSockets) open now, by the route of their handshake.",
        );
        recorder.describe_histogram(
            names::UPGRADED_CONNECTION_DURATION,
            Unit::Seconds,
            "How long upgraded connections stayed open.",
        );
    }
}

/// Handles for one `(method, route)` pair.
pub(crate) struct RouteHandles {
    recorder: MetricsRecorder,
    method: &'static str,
    route: Box<str>,
    pub(crate) active: Gauge,
    /// The first statuses a route answers with, found without a lock: most routes answer
    /// with a handful of statuses, and these slots are filled first come, first served.
    common: [OnceLock<(u16, StatusHandles)>; COMMON_STATUSES],
    /// Any further statuses.
    rare: RwLock<Vec<(u16, StatusHandles)>>,
    /// For the unmatched route: whether a successful answer without a route was reported.
    /// `None` for every other route.
    unrouted: Option<AtomicBool>,
}

const COMMON_STATUSES: usize = 6;

struct StatusHandles {
    duration: Histogram,
    request_size: Histogram,
    response_size: Histogram,
}

impl RouteHandles {
    fn new(recorder: &MetricsRecorder, method: u8, route: &str) -> Self {
        let method = METHODS[usize::from(method)];
        let active = recorder.gauge(
            names::ACTIVE_REQUESTS,
            &[
                (names::METHOD_LABEL, method.to_owned()),
                (names::ROUTE_LABEL, route.to_owned()),
            ],
        );
        Self {
            recorder: recorder.clone(),
            method,
            route: route.into(),
            active,
            common: Default::default(),
            rare: RwLock::new(Vec::new()),
            unrouted: (route == UNMATCHED_ROUTE).then(|| AtomicBool::new(false)),
        }
    }

    /// An upgraded connection (a WebSocket) of this route opening now: counted open until the
    /// returned value is dropped, then its lifetime is recorded.
    pub(crate) fn upgraded(&self) -> OpenUpgrade {
        let labels = [(names::ROUTE_LABEL, self.route.to_string())];
        let open = self.recorder.gauge(names::UPGRADED_CONNECTIONS, &labels);
        open.increment(1.0);
        OpenUpgrade {
            open,
            lifetime: self
                .recorder
                .histogram(names::UPGRADED_CONNECTION_DURATION, &labels),
            since: tokio::time::Instant::now(),
        }
    }

    /// Warns once when a request that matched no route is answered with anything but 404 or
    /// 405: the layer sees requests before routing (it wraps the router from outside), or the
    /// answer came from a nested service or a fallback. Either way per-route settings do not
    /// apply to it and its metrics say `unmatched`, which a user would otherwise never notice.
    pub(crate) fn check_routed(&self, status: u16) {
        let Some(warned) = &self.unrouted else {
            return;
        };
        if matches!(status, 404 | 405) || warned.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!(
            method = self.method,
            status,
            "a request that matched no route was answered {status}: the rampart layers see \
             requests without their route template, so per-route policies do not apply to them \
             and their metrics say `http_route=\"unmatched\"`. If the stack wraps the whole \
             router (ServiceBuilder, or a layer around the Router as a service), apply it with \
             `Stack::apply(router)` or `Router::layer` instead. Nested services \
             (`nest_service`) and fallbacks have no route template either"
        );
    }

    /// Records one finished request.
    pub(crate) fn record(
        &self,
        status: u16,
        seconds: f64,
        request_bytes: u64,
        response_bytes: u64,
    ) {
        let record = |handles: &StatusHandles| {
            handles.duration.record(seconds);
            // Sizes are far below 2^53, where u64 -> f64 starts to round.
            handles.request_size.record(request_bytes as f64);
            handles.response_size.record(response_bytes as f64);
        };
        for slot in &self.common {
            let (code, handles) = match slot.get() {
                Some(entry) => entry,
                // An empty slot: claim it for this status, unless another thread just did.
                None => slot.get_or_init(|| (status, self.register(status))),
            };
            if *code == status {
                record(handles);
                return;
            }
        }
        {
            let rare = self.rare.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, handles)) = rare.iter().find(|(code, _)| *code == status) {
                record(handles);
                return;
            }
        }
        let mut statuses = self.rare.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, handles)) = statuses.iter().find(|(code, _)| *code == status) {
            record(handles);
            return;
        }
        let handles = self.register(status);
        record(&handles);
        statuses.push((status, handles));
    }

    fn register(&self, status: u16) -> StatusHandles {
        let labels = [
            (names::METHOD_LABEL, self.method.to_owned()),
            (names::ROUTE_LABEL, self.route.to_string()),
            (names::STATUS_LABEL, status.to_string()),
        ];
        StatusHandles {
            duration: self.recorder.histogram(names::REQUEST_DURATION, &labels),
            request_size: self.recorder.histogram(names::REQUEST_BODY_SIZE, &labels),
            response_size: self.recorder.histogram(names::RESPONSE_BODY_SIZE, &labels),
        }
    }
}

/// An upgraded connection, open until dropped (by the server, when its socket closes).
pub(crate) struct OpenUpgrade {
    open: Gauge,
    lifetime: Histogram,
    since: tokio::time::Instant,
}

impl Drop for OpenUpgrade {
    fn drop(&mut self) {
        self.open.decrement(1.0);
        self.lifetime.record(self.since.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        let purge = Method::from_bytes(b"PURGE").unwrap();
        let brew = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(METHODS[usize::from(method_index(&purge))], "_OTHER");
        assert_eq!(method_index(&purge), method_index(&brew));
        assert_eq!(METHODS[usize::from(method_index(&Method::PATCH))], "PATCH");
    }

    #[test]
    fn a_route_is_registered_once() {
        let cache = HandleCache::new(MetricsRecorder::global());
        let first = cache.route(&Method::GET, "/a");
        let again = cache.route(&Method::GET, "/a");
        let other = cache.route(&Method::POST, "/a");
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
    }
}
