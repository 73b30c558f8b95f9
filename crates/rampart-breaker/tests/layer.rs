//! The breaker as a layer in an axum router: thresholds, waits, probes, drops, timeouts,
//! metrics and operator controls.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::BodyExt;
use rampart_breaker::{
    BreakerConfig, BreakerState, CircuitBreakerLayer, CircuitOpen, ForcedState, Window,
};
use rampart_core::RouteTable;
use rampart_metrics::Prometheus;
use rampart_timeout::TimeoutLayer;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tower::ServiceExt;

/// A dependency whose status and latency the test sets, counting the calls that reach it.
#[derive(Clone, Default)]
struct Dependency {
    status: Arc<AtomicU16>,
    latency_ms: Arc<AtomicU64>,
    calls: Arc<AtomicUsize>,
    // While it holds `false`, calls wait in the dependency (having been counted).
    gate: Option<watch::Receiver<bool>>,
}

impl Dependency {
    fn answering(status: StatusCode) -> Self {
        let dependency = Self::default();
        dependency.set(status);
        dependency
    }

    fn set(&self, status: StatusCode) {
        self.status.store(status.as_u16(), Ordering::SeqCst);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn handle(self) -> StatusCode {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(mut gate) = self.gate.clone() {
            gate.wait_for(|open| *open).await.unwrap();
        }
        let latency = self.latency_ms.load(Ordering::SeqCst);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        StatusCode::from_u16(self.status.load(Ordering::SeqCst)).unwrap()
    }
}

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .window(Window::Count(10))
        .minimum_calls(5)
        .failure_rate_threshold(50.0)
        .slow_call(Duration::from_secs(2), 100.0)
        .wait_duration(Duration::from_secs(5))
        .permitted_calls_in_half_open(3)
}

fn app(dependency: &Dependency, layer: CircuitBreakerLayer) -> Router {
    let handler = dependency.clone();
    let other = dependency.clone();
    Router::new()
        .route("/dep", get(move || handler.clone().handle()))
        .route("/other", get(move || other.clone().handle()))
        .layer(layer)
}

async fn call(app: &Router, path: &str) -> (StatusCode, HeaderMap) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    body.collect().await.unwrap();
    (parts.status, parts.headers)
}

#[tokio::test(start_paused = true)]
async fn opens_exactly_when_the_threshold_is_met_with_minimum_calls() {
    let dependency = Dependency::answering(StatusCode::OK);
    let app = app(&dependency, CircuitBreakerLayer::new(config()));
    let expect = |status: StatusCode| {
        let app = app.clone();
        let dependency = dependency.clone();
        async move {
            dependency.set(status);
            assert_eq!(call(&app, "/dep").await.0, status);
        }
    };
    // Two failures and two successes: 50 % failed, but below the minimum of five calls.
    for status in [500, 500, 200, 200].map(|s| StatusCode::from_u16(s).unwrap()) {
        expect(status).await;
    }
    // The fifth call reaches the minimum at 2 of 5 = 40 %: still closed. Then fill the window.
    for _ in 0..6 {
        expect(StatusCode::OK).await;
    }
    // The window holds the last 10 calls: each new failure pushes out the oldest call.
    // F F S S S S S S S S -> failures push out F, F, S, S: 2, 2, 3, 4 of 10.
    for _ in 0..4 {
        expect(StatusCode::BAD_GATEWAY).await;
    }
    // The next makes 5 of 10 = 50 %: the breaker opens on this very call.
    expect(StatusCode::BAD_GATEWAY).await;
    let calls_before = dependency.calls();
    let (status, headers) = call(&app, "/dep").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["retry-after"], "5");
    assert_eq!(
        dependency.calls(),
        calls_before,
        "a rejected call reached the dependency"
    );
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_successes() {
    let dependency = Dependency::answering(StatusCode::NOT_FOUND);
    let app = app(&dependency, CircuitBreakerLayer::new(config()));
    for _ in 0..20 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::NOT_FOUND);
    }
}

async fn trip(app: &Router, dependency: &Dependency) {
    dependency.set(StatusCode::INTERNAL_SERVER_ERROR);
    for _ in 0..5 {
        call(app, "/dep").await;
    }
    assert_eq!(call(app, "/dep").await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(start_paused = true)]
async fn it_waits_exactly_wait_duration_then_probes_close_it() {
    let dependency = Dependency::default();
    let app = app(&dependency, CircuitBreakerLayer::new(config()));
    trip(&app, &dependency).await;

    tokio::time::advance(Duration::from_millis(4_200)).await;
    let (status, headers) = call(&app, "/dep").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1", "0.8 s left rounds up to 1");

    tokio::time::advance(Duration::from_millis(799)).await;
    assert_eq!(call(&app, "/dep").await.0, StatusCode::SERVICE_UNAVAILABLE);

    tokio::time::advance(Duration::from_millis(1)).await;
    dependency.set(StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::OK, "probe");
    }
    // Three good probes: closed, and everything flows again.
    for _ in 0..20 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::OK);
    }
}

#[tokio::test(start_paused = true)]
async fn failed_probes_reopen_it_for_longer_each_time() {
    let dependency = Dependency::default();
    let layer = CircuitBreakerLayer::new(config().exponential_wait(2.0, Duration::from_secs(12)));
    let app = app(&dependency, layer);
    trip(&app, &dependency).await;
    for expected in ["10", "12", "12"] {
        tokio::time::advance(Duration::from_secs(13)).await;
        for _ in 0..3 {
            assert_eq!(
                call(&app, "/dep").await.0,
                StatusCode::INTERNAL_SERVER_ERROR
            );
        }
        let (status, headers) = call(&app, "/dep").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers["retry-after"], expected);
    }
}

#[tokio::test(start_paused = true)]
async fn slow_calls_open_it() {
    let dependency = Dependency::answering(StatusCode::OK);
    dependency.latency_ms.store(2_001, Ordering::SeqCst);
    let app = app(&dependency, CircuitBreakerLayer::new(config()));
    for _ in 0..5 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::OK);
    }
    assert_eq!(call(&app, "/dep").await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_above_counts_as_a_failure() {
    let dependency = Dependency::answering(StatusCode::OK);
    dependency.latency_ms.store(60_000, Ordering::SeqCst);
    let handler = dependency.clone();
    let app = Router::new()
        .route("/dep", get(move || handler.clone().handle()))
        .layer(CircuitBreakerLayer::new(config()))
        .layer(TimeoutLayer::new(Duration::from_secs(1)));
    for _ in 0..5 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::GATEWAY_TIMEOUT);
    }
    assert_eq!(call(&app, "/dep").await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(start_paused = true)]
async fn calls_dropped_by_their_client_are_not_counted() {
    let dependency = Dependency::answering(StatusCode::OK);
    dependency.latency_ms.store(60_000, Ordering::SeqCst);
    let app = app(&dependency, CircuitBreakerLayer::new(config()));
    for _ in 0..20 {
        let request = Request::get("/dep").body(Body::empty()).unwrap();
        let abandoned =
            tokio::time::timeout(Duration::from_millis(10), app.clone().oneshot(request));
        assert!(abandoned.await.is_err());
    }
    dependency.latency_ms.store(0, Ordering::SeqCst);
    assert_eq!(call(&app, "/dep").await.0, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_probe_goes_back_to_the_pool() {
    let dependency = Dependency::default();
    let app = app(&dependency, CircuitBreakerLayer::new(config()));
    trip(&app, &dependency).await;
    tokio::time::advance(Duration::from_secs(5)).await;

    // Three probes leave and their clients go away before an answer.
    dependency.set(StatusCode::OK);
    dependency.latency_ms.store(60_000, Ordering::SeqCst);
    for _ in 0..3 {
        let request = Request::get("/dep").body(Body::empty()).unwrap();
        let abandoned =
            tokio::time::timeout(Duration::from_millis(10), app.clone().oneshot(request));
        assert!(abandoned.await.is_err());
    }
    // The probes are available again: three real ones close the breaker.
    dependency.latency_ms.store(0, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::OK);
    }
    for _ in 0..10 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::OK);
    }
}

// Four threads, so that the callers race for the probes for real; tokio's clock cannot be
// paused on them, so the test waits for conditions (yielding), never for an amount of time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_open_admits_exactly_the_permitted_probes_of_200_concurrent_callers() {
    let (open, gate) = watch::channel(true);
    let dependency = Dependency {
        gate: Some(gate),
        ..Dependency::default()
    };
    let layer = CircuitBreakerLayer::new(config().wait_duration(Duration::from_millis(1)));
    let breakers = layer.breakers();
    let app = app(&dependency, layer);
    dependency.set(StatusCode::INTERNAL_SERVER_ERROR);
    for _ in 0..5 {
        call(&app, "/dep").await;
    }
    // Open, and its wait over: the next call moves it to half-open.
    let probing = async {
        while breakers.snapshot()[0].open_for_ms != Some(0) {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), probing)
        .await
        .expect("open after five failures, then its 1 ms wait over");

    // Probes now stay in the dependency until the gate opens.
    open.send_replace(false);
    dependency.set(StatusCode::OK);
    let before = dependency.calls();
    let callers: Vec<_> = (0..200)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { call(&app, "/dep").await.0 })
        })
        .collect();
    // Every caller is either refused (finished) or a probe held in the dependency: wait for
    // 197 and 3, and fail (after a generous bound) on any other split.
    let settled = async {
        while dependency.calls() - before < 3
            || callers.iter().filter(|caller| caller.is_finished()).count() < 197
        {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), settled)
        .await
        .expect("197 callers refused and 3 probes admitted");
    assert_eq!(
        dependency.calls() - before,
        3,
        "probes that reached the dependency"
    );
    let snapshot = breakers.snapshot();
    assert_eq!(snapshot[0].state, BreakerState::HalfOpen);
    assert_eq!(snapshot[0].probes_left, Some(0));

    open.send_replace(true);
    let mut statuses = Vec::new();
    for caller in callers {
        statuses.push(caller.await.unwrap());
    }
    let refused = statuses
        .iter()
        .filter(|status| **status == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    let probed = statuses
        .iter()
        .filter(|status| **status == StatusCode::OK)
        .count();
    assert_eq!((refused, probed), (197, 3));
    assert_eq!(breakers.snapshot()[0].state, BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn breakers_are_per_route_and_only_where_configured() {
    let dependency = Dependency::default();
    let table = RouteTable::new(None).with_route("/dep", Some(config()));
    let layer = CircuitBreakerLayer::from_table(table);
    let breakers = layer.breakers();
    let app = app(&dependency, layer);
    trip(&app, &dependency).await;
    // `/other` has no breaker: it keeps reaching the failing dependency.
    for _ in 0..20 {
        assert_eq!(
            call(&app, "/other").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    let names: Vec<_> = breakers.snapshot().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["/dep"]);
}

#[tokio::test(start_paused = true)]
async fn operators_can_force_open_close_and_disable() {
    let dependency = Dependency::answering(StatusCode::OK);
    let layer = CircuitBreakerLayer::new(config());
    let breakers = layer.breakers();
    let app = app(&dependency, layer);
    call(&app, "/dep").await;

    assert!(breakers.force("/dep", ForcedState::ForcedOpen));
    let (status, headers) = call(&app, "/dep").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        headers.get("retry-after").is_none(),
        "no known end to a forced open"
    );

    assert!(breakers.force("/dep", ForcedState::Disabled));
    dependency.set(StatusCode::INTERNAL_SERVER_ERROR);
    for _ in 0..20 {
        assert_eq!(
            call(&app, "/dep").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert!(breakers.force("/dep", ForcedState::Closed));
    trip(&app, &dependency).await;
    assert!(!breakers.force("/nope", ForcedState::Closed));
}

#[tokio::test(start_paused = true)]
async fn a_fallback_answers_instead_of_the_problem() {
    let dependency = Dependency::default();
    let layer = CircuitBreakerLayer::new(config()).fallback(|rejection: &CircuitOpen| {
        Response::builder()
            .status(StatusCode::OK)
            .header("x-fallback", rejection.breaker())
            .body(Bytes::from_static(b"cached answer"))
            .unwrap()
    });
    let app = app(&dependency, layer);
    dependency.set(StatusCode::INTERNAL_SERVER_ERROR);
    for _ in 0..5 {
        call(&app, "/dep").await;
    }
    let request = Request::get("/dep").body(Body::empty()).unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-fallback"], "/dep");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "cached answer");
}

#[tokio::test(start_paused = true)]
async fn metrics_follow_every_transition() {
    let prometheus = Prometheus::new();
    let dependency = Dependency::default();
    let layer = CircuitBreakerLayer::new(config()).with_recorder(prometheus.recorder());
    let app = app(&dependency, layer);
    trip(&app, &dependency).await;
    let text = prometheus.render();
    assert!(
        text.contains("rampart_breaker_state{breaker=\"/dep\"} 1"),
        "{text}"
    );
    assert!(text.contains("rampart_breaker_calls_total{breaker=\"/dep\",outcome=\"failure\"} 5"));
    assert!(text.contains("rampart_breaker_calls_total{breaker=\"/dep\",outcome=\"rejected\"} 1"));
    assert!(text.contains(
        "rampart_breaker_transitions_total{breaker=\"/dep\",from=\"closed\",to=\"open\"} 1"
    ));

    tokio::time::advance(Duration::from_secs(5)).await;
    dependency.set(StatusCode::OK);
    call(&app, "/dep").await;
    let text = prometheus.render();
    assert!(
        text.contains("rampart_breaker_state{breaker=\"/dep\"} 2"),
        "{text}"
    );
    for _ in 0..2 {
        call(&app, "/dep").await;
    }
    let text = prometheus.render();
    // One series per breaker, holding the current state.
    assert_eq!(text.matches("rampart_breaker_state{").count(), 1);
    assert!(
        text.contains("rampart_breaker_state{breaker=\"/dep\"} 0"),
        "{text}"
    );
    assert!(text.contains(
        "rampart_breaker_transitions_total{breaker=\"/dep\",from=\"half_open\",to=\"closed\"} 1"
    ));
}

#[tokio::test(start_paused = true)]
async fn a_time_window_forgets_old_failures() {
    let dependency = Dependency::default();
    let layer = CircuitBreakerLayer::new(config().window(Window::Time(Duration::from_secs(10))));
    let app = app(&dependency, layer);
    dependency.set(StatusCode::INTERNAL_SERVER_ERROR);
    for _ in 0..4 {
        call(&app, "/dep").await;
    }
    // Eleven seconds later those four failures have aged out of the window.
    tokio::time::advance(Duration::from_secs(11)).await;
    call(&app, "/dep").await;
    dependency.set(StatusCode::OK);
    for _ in 0..4 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::OK);
    }
    // 1 failure in 5: closed.
    assert_eq!(call(&app, "/dep").await.0, StatusCode::OK);
}

/// A 503 that a load-shedding layer below made (marked `Shed`) is no verdict on the
/// dependency: neither a failure that would open the breaker, nor a success that would hide
/// the real failures around it.
#[tokio::test(start_paused = true)]
async fn answers_shed_below_are_not_counted() {
    let shed_next = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dependency = Dependency::answering(StatusCode::INTERNAL_SERVER_ERROR);
    let handler = dependency.clone();
    let shedding = Arc::clone(&shed_next);
    let app = Router::new()
        .route(
            "/dep",
            get(move || {
                let handler = handler.clone();
                let shedding = Arc::clone(&shedding);
                async move {
                    let mut response = Response::new(Body::empty());
                    if shedding.load(Ordering::SeqCst) {
                        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                        response.extensions_mut().insert(rampart_core::shed::Shed);
                    } else {
                        *response.status_mut() = handler.handle().await;
                    }
                    response
                }
            }),
        )
        .layer(CircuitBreakerLayer::new(config()));
    for _ in 0..4 {
        assert_eq!(
            call(&app, "/dep").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    shed_next.store(true, Ordering::SeqCst);
    for _ in 0..30 {
        assert_eq!(call(&app, "/dep").await.0, StatusCode::SERVICE_UNAVAILABLE);
    }
    shed_next.store(false, Ordering::SeqCst);
    assert_eq!(dependency.calls(), 4, "the breaker opened on shed answers");
    // The fifth real failure makes 5 of 5: open, the shed answers between them not counted.
    assert_eq!(
        call(&app, "/dep").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let (status, headers) = call(&app, "/dep").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "5", "not a circuit-open answer");
    assert_eq!(dependency.calls(), 5);
}
