//! Routes left out of the request metrics, and routes recorded under a shared label.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use http_body_util::BodyExt;
use rampart_metrics::{MetricsLayer, Prometheus, RouteLabels};
use rampart_test_support::{series, series_lines};
use tower::ServiceExt;

const COUNT: &str = "http_server_request_duration_seconds_count";

fn app(prometheus: &Prometheus, labels: RouteLabels) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/admin/users", get(|| async { "users" }))
        .route("/admin/users/{id}", get(|| async { "user" }))
        .route("/api/items/{id}", get(|| async { "item" }))
        .layer(
            MetricsLayer::new()
                .with_recorder(prometheus.recorder())
                .route_labels(labels),
        )
}

async fn send(app: &Router, path: &str) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.into_body().collect().await.unwrap();
}

#[tokio::test]
async fn ignored_routes_have_no_series_and_grouped_ones_share_one() {
    let prometheus = Prometheus::new();
    let labels = RouteLabels::new()
        .ignore("/health")
        .group("/admin", ["/admin/users", "/admin/users/{id}"]);
    let app = app(&prometheus, labels);
    for path in [
        "/health",
        "/health",
        "/admin/users",
        "/admin/users/7",
        "/api/items/1",
    ] {
        send(&app, path).await;
    }

    let text = prometheus.render();
    assert!(
        !text.contains("/health"),
        "an ignored route has series:\n{text}"
    );
    assert_eq!(
        series(&text, COUNT, &[("http_route", "/admin")]),
        Some(2.0),
        "{text}"
    );
    assert!(
        !text.contains("/admin/users"),
        "a grouped route's template:\n{text}"
    );
    let gauges: Vec<_> = series_lines(
        &text,
        "http_server_active_requests",
        &[("http_route", "/admin")],
    )
    .collect();
    assert_eq!(gauges.len(), 1, "{gauges:?}");
    assert_eq!(
        series(&text, COUNT, &[("http_route", "/api/items/{id}")]),
        Some(1.0)
    );
}

#[tokio::test]
async fn without_route_labels_every_route_has_its_template() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus, RouteLabels::new());
    send(&app, "/health").await;
    send(&app, "/admin/users/7").await;
    let text = prometheus.render();
    assert_eq!(
        series(&text, COUNT, &[("http_route", "/health")]),
        Some(1.0)
    );
    assert_eq!(
        series(&text, COUNT, &[("http_route", "/admin/users/{id}")]),
        Some(1.0)
    );
}
