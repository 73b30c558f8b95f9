//! Rate limits shared through a real `redis-server`: two instances, one quota; Redis killed
//! and restarted in the middle of a run; fail open and fail closed.

#![allow(clippy::unwrap_used)]

use rampart_tests::{RedisServer, client, metrics_text, series, start};
use reqwest::StatusCode;
use std::time::Duration;

fn config(redis_url: &str, fail_mode: &str, limit: u32) -> String {
    format!(
        r#"
[[stack.ratelimit.policies]]
name = "per_ip"
limit = {limit}
period = "1h"
key = "client_ip"

[stack.ratelimit.redis]
url = "{redis_url}"
deadline = "200ms"
fail_mode = "{fail_mode}"

[stack.routes."/metrics"]
ratelimit = []
"#
    )
}

async fn statuses(server: &example_server::RunningServer, count: usize) -> Vec<StatusCode> {
    let client = client();
    let mut statuses = Vec::new();
    for _ in 0..count {
        statuses.push(
            client
                .get(server.url("/api/hello"))
                .send()
                .await
                .unwrap()
                .status(),
        );
    }
    statuses
}

fn admitted(statuses: &[StatusCode]) -> usize {
    statuses.iter().filter(|s| **s == StatusCode::OK).count()
}

#[tokio::test]
async fn two_instances_share_one_quota() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let config = config(&redis.url(), "open", 10);
    let first = start(&config).await;
    let second = start(&config).await;
    let mut all = statuses(&first, 8).await;
    all.extend(statuses(&second, 8).await);
    assert_eq!(admitted(&all), 10, "{all:?}");
    assert!(
        all.iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS)
    );
}

#[tokio::test]
async fn redis_killed_mid_run_fails_open_and_recovers() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let config = config(&redis.url(), "open", 5);
    let first = start(&config).await;
    let second = start(&config).await;
    assert_eq!(admitted(&statuses(&first, 3).await), 3);

    redis.kill();
    // Down: answered by each instance's own limiter, never a 500.
    let during = statuses(&second, 8).await;
    assert!(
        during
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
        "{during:?}"
    );
    assert_eq!(
        admitted(&during),
        5,
        "the local quota applies while Redis is down"
    );
    // Decided without Redis: each is an error of the shared decision, admitted or not.
    let errors = series(
        &metrics_text(&second).await,
        "rampart_ratelimit_requests_total",
        &[("policy", "per_ip"), ("outcome", "error")],
    );
    assert_eq!(errors, Some(8.0));

    redis.restart().await;
    // Back: the instances share Redis again. Allow the client a moment to reconnect.
    let mut shared = false;
    for _ in 0..50 {
        let a = statuses(&first, 1).await;
        if a == [StatusCode::OK] {
            shared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        shared,
        "the first instance never got a Redis decision again"
    );
    // Spend the rest of the (fresh, shared) quota on the first instance ...
    assert_eq!(admitted(&statuses(&first, 4).await), 4);
    // ... and the second instance sees it spent: its own local state would still allow.
    let after = statuses(&second, 2).await;
    assert_eq!(after, [StatusCode::TOO_MANY_REQUESTS; 2]);
}

#[tokio::test]
async fn fail_closed_answers_503_problem_while_redis_is_down() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let server = start(&config(&redis.url(), "closed", 100)).await;
    assert_eq!(statuses(&server, 1).await, [StatusCode::OK]);
    redis.kill();
    let response = client().get(server.url("/api/hello")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("rate_limit_unavailable"), "{text}");
    // Operations routes are not behind the limiter at all.
    let metrics = client()
        .get(server.ops_url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let body = metrics.text().await.unwrap();
    assert!(
        body.contains("rampart_ratelimit_requests_total{policy=\"per_ip\",outcome=\"error\"} 1"),
        "{body}"
    );
}

/// How long each of `count` requests took, one after the other.
async fn latencies(server: &example_server::RunningServer, count: usize) -> Vec<Duration> {
    let client = client();
    let mut latencies = Vec::new();
    for _ in 0..count {
        let started = tokio::time::Instant::now();
        let status = client
            .get(server.url("/api/hello"))
            .send()
            .await
            .unwrap()
            .status();
        latencies.push(started.elapsed());
        assert!(status == StatusCode::OK || status == StatusCode::TOO_MANY_REQUESTS);
    }
    latencies
}

/// How many quota keys Redis holds.
async fn quota_keys(redis: &RedisServer) -> usize {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("rampart:rl:*")
        .query_async(&mut connection)
        .await
        .unwrap();
    keys.len()
}

async fn flush(redis: &RedisServer) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut connection)
        .await
        .unwrap();
}

/// Requests until the instance writes its quota to Redis again; how long that took.
async fn until_shared(server: &example_server::RunningServer, redis: &RedisServer) -> Duration {
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        latencies(server, 1).await;
        if quota_keys(redis).await > 0 {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the instance did not decide through Redis again within 10 s");
}

/// A hung Redis (SIGSTOP) costs a few requests their deadline, not every request: the tier
/// stops asking, and one probe a second finds Redis back.
#[tokio::test]
async fn a_hung_redis_costs_a_few_requests_their_deadline_not_all_of_them() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let server = start(&config(&redis.url(), "open", 1_000_000)).await;
    assert_eq!(admitted(&statuses(&server, 2).await), 2);

    redis.pause();
    let started = tokio::time::Instant::now();
    let during = latencies(&server, 100).await;
    let elapsed = started.elapsed();
    let waited = during
        .iter()
        .filter(|latency| **latency >= Duration::from_millis(190))
        .count();
    // Three failures open the gate; then one probe a second waits out the 200 ms deadline.
    let probes = usize::try_from(elapsed.as_secs()).unwrap() + 1;
    assert!(
        waited <= 3 + probes,
        "{waited} of 100 requests waited out the deadline in {elapsed:?}"
    );

    redis.resume();
    flush(&redis).await;
    let back = until_shared(&server, &redis).await;
    assert!(
        back <= Duration::from_secs(5),
        "shared again after {back:?}"
    );
}

/// A connection to Redis that dies without a word (a NAT entry expired: no FIN, no RST) is
/// replaced: redis-rs alone keeps waiting on it, since the deadline cancels every call before
/// it could see an error.
#[tokio::test]
async fn a_redis_connection_that_dies_silently_is_replaced() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let proxy = rampart_tests::SilentProxy::start(redis.addr()).await;
    let server = start(&config(&proxy.redis_url(), "open", 1_000_000)).await;
    assert_eq!(admitted(&statuses(&server, 2).await), 2);
    assert_eq!(quota_keys(&redis).await, 1);

    proxy.silence_open_connections();
    flush(&redis).await;
    let back = until_shared(&server, &redis).await;
    assert!(
        back <= Duration::from_secs(5),
        "shared again after {back:?}"
    );
}
