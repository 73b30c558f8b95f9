//! The circuit breaker's closed-state hot path: a bare service against the same service behind
//! `CircuitBreakerLayer`, on one thread and with two threads calling through one breaker.
//!
//! Run with `cargo bench -p rampart-benches --bench breaker`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{Request, Response, StatusCode};
use rampart_breaker::{BreakerConfig, BreakerScope, CircuitBreakerLayer};
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service, service_fn};

async fn ok(_: Request<()>) -> Result<Response<()>, Infallible> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// One call, polled once: every service here answers without waiting.
fn call<S>(service: &mut S)
where
    S: Service<Request<()>, Error = Infallible>,
{
    let response = service.call(Request::new(())).now_or_never();
    black_box(response.expect("answers at once").expect("infallible"));
}

/// Nanoseconds per call while `threads` threads call `make()`'s services concurrently.
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
    // Each thread made `iters` calls in that time: this is the latency one caller sees.
    start.elapsed()
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
