//! Rate limiting over TCP: per-client quotas, 429 answers and headers, unlimited operations.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, series, start};
use reqwest::StatusCode;
use serde_json::Value;

const CONFIG: &str = r#"
[[stack.ratelimit.policies]]
name = "per_ip"
limit = 3
period = "1h"
key = "client_ip"

[stack.routes."/health/live"]
ratelimit = []
"#;

#[tokio::test]
async fn a_client_over_its_quota_gets_429_with_headers() {
    let server = start(CONFIG).await;
    let client = client();
    for remaining in ["2", "1", "0"] {
        let response = client.get(server.url("/api/hello")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"per_ip\";q=3;w=3600"
        );
        let state = response.headers()["ratelimit"].to_str().unwrap().to_owned();
        assert!(
            state.starts_with(&format!("\"per_ip\";r={remaining};t=")),
            "{state}"
        );
    }
    let refused = client.get(server.url("/api/items/1")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1200");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");

    // A forged X-Forwarded-For from this (untrusted) peer does not buy a new quota.
    let spoofed = client
        .get(server.url("/api/hello"))
        .header("x-forwarded-for", "198.51.100.77")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);

    // Routes that opted out stay reachable.
    let health = client
        .get(server.ops_url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().get("ratelimit").is_none());

    let metrics = client.get(server.ops_url("/metrics")).send().await;
    // /metrics has no opt-out in this config: it shares the spent quota.
    assert_eq!(metrics.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_default_config_limits_the_api_only() {
    let server = start("").await;
    let client = client();
    let response = client.get(server.url("/api/hello")).send().await.unwrap();
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"per_ip\";q=100;w=1"
    );
    let metrics = client.get(server.ops_url("/metrics")).send().await.unwrap();
    assert!(metrics.headers().get("ratelimit").is_none());
    let text = metrics.text().await.unwrap();
    let allowed = [("policy", "per_ip"), ("outcome", "allowed")];
    assert_eq!(
        series(&text, "rampart_ratelimit_requests_total", &allowed),
        Some(1.0)
    );
}

/// Behind a proxy that appends the peer it saw to `X-Forwarded-For` (nginx
/// `$proxy_add_x_forwarded_for`, AWS ALB): here the test is that proxy, on 127.0.0.1, and every
/// request comes from the same client, 198.51.100.7, which adds headers of its own.
#[tokio::test]
async fn behind_a_proxy_a_client_cannot_choose_its_own_key() {
    let server = start(
        r#"
[stack.ratelimit]
client_ip = { trusted_proxies = ["127.0.0.1"], header = "x-forwarded-for" }

[[stack.ratelimit.policies]]
name = "per_ip"
limit = 5
period = "1h"
key = "client_ip"
"#,
    )
    .await;
    let client = client();
    let mut admitted = 0;
    for n in 0..60 {
        let request = client.get(server.url("/api/hello"));
        let request = if n % 2 == 0 {
            // Its own `Forwarded`, a fresh address each time.
            request
                .header("forwarded", format!("for=192.0.2.{n}"))
                .header("x-forwarded-for", "198.51.100.7")
        } else {
            // A junk element ahead of what the proxy appended, and its own `X-Real-IP`.
            request
                .header("x-forwarded-for", format!("junk-{n}, 198.51.100.7"))
                .header("x-real-ip", format!("192.0.2.{n}"))
        };
        if request.send().await.unwrap().status() == StatusCode::OK {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5, "one client, one quota");

    // Another client behind the same proxy has its own.
    let other = client
        .get(server.url("/api/hello"))
        .header("x-forwarded-for", "198.51.100.8")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
}
