//! How long a purge on one instance takes to reach another through the shared tier: two
//! caches on one real `redis-server`, an entry warm in both, a purge on the first, then the
//! second asked every 100 µs until it misses.
//!
//! Run with `cargo bench -p rampart-benches --bench cache_invalidation` (needs `redis-server`).

#![allow(clippy::print_stdout)]

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use rampart_cache::{CacheLayer, CacheRule, Purge, RedisTier};
use rampart_test_support::RedisServer;
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

const ROUNDS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let origin = tower::service_fn(|_: Request<axum::body::Body>| async {
        let mut response = Response::new(Full::new(Bytes::from_static(b"item")));
        response
            .headers_mut()
            .insert("cache-control", "max-age=3600".parse().expect("valid"));
        Ok::<_, Infallible>(response)
    });
    let instance = || {
        let tier = RedisTier::try_new(&server.url())
            .expect("a redis url")
            .deadline(Duration::from_secs(1));
        CacheLayer::builder()
            .default_rule(CacheRule::new())
            .shared_tier(tier)
            .build()
    };
    let (first, second) = (instance(), instance());
    let purger = first.handle();
    let (first, second) = (first.layer(origin), second.layer(origin));
    let status = |service: &rampart_cache::Cache<_>, path: String| {
        let service = service.clone();
        async move {
            let request = Request::get(path)
                .header("host", "bench.test")
                .body(axum::body::Body::empty())
                .expect("valid");
            let response = service.oneshot(request).await.expect("infallible");
            let hit = response.headers()["cache-status"]
                .to_str()
                .expect("ascii")
                .contains("hit");
            let _ = response.into_body().collect().await;
            hit
        }
    };
    // Both instances subscribe on their first request.
    status(&first, "/warmup".into()).await;
    status(&second, "/warmup".into()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut delays = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let path = format!("/items/{round}");
        status(&first, path.clone()).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            status(&second, path.clone()).await,
            "the second instance shares the entry"
        );
        assert!(status(&second, path.clone()).await);
        let started = Instant::now();
        purger
            .purge(Purge::Key(path.clone()))
            .await
            .expect("redis is up");
        let purged = started.elapsed();
        while status(&second, path.clone()).await {
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        delays.push((purged, started.elapsed()));
    }
    let mut calls: Vec<Duration> = delays.iter().map(|d| d.0).collect();
    let mut seen: Vec<Duration> = delays.iter().map(|d| d.1).collect();
    calls.sort();
    seen.sort();
    println!(
        "purge call (local + redis delete + publish): p50={:.2?} p99={:.2?} max={:.2?}",
        percentile(&calls, 0.5),
        percentile(&calls, 0.99),
        calls[calls.len() - 1]
    );
    println!(
        "purge seen by the other instance:            p50={:.2?} p99={:.2?} max={:.2?}",
        percentile(&seen, 0.5),
        percentile(&seen, 0.99),
        seen[seen.len() - 1]
    );
    drop(server);
}
