//! A layer that wraps the whole router from outside sees no route template: it says so, once.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use rampart_metrics::{MetricsLayer, Prometheus};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tower::{Layer, ServiceExt};

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures this thread's logs until the guard is dropped.
    fn logs() -> (Self, tracing::subscriber::DefaultGuard) {
        let captured = Self::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

async fn get_path<S>(service: &S, path: &str) -> u16
where
    S: tower::Service<Request<Body>, Response = http::Response<rampart_metrics::MetricsBody<Body>>>
        + Clone,
    S::Error: std::fmt::Debug,
{
    let request = Request::get(path).body(Body::empty()).unwrap();
    service
        .clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn outside_the_router_every_request_is_unmatched_and_one_warning_says_why() {
    let (captured, _guard) = Captured::logs();

    let prometheus = Prometheus::new();
    let router: Router = Router::new().route("/items/{id}", get(|| async { "item" }));
    let outside = MetricsLayer::new()
        .with_recorder(prometheus.recorder())
        .layer(router.clone());
    assert_eq!(get_path(&outside, "/nope").await, 404);
    assert!(captured.text().is_empty(), "a 404 is what unmatched means");
    for _ in 0..3 {
        assert_eq!(get_path(&outside, "/items/7").await, 200);
    }
    let text = captured.text();
    assert_eq!(text.matches("matched no route").count(), 1, "once: {text}");
    assert!(text.contains("Stack::apply(router)"), "{text}");
    let metrics = prometheus.render();
    assert!(metrics.contains("http_route=\"unmatched\""), "{metrics}");

    let inside = router.layer(MetricsLayer::new().with_recorder(Prometheus::new().recorder()));
    let before = captured.text().len();
    let request = Request::get("/items/7").body(Body::empty()).unwrap();
    assert_eq!(inside.oneshot(request).await.unwrap().status(), 200);
    assert_eq!(
        captured.text().len(),
        before,
        "no warning inside the router"
    );
}

/// A configured route key with a typo names no route: the first request whose path fits it,
/// which the router cannot route, logs one WARN naming the key.
#[tokio::test]
async fn a_configured_key_that_names_no_route_is_reported_once() {
    let (captured, _guard) = Captured::logs();

    let app: Router = Router::new()
        .route("/v1/users/{id}", get(|| async { "user" }))
        .layer(
            MetricsLayer::new()
                .with_recorder(Prometheus::new().recorder())
                .configured_routes(["/v1/user/{id}", "/v1/users/{id}"]),
        );
    let status = |path: &'static str| {
        let app = app.clone();
        async move {
            let request = Request::get(path).body(Body::empty()).unwrap();
            app.oneshot(request).await.unwrap().status().as_u16()
        }
    };
    assert_eq!(status("/v1/users/5").await, 200);
    assert_eq!(status("/nothing/here").await, 404);
    assert!(captured.text().is_empty(), "{}", captured.text());
    for _ in 0..3 {
        assert_eq!(status("/v1/user/5").await, 404);
    }
    let text = captured.text();
    assert_eq!(
        text.matches("no route has this template").count(),
        1,
        "once: {text}"
    );
    assert!(text.contains("`/v1/user/{id}`"), "{text}");
}
