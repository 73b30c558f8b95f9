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
    let metrics = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let body = metrics.text().await.unwrap();
    assert!(
        body.contains("rampart_ratelimit_requests_total{policy=\"per_ip\",outcome=\"error\"} 1"),
        "{body}"
    );
}
