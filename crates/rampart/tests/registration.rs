//! Building a layer records nothing anywhere: every metric is registered, and described, on
//! the recorder the layer was given, the first time it is used. So an application may install
//! its global recorder after building its router (the usual order) and still get every metric.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use rampart::breaker::{BreakerConfig, CircuitBreakerLayer};
use rampart::cache::{CacheLayer, CacheRule};
use rampart::catch_panic::CatchPanicLayer;
use rampart::common::MetricsRecorder;
use rampart::concurrency::{ConcurrencyLimitLayer, Limit};
use rampart::ratelimit::{KeySource, Policy, Quota, RateLimitLayer};
use rampart::request_metrics::MetricsLayer;
use rampart::timeout::TimeoutLayer;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tower::ServiceExt;

/// Writes down the name of every metric registered or described through it.
#[derive(Clone, Default)]
struct Spy(Arc<Mutex<Vec<String>>>);

impl Spy {
    fn seen(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn note(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name.to_owned());
    }
}

impl Recorder for Spy {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.note(key.as_str());
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.note(key.as_str());
    }
    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.note(key.as_str());
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.note(key.name());
        Counter::noop()
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.note(key.name());
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.note(key.name());
        Histogram::noop()
    }
}

/// Every layer that records metrics, each recording through the global recorder unless
/// `recorder` is given.
fn router(recorder: Option<&MetricsRecorder>) -> Router {
    let recorder = recorder.cloned().unwrap_or_else(MetricsRecorder::global);
    let rate_limit = RateLimitLayer::try_new(vec![Policy::new(
        "everyone",
        Quota::per_second(100),
        KeySource::Global,
    )])
    .unwrap();
    Router::new()
        .route("/", get(|| async { "hello" }))
        .layer(ConcurrencyLimitLayer::new(Limit::fixed("pool", 8)).with_recorder(recorder.clone()))
        .layer(CircuitBreakerLayer::new(BreakerConfig::default()).with_recorder(recorder.clone()))
        .layer(
            CacheLayer::builder()
                .default_rule(CacheRule::new())
                .with_recorder(recorder.clone())
                .build(),
        )
        .layer(rate_limit.with_recorder(recorder.clone()))
        .layer(TimeoutLayer::new(Duration::from_secs(1)).with_recorder(recorder.clone()))
        .layer(CatchPanicLayer::new().with_recorder(recorder.clone()))
        .layer(MetricsLayer::new().with_recorder(recorder))
}

async fn get_root(app: Router) {
    let response = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn building_the_layers_registers_and_describes_nothing() {
    let global = Spy::default();
    let own = Spy::default();
    metrics::with_local_recorder(&global, || {
        drop(router(None));
        drop(router(Some(&MetricsRecorder::new(own.clone()))));
    });
    assert_eq!(global.seen(), Vec::<String>::new());
    assert_eq!(own.seen(), Vec::<String>::new());
}

#[tokio::test(flavor = "current_thread")]
async fn a_global_recorder_installed_after_the_router_is_built_gets_every_metric() {
    let app = router(None);
    let installed_later = Spy::default();
    let _guard = metrics::set_default_local_recorder(&installed_later);
    get_root(app).await;
    let seen = installed_later.seen();
    for name in [
        "http_server_request_duration_seconds",
        "http_server_active_requests",
        "rampart_ratelimit_requests_total",
        "rampart_cache_requests_total",
        "rampart_breaker_calls_total",
        "rampart_concurrency_requests_total",
    ] {
        assert!(
            seen.iter().any(|seen| seen == name),
            "{name} not in {seen:?}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_layer_given_a_recorder_records_nothing_globally() {
    let own = Spy::default();
    let app = router(Some(&MetricsRecorder::new(own.clone())));
    let global = Spy::default();
    let _guard = metrics::set_default_local_recorder(&global);
    get_root(app).await;
    assert_eq!(global.seen(), Vec::<String>::new());
    assert!(
        own.seen()
            .contains(&"rampart_cache_requests_total".to_owned())
    );
}
