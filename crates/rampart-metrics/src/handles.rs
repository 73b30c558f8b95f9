//! Metric handles registered once per label set and kept.
//!
//! The `metrics` facade looks a key up in the recorder's registry on every `histogram!` call,
//! hashing the name and every label. Here a request finds its handles in its route's own cache
//! and, when it is answered, in a short lock-free scan of the answers that route has given.

use hashbrown::{Equivalent, HashMap};
use http::Request;
use metrics::{Gauge, Histogram, Unit};
use rampart_core::semconv::{self, ErrorType, METHODS, PROTOCOL_VERSIONS, URL_SCHEMES};
use rampart_core::{MetricsRecorder, UNMATCHED_ROUTE};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use rampart_core::names;

use crate::RouteLabels;
use crate::label_bound::{LabelSets, OverflowKey, RouteSets};

/// What a request's labels say before it is answered, besides its route: indexes in
/// [`METHODS`], [`URL_SCHEMES`] and [`PROTOCOL_VERSIONS`].
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) struct RequestKind {
    method: u8,
    scheme: u8,
    protocol: u8,
}

impl RequestKind {
    pub(crate) fn of<B>(request: &Request<B>) -> Self {
        // Indexes in arrays of ten entries at most.
        #[allow(clippy::cast_possible_truncation)]
        Self {
            method: semconv::method_index(request.method()) as u8,
            scheme: semconv::url_scheme_index(request) as u8,
            protocol: semconv::protocol_version_index(request.version()) as u8,
        }
    }

    fn method(self) -> &'static str {
        METHODS[usize::from(self.method)]
    }

    fn scheme(self) -> &'static str {
        URL_SCHEMES[usize::from(self.scheme)]
    }

    fn protocol(self) -> &'static str {
        PROTOCOL_VERSIONS[usize::from(self.protocol)]
    }

    /// Its slot in a service's own cache: every method, over HTTP or HTTPS, HTTP/1.1 or 2.
    /// Other kinds (HTTP/1.0) find their handles in the shared map.
    fn local_slot(self) -> Option<usize> {
        (self.protocol < 2).then(|| {
            usize::from(self.method) * LOCAL_PER_METHOD
                + usize::from(self.scheme) * 2
                + usize::from(self.protocol)
        })
    }
}

const LOCAL_PER_METHOD: usize = 4;

#[derive(Hash, PartialEq, Eq)]
struct RouteKey {
    kind: RequestKind,
    route: Box<str>,
}

/// Borrowed form of [`RouteKey`]; its derived `Hash` matches because `Box<str>` and `&str` hash
/// as the `str` they hold.
#[derive(Hash)]
struct RouteKeyRef<'a> {
    kind: RequestKind,
    route: &'a str,
}

impl Equivalent<RouteKey> for RouteKeyRef<'_> {
    fn equivalent(&self, key: &RouteKey) -> bool {
        self.kind == key.kind && self.route == &*key.route
    }
}

/// The handles one wrapped service used, by kind of request.
///
/// Inside a router each route has its own service, so the route is the same on every call:
/// the first handles seen per kind answer all later calls without the shared map's lock.
pub(crate) struct ServiceHandles {
    by_kind: [OnceLock<Arc<RouteHandles>>; METHODS.len() * LOCAL_PER_METHOD],
}

impl Default for ServiceHandles {
    fn default() -> Self {
        Self {
            by_kind: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl ServiceHandles {
    // Inlined, the metrics layer builds its future in place; called, the future was copied
    // once more (measured: 113 instructions per request).
    #[inline]
    pub(crate) fn route(
        &self,
        cache: &HandleCache,
        kind: RequestKind,
        route: &str,
    ) -> Arc<RouteHandles> {
        let slot = kind.local_slot().map(|slot| &self.by_kind[slot]);
        if let Some(handles) = slot.and_then(OnceLock::get) {
            if *handles.route == *route {
                return Arc::clone(handles);
            }
        }
        let handles = cache.route(kind, route);
        if let Some(slot) = slot {
            let _ = slot.set(Arc::clone(&handles));
        }
        handles
    }
}

/// Every handle the layer needs, per recorder.
pub(crate) struct HandleCache {
    recorder: MetricsRecorder,
    labels: RouteLabels,
    routes: RwLock<HashMap<RouteKey, Arc<RouteHandles>>>,
    /// The bound on label sets, and what each route label may still register (grouped
    /// routes share one count).
    bound: Arc<Bound>,
}

/// The label sets left, and the overflow series past them.
pub(crate) struct Bound {
    sets: LabelSets,
    routes: Mutex<HashMap<Box<str>, Arc<RouteSets>>>,
    overflow: Mutex<HashMap<OverflowKey, StatusHandles>>,
}

impl Bound {
    /// The overflow series of `answer`, registered (the first one announced) on first use.
    fn overflow(&self, recorder: &MetricsRecorder, answer: Answer) -> StatusHandles {
        let key = OverflowKey::of(answer.status, answer.error);
        let mut overflow = self.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        if overflow.is_empty() {
            tracing::warn!(
                "the request metrics reached their bound on label sets; further answers are \
                 recorded under otel_metric_overflow=\"true\" by status class and error type \
                 (RouteLabels::max_label_sets, max_label_sets_per_route)"
            );
        }
        overflow
            .entry(key)
            .or_insert_with(|| StatusHandles::register(recorder, &key.labels()))
            .clone()
    }
}

impl HandleCache {
    pub(crate) fn new(recorder: MetricsRecorder, labels: RouteLabels) -> Self {
        let sets = LabelSets::new(labels.bounds());
        Self {
            recorder,
            labels,
            routes: RwLock::new(HashMap::new()),
            bound: Arc::new(Bound {
                sets,
                routes: Mutex::new(HashMap::new()),
                overflow: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn route_sets(&self, label: &str) -> Arc<RouteSets> {
        let mut routes = self
            .bound
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let sets = routes
            .entry(label.into())
            .or_insert_with(|| Arc::new(self.bound.sets.route()));
        Arc::clone(sets)
    }

    /// The handles for one kind of request to one route, registered on first use.
    pub(crate) fn route(&self, kind: RequestKind, route: &str) -> Arc<RouteHandles> {
        let key = RouteKeyRef { kind, route };
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
                kind,
                route: route.into(),
            })
            .or_insert_with(|| {
                let label = self.labels.label(route);
                let bound = label.map(|label| (Arc::clone(&self.bound), self.route_sets(label)));
                Arc::new(RouteHandles::new(&self.recorder, kind, route, label, bound))
            });
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

/// How a request was answered: the labels of its histograms besides the request's kind and
/// route. Both fields are small closed sets, so a route has few answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) error: Option<ErrorType>,
}

/// Where an answer's handles are in its [`RouteHandles`]: found when the response head
/// arrives, used when its body ends. Two bytes, where the answer itself takes twenty-four:
/// the futures and bodies that hold it are moved by value on every poll up the stack.
#[derive(Clone, Copy)]
pub(crate) struct AnswerSlot(u16);

/// Handles for one kind of request to one route.
pub(crate) struct RouteHandles {
    /// `None` for a route left out of the metrics ([`RouteLabels::ignore`]): its handles
    /// are no-ops.
    recorder: Option<MetricsRecorder>,
    kind: RequestKind,
    /// The route's template, as the router matched it.
    route: Box<str>,
    /// What its series say: the template, or its group's label.
    label: Box<str>,
    pub(crate) active: Gauge,
    /// The first answers a route gives, found without a lock: most routes answer with a
    /// handful of statuses, and these slots are filled first come, first served.
    common: [OnceLock<(Answer, StatusHandles)>; COMMON_ANSWERS],
    /// Any further answers; only ever appended to, so an index stays valid.
    rare: RwLock<Vec<(Answer, StatusHandles)>>,
    /// For the unmatched route: whether a successful answer without a route was reported.
    /// `None` for every other route.
    unrouted: Option<AtomicBool>,
    /// The bound on label sets, and its route label's count (`None` when left out).
    bound: Option<(Arc<Bound>, Arc<RouteSets>)>,
}

const COMMON_ANSWERS: usize = 6;

#[derive(Clone)]
struct StatusHandles {
    duration: Histogram,
    request_size: Histogram,
    response_size: Histogram,
}

impl StatusHandles {
    fn register(recorder: &MetricsRecorder, labels: &[(&'static str, String)]) -> Self {
        Self {
            duration: recorder.histogram(names::REQUEST_DURATION, labels),
            request_size: recorder.histogram(names::REQUEST_BODY_SIZE, labels),
            response_size: recorder.histogram(names::RESPONSE_BODY_SIZE, labels),
        }
    }
}

impl RouteHandles {
    fn new(
        recorder: &MetricsRecorder,
        kind: RequestKind,
        route: &str,
        label: Option<&str>,
        bound: Option<(Arc<Bound>, Arc<RouteSets>)>,
    ) -> Self {
        let recorder = label.is_some().then(|| recorder.clone());
        let label = label.unwrap_or(route);
        // Semantic conventions: the in-flight gauge carries method and scheme, not the
        // protocol; kinds differing in protocol only share its series.
        let active = recorder.as_ref().map_or_else(Gauge::noop, |recorder| {
            recorder.gauge(
                names::ACTIVE_REQUESTS,
                &[
                    (names::METHOD_LABEL, kind.method().to_owned()),
                    (names::ROUTE_LABEL, label.to_owned()),
                    (names::SCHEME_LABEL, kind.scheme().to_owned()),
                ],
            )
        });
        Self {
            recorder,
            kind,
            route: route.into(),
            label: label.into(),
            active,
            common: Default::default(),
            rare: RwLock::new(Vec::new()),
            unrouted: (route == UNMATCHED_ROUTE).then(|| AtomicBool::new(false)),
            bound,
        }
    }

    /// An upgraded connection (a WebSocket) of this route opening now: counted open until the
    /// returned value is dropped, then its lifetime is recorded.
    pub(crate) fn upgraded(&self) -> OpenUpgrade {
        let labels = [(names::ROUTE_LABEL, self.label.to_string())];
        let (open, lifetime) = match &self.recorder {
            Some(recorder) => (
                recorder.gauge(names::UPGRADED_CONNECTIONS, &labels),
                recorder.histogram(names::UPGRADED_CONNECTION_DURATION, &labels),
            ),
            None => (Gauge::noop(), Histogram::noop()),
        };
        open.increment(1.0);
        OpenUpgrade {
            open,
            lifetime,
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
            method = self.kind.method(),
            status,
            "a request that matched no route was answered {status}: the rampart layers see \
             requests without their route template, so per-route policies do not apply to them \
             and their metrics say `http_route=\"unmatched\"`. If the stack wraps the whole \
             router (ServiceBuilder, or a layer around the Router as a service), apply it with \
             `Stack::apply(router)` or `Router::layer` instead. Nested services \
             (`nest_service`) and fallbacks have no route template either"
        );
    }

    /// The slot of `answer`'s handles, registered on first use.
    pub(crate) fn slot(&self, answer: Answer) -> AnswerSlot {
        for (index, slot) in self.common.iter().enumerate() {
            let (seen, _) = match slot.get() {
                Some(entry) => entry,
                // An empty slot: claim it for this answer, unless another thread just did.
                None => slot.get_or_init(|| (answer, self.register(answer))),
            };
            if *seen == answer {
                return AnswerSlot::at(index);
            }
        }
        let found = |answers: &[(Answer, StatusHandles)]| {
            answers
                .iter()
                .position(|(seen, _)| *seen == answer)
                .map(|index| AnswerSlot::at(COMMON_ANSWERS + index))
        };
        if let Some(slot) = found(&self.rare.read().unwrap_or_else(PoisonError::into_inner)) {
            return slot;
        }
        let mut answers = self.rare.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = found(&answers) {
            return slot;
        }
        answers.push((answer, self.register(answer)));
        AnswerSlot::at(COMMON_ANSWERS + answers.len() - 1)
    }

    /// Records one finished request, answered as `slot` says; `body_failed` when its body
    /// ended in an error after the head was sent, which makes it an `error_type="response_body"`.
    pub(crate) fn record(
        &self,
        slot: AnswerSlot,
        body_failed: bool,
        seconds: f64,
        request_bytes: u64,
        response_bytes: u64,
    ) {
        let slot = match body_failed.then(|| self.answer_at(slot)).flatten() {
            Some(answer) => self.slot(Answer {
                error: Some(ErrorType::ResponseBody),
                ..answer
            }),
            None => slot,
        };
        let record = |handles: &StatusHandles| {
            handles.duration.record(seconds);
            // Sizes are far below 2^53, where u64 -> f64 starts to round.
            handles.request_size.record(request_bytes as f64);
            handles.response_size.record(response_bytes as f64);
        };
        let index = usize::from(slot.0);
        match self.common.get(index) {
            Some(common) => common.get().map(|(_, handles)| record(handles)),
            None => self
                .rare
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(index - COMMON_ANSWERS)
                .map(|(_, handles)| record(handles)),
        };
    }

    fn answer_at(&self, slot: AnswerSlot) -> Option<Answer> {
        let index = usize::from(slot.0);
        match self.common.get(index) {
            Some(common) => common.get().map(|(answer, _)| *answer),
            None => self
                .rare
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(index - COMMON_ANSWERS)
                .map(|(answer, _)| *answer),
        }
    }

    fn register(&self, answer: Answer) -> StatusHandles {
        let (Some(recorder), Some((bound, route_sets))) = (&self.recorder, &self.bound) else {
            return StatusHandles {
                duration: Histogram::noop(),
                request_size: Histogram::noop(),
                response_size: Histogram::noop(),
            };
        };
        if !bound.sets.take(route_sets) {
            return bound.overflow(recorder, answer);
        }
        let mut labels = vec![
            (names::METHOD_LABEL, self.kind.method().to_owned()),
            (names::ROUTE_LABEL, self.label.to_string()),
            (names::STATUS_LABEL, answer.status.to_string()),
            (names::SCHEME_LABEL, self.kind.scheme().to_owned()),
            (
                names::PROTOCOL_VERSION_LABEL,
                self.kind.protocol().to_owned(),
            ),
        ];
        // Only on failed requests, as the conventions ask ("conditionally required").
        if let Some(error) = answer.error {
            labels.push((names::ERROR_TYPE_LABEL, error.as_str().to_owned()));
        }
        StatusHandles::register(recorder, &labels)
    }
}

impl AnswerSlot {
    fn at(index: usize) -> Self {
        // A route's answers are bounded by its statuses and error types: far below 2^16.
        Self(u16::try_from(index).unwrap_or(u16::MAX))
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
    use http::{Method, Version};

    fn kind(method: Method, version: Version) -> RequestKind {
        RequestKind::of(
            &Request::builder()
                .method(method)
                .version(version)
                .body(())
                .unwrap(),
        )
    }

    #[test]
    fn a_route_is_registered_once_per_kind() {
        let cache = HandleCache::new(MetricsRecorder::global(), RouteLabels::new());
        let first = cache.route(kind(Method::GET, Version::HTTP_11), "/a");
        let again = cache.route(kind(Method::GET, Version::HTTP_11), "/a");
        let other = cache.route(kind(Method::POST, Version::HTTP_11), "/a");
        let h2 = cache.route(kind(Method::GET, Version::HTTP_2), "/a");
        assert!(!Arc::ptr_eq(&first, &h2));
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
    }
}
