//! How long a rate-limit decision in Redis takes, on loopback, against a real `redis-server`
//! started here: one caller after another, then 64 callers at once (their calls share
//! round trips on the multiplexed connection). Beside it, a bare `PING` round trip.
//!
//! Run with `cargo bench -p rampart-benches --bench redis_latency` (needs `redis-server`).

#![allow(clippy::print_stdout)]

use rampart_test_support::RedisServer;

use rampart_ratelimit::{Key, Quota, RateLimiter, RedisBackend, Verdict};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

const SEQUENTIAL: usize = 10_000;
const CALLERS: usize = 64;
const PER_CALLER: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<36} n={:<6} p50={:>8.1?} p99={:>8.1?} p99.9={:>8.1?} max={:>8.1?}",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999),
        samples[samples.len() - 1],
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    // A bare round trip, for scale.
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let mut pings = Vec::with_capacity(SEQUENTIAL);
    let mut reply = [0u8; 7];
    for _ in 0..SEQUENTIAL {
        let start = Instant::now();
        stream.write_all(b"PING\r\n").await.expect("write");
        stream.read_exact(&mut reply).await.expect("read");
        pings.push(start.elapsed());
    }
    report("PING round trip", pings);

    let backend = RedisBackend::try_new(&server.url())
        .expect("a redis url")
        .deadline(Duration::from_secs(1));
    let limiter = Arc::new(
        RateLimiter::builder()
            .policy("per_ip", Quota::per_second(1_000_000_000))
            .redis(backend)
            .build()
            .expect("a valid quota"),
    );
    let keys = [Key::text("203.0.113.7")];
    for _ in 0..100 {
        assert!(matches!(limiter.decide(&keys).await, Verdict::Allowed(_)));
    }

    let mut sequential = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let start = Instant::now();
        let verdict = limiter.decide(&keys).await;
        sequential.push(start.elapsed());
        assert!(matches!(verdict, Verdict::Allowed(_)));
    }
    report("decision, one caller", sequential);

    let started = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let keys = [Key::text(format!("client-{caller}"))];
                let mut samples = Vec::with_capacity(PER_CALLER);
                for _ in 0..PER_CALLER {
                    let start = Instant::now();
                    let verdict = limiter.decide(&keys).await;
                    samples.push(start.elapsed());
                    assert!(matches!(verdict, Verdict::Allowed(_)));
                }
                samples
            })
        })
        .collect();
    let mut concurrent = Vec::with_capacity(CALLERS * PER_CALLER);
    for task in tasks {
        concurrent.extend(task.await.expect("caller"));
    }
    let elapsed = started.elapsed();
    let total = concurrent.len();
    report("decision, 64 callers at once", concurrent);
    println!(
        "64 callers: {total} decisions in {elapsed:.2?} = {:.0} decisions/s",
        total as f64 / elapsed.as_secs_f64()
    );
    drop(server);
}
