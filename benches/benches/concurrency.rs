//! The concurrency limit's fast path (a slot free): a bare service against the same service
//! behind `ConcurrencyLimitLayer`, adaptive and fixed, on one thread and with two threads
//! calling through one limit. Target (issue 14): under 100 ns per call.
//!
//! Run with `cargo bench -p rampart-benches --bench concurrency`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

#[path = "support/immediate.rs"]
mod immediate;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use rampart_concurrency::{ConcurrencyLimitLayer, GradientLimit, Limit};
use std::convert::Infallible;
use tower::{Layer, service_fn};

use immediate::{call, per_call};

async fn ok(_: Request<()>) -> Result<Response<()>, Infallible> {
    Ok(Response::new(()))
}

fn bench(c: &mut Criterion) {
    // Measured once (one call), then adapting with room to spare: the fast path.
    let adaptive = ConcurrencyLimitLayer::new(Limit::adaptive(
        "bench",
        GradientLimit::new()
            .min(64)
            .initial(1000)
            .min_rtt_samples(1),
    ));
    let fixed = ConcurrencyLimitLayer::new(Limit::fixed("bench", 1000));
    let mut group = c.benchmark_group("concurrency");
    group.bench_function("bare", |b| {
        let mut bare = service_fn(ok);
        b.iter(|| call(&mut bare));
    });
    group.bench_function("adaptive", |b| {
        let mut limited = adaptive.layer(service_fn(ok));
        b.iter(|| call(&mut limited));
    });
    group.bench_function("fixed", |b| {
        let mut limited = fixed.layer(service_fn(ok));
        b.iter(|| call(&mut limited));
    });
    group.bench_function("adaptive_two_threads", |b| {
        b.iter_custom(|iters| per_call(2, iters, || adaptive.layer(service_fn(ok))));
    });
    group.bench_function("bare_two_threads", |b| {
        b.iter_custom(|iters| per_call(2, iters, || service_fn(ok)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
