//! Deadlines, 504 answers and the timeout counter, on tokio's paused clock.

#![allow(clippy::unwrap_used)]

mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use rampart_metrics::Prometheus;
use rampart_timeout::TimeoutLayer;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::answer;
use tokio::time::Instant;
use tower::ServiceExt;

/// Sets its flag when dropped, so a test can see that a handler's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn app(prometheus: &Prometheus, dropped: Arc<AtomicBool>) -> Router {
    let sleepy = |secs: u64| {
        get(move || async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            "finished"
        })
    };
    Router::new()
        .route("/fast", get(|| async { "fast" }))
        .route("/two", sleepy(2))
        .route("/override", sleepy(2))
        .route(
            "/watched",
            get(move || async move {
                let _flag = DropFlag(dropped);
                tokio::time::sleep(Duration::from_secs(60)).await;
                "never"
            }),
        )
        .layer(
            TimeoutLayer::new(Duration::from_secs(1))
                .with_route("/override", Duration::from_secs(3))
                .with_recorder(prometheus.recorder()),
        )
}

async fn get_path(app: &Router, path: &str) -> (StatusCode, http::HeaderMap, String) {
    answer(app, Request::get(path).body(Body::empty()).unwrap()).await
}

#[tokio::test(start_paused = true)]
async fn a_fast_response_passes_through_untouched() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus, Arc::default());
    let (status, _, body) = get_path(&app, "/fast").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "fast");
    assert!(!prometheus.render().contains("rampart_timeouts_total{"));
}

#[tokio::test(start_paused = true)]
async fn a_slow_handler_gets_504_problem_json_exactly_at_the_deadline() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus, Arc::default());
    let started = Instant::now();
    let (status, headers, body) = get_path(&app, "/two").await;
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["cache-control"], "no-store");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 504);
    assert_eq!(problem["title"], "Gateway Timeout");
    assert_eq!(problem["code"], "request_timeout");
    assert_eq!(problem["detail"], "the request did not complete within 1s");
    assert!(
        prometheus
            .render()
            .contains(r#"rampart_timeouts_total{http_route="/two"} 1"#)
    );
}

#[tokio::test(start_paused = true)]
async fn a_route_override_extends_the_deadline() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus, Arc::default());
    let started = Instant::now();
    let (status, _, body) = get_path(&app, "/override").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "finished");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn the_handler_future_is_dropped_at_the_deadline() {
    let prometheus = Prometheus::new();
    let dropped = Arc::new(AtomicBool::new(false));
    let app = app(&prometheus, dropped.clone());
    let request = Request::get("/watched").body(Body::empty()).unwrap();
    let response = app.oneshot(request).await.unwrap();
    // The response future is done, but the response itself is still held here: the handler
    // must already be gone, not merely when the caller lets go of everything.
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(dropped.load(Ordering::SeqCst));
    // The typed reason, for the layers above and the application.
    let reason = response
        .extensions()
        .get::<rampart_timeout::TimedOut>()
        .unwrap();
    assert_eq!(reason.deadline(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn unmatched_requests_get_the_default_and_a_fixed_label() {
    let prometheus = Prometheus::new();
    let app = Router::new()
        .fallback(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        })
        .layer(TimeoutLayer::new(Duration::from_millis(250)).with_recorder(prometheus.recorder()));
    let (status, _, body) = get_path(&app, "/random/path/123").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(body.contains("within 250ms"));
    let text = prometheus.render();
    assert!(text.contains(r#"rampart_timeouts_total{http_route="unmatched"} 1"#));
    assert!(!text.contains("/random"));
}
