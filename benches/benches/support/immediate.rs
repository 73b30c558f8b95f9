//! Calling services that answer without waiting: one call polled once, and many calls from
//! several threads at once, for the hot-path benchmarks of the layers.

use futures_util::FutureExt;
use http::Request;
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;
use tokio::time::Instant;
use tower::Service;

/// One call, polled once: every service here answers without waiting.
pub(crate) fn call<S>(service: &mut S)
where
    S: Service<Request<()>, Error = Infallible>,
{
    let response = service.call(Request::new(())).now_or_never();
    black_box(response.expect("answers at once").expect("infallible"));
}

/// The time `threads` threads take to make `iters` calls each through `make()`'s services:
/// the latency one caller sees while the others call too.
pub(crate) fn per_call<S, F>(threads: usize, iters: u64, make: F) -> Duration
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
