//! Concurrent misses for one key: one origin call, and no waiter left hanging.

mod support;

use rampart_cache::{CacheLayer, CacheRule};
use std::time::Duration;
use support::{Origin, cached, get, response, send};
use tokio::time::Instant;
use tower::Layer;

#[tokio::test(start_paused = true)]
async fn a_thousand_concurrent_misses_make_one_origin_call() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "shared"));
    origin.delay(Duration::from_millis(100));
    let cache = cached(&origin, CacheRule::new());
    let clients: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { send(&cache, get("/cold", &[])).await })
        })
        .collect();
    let mut stored = 0;
    for client in clients {
        let seen = client.await.expect("no client panics");
        assert_eq!(seen.status, 200);
        assert_eq!(seen.body, "shared");
        stored += usize::from(seen.cache_status().contains("stored"));
    }
    assert_eq!(origin.calls(), 1);
    assert_eq!(
        stored, 1,
        "one leader stored, the others were answered from its entry"
    );
}

#[tokio::test(start_paused = true)]
async fn a_leader_whose_client_leaves_does_not_strand_the_others() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "shared"));
    origin.delay(Duration::from_secs(1));
    let cache = cached(&origin, CacheRule::new());
    let leader = {
        let cache = cache.clone();
        tokio::spawn(async move { send(&cache, get("/cold", &[])).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    let followers: Vec<_> = (0..10)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { send(&cache, get("/cold", &[])).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;
    // The leader's client disconnects: its request future is dropped mid-flight.
    leader.abort();
    let started = Instant::now();
    for follower in followers {
        let seen = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("no follower hangs")
            .expect("no follower panics");
        assert_eq!(seen.body, "shared");
    }
    assert_eq!(origin.calls(), 2, "one follower took over as leader");
    assert!(started.elapsed() <= Duration::from_millis(1010));
}

#[tokio::test(start_paused = true)]
async fn waiters_give_up_on_a_slow_leader_after_the_bound() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "slow"));
    origin.delay(Duration::from_secs(10));
    let cache = CacheLayer::builder()
        .default_rule(CacheRule::new())
        .coalesce_wait(Duration::from_secs(1))
        .build()
        .layer(origin.service());
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { send(&cache, get("/slow", &[])).await })
        })
        .collect();
    let started = Instant::now();
    for client in clients {
        client.await.expect("no client panics");
    }
    assert_eq!(origin.calls(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(11));
}

#[tokio::test(start_paused = true)]
async fn waiters_for_an_uncacheable_answer_go_to_the_origin_together() {
    let origin = Origin::new(|_| response(&[("cache-control", "private")], "mine"));
    origin.delay(Duration::from_secs(1));
    let cache = cached(&origin, CacheRule::new());
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { send(&cache, get("/private", &[])).await })
        })
        .collect();
    let started = Instant::now();
    for client in clients {
        assert_eq!(client.await.expect("no client panics").body, "mine");
    }
    assert_eq!(origin.calls(), 20);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "not one after the other"
    );
}
