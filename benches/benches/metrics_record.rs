//! What recording costs per request.
//!
//! - `service/*`: a bare `tower::service_fn` against the same service behind `MetricsLayer`:
//!   the layer's own cost (handle lookup, clock reads, three histogram samples, the gauge).
//! - `router/*`: an axum router with and without `.layer(MetricsLayer)`: what a user pays,
//!   including axum's own cost of running a route through a layer.
//!
//! Run with `cargo bench -p rampart-benches --bench metrics_record`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::BodyExt;
use rampart_metrics::{MetricsLayer, Prometheus};
use std::convert::Infallible;
use std::hint::black_box;
use tower::{Layer, Service, ServiceExt, service_fn};

fn request() -> Request<Body> {
    Request::get("/api/items/7")
        .body(Body::empty())
        .expect("valid request")
}

async fn item(_: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::from("item")))
}

async fn one_call<S, B>(mut service: S)
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = service.call(request()).await.expect("infallible");
    let body = response.into_body().collect().await.expect("body");
    black_box(body);
}

fn router() -> Router {
    Router::new().route("/api/items/{id}", get(|| async { "item" }))
}

async fn one_routed(app: Router) {
    let response = app.oneshot(request()).await.expect("infallible");
    let body = response.into_body().collect().await.expect("infallible");
    black_box(body);
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let prometheus = Prometheus::new();
    let layer = MetricsLayer::new().with_recorder(prometheus.recorder());

    let mut group = c.benchmark_group("service");
    group.bench_function("bare", |b| {
        let bare = service_fn(item);
        b.to_async(&runtime).iter(|| one_call(bare));
    });
    group.bench_function("with_metrics_layer", |b| {
        let measured = layer.layer(service_fn(item));
        b.to_async(&runtime).iter(|| one_call(measured.clone()));
    });
    group.finish();

    let bare = router();
    let measured = router().layer(layer);
    let mut group = c.benchmark_group("router");
    group.bench_function("bare", |b| {
        b.to_async(&runtime).iter(|| one_routed(bare.clone()));
    });
    group.bench_function("with_metrics_layer", |b| {
        b.to_async(&runtime).iter(|| one_routed(measured.clone()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
