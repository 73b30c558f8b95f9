//! The concurrency limit's fast path (a slot free): a bare service against the same service
//! behind `ConcurrencyLimitLayer`, adaptive and fixed, on one thread and with two threads
//! calling through one limit. Target (issue 14): under 100 ns per call.
//!
//! Run with `cargo bench -p rampart-benches --bench concurrency`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{Request, Response};
use rampart_concurrency::{ConcurrencyLimitLayer, GradientLimit};
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service, service_fn};

async fn ok(_: Request<()>) -> Result<Response<()>, Infallible> {
    Ok(Response::new(()))
}

/// One call, polled once: every service here answers without waiting.
fn call<S>(service: &mut S)
where
    S: Service<Request<()>, Error = Infallible>,
{
    let response = service.call(Request::new(())).now_or_never();
    black_box(response.expect("answers at once").expect("infallible"));
}

/// The time `threads` threads take to make `iters` calls each through `make()`'s services.
fn per_call<S, F>(threads: usize, iters: u64, make: F) -> Duration
where
    S: Service<Request<()>, Error = Infallible> + Send + 'static,
    F: Fn() -> S,
{
    let services: Vec<S> = (0..threads).map(|_| make()).collect();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for mut service in services {
            scope.spawn(move || {
                for _ in 0..iters {
                    call(&mut service);
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    // Measured once (one call), then adapting with room to spare: the fast path.
    let adaptive = ConcurrencyLimitLayer::adaptive(
        GradientLimit::new()
            .min(64)
            .initial(1000)
            .min_rtt_samples(1),
    );
    let fixed = ConcurrencyLimitLayer::fixed(1000);
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
