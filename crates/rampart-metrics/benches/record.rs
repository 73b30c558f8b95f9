//! What recording costs per request: the same axum router with and without `MetricsLayer`.
//!
//! Run with `cargo bench -p rampart-metrics --bench record`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use http_body_util::BodyExt;
use rampart_metrics::{MetricsLayer, Prometheus};
use std::hint::black_box;
use tower::ServiceExt;

fn router() -> Router {
    Router::new().route("/api/items/{id}", get(|| async { "item" }))
}

async fn one_request(app: Router) {
    let request = Request::get("/api/items/7")
        .body(Body::empty())
        .expect("valid request");
    let response = app.oneshot(request).await.expect("infallible");
    let body = response.into_body().collect().await.expect("infallible");
    black_box(body);
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let prometheus = Prometheus::new();
    let bare = router();
    let measured = router().layer(MetricsLayer::new().with_recorder(prometheus.recorder()));

    let mut group = c.benchmark_group("metrics");
    group.bench_function("bare", |b| {
        b.to_async(&runtime).iter(|| one_request(bare.clone()));
    });
    group.bench_function("with_metrics_layer", |b| {
        b.to_async(&runtime).iter(|| one_request(measured.clone()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
