//! The circuit breaker's closed-state hot path: a bare service against the same service behind
//! `CircuitBreakerLayer`, on one thread and with two threads calling through one breaker.
//!
//! Run with `cargo bench -p rampart-benches --bench breaker`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

#[path = "support/immediate.rs"]
mod immediate;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response, StatusCode};
use rampart_breaker::{BreakerConfig, BreakerScope, CircuitBreakerLayer};
use std::convert::Infallible;
use tower::{Layer, service_fn};

use immediate::{call, per_call};

async fn ok(_: Request<()>) -> Result<Response<()>, Infallible> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

fn bench(c: &mut Criterion) {
    let breaker = CircuitBreakerLayer::new(BreakerConfig::default()).scope(BreakerScope::Global);
    let mut group = c.benchmark_group("breaker");
    group.bench_function("bare", |b| {
        let mut bare = service_fn(ok);
        b.iter(|| call(&mut bare));
    });
    group.bench_function("closed", |b| {
        let mut guarded = breaker.layer(service_fn(ok));
        b.iter(|| call(&mut guarded));
    });
    group.bench_function("closed_two_threads", |b| {
        b.iter_custom(|iters| per_call(2, iters, || breaker.layer(service_fn(ok))));
    });
    group.bench_function("bare_two_threads", |b| {
        b.iter_custom(|iters| per_call(2, iters, || service_fn(ok)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
