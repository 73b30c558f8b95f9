//! The circuit breaker on `/api/upstream`, driven through the admin chaos switch, over TCP.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, series, start};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// The example's breaker, with a short wait so the test does not sleep for seconds.
const CONFIG: &str = r#"
[server]
admin_token = "t0ken-long-enough-for-tests"

[stack.routes."/api/upstream".breaker]
window = { count = 20 }
minimum_calls = 10
failure_rate_threshold = 50.0
slow_call_rate_threshold = 80.0
slow_call_duration = "2s"
wait_duration = "300ms"
permitted_calls_in_half_open = 3
"#;

async fn chaos(server: &example_server::RunningServer, fail_percent: u8) {
    let response = client()
        .post(server.ops_url("/admin/chaos"))
        .bearer_auth("t0ken-long-enough-for-tests")
        .body(format!(r#"{{"fail_percent": {fail_percent}}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn breaker_state(server: &example_server::RunningServer) -> Value {
    let response = client()
        .get(server.ops_url("/admin/breakers"))
        .bearer_auth("t0ken-long-enough-for-tests")
        .send()
        .await
        .unwrap();
    let breakers: Value = response.json().await.unwrap();
    breakers
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "/api/upstream")
        .cloned()
        .unwrap()
}

async fn metrics(server: &example_server::RunningServer) -> String {
    let response = client()
        .get(server.ops_url("/metrics"))
        .send()
        .await
        .unwrap();
    response.text().await.unwrap()
}

#[tokio::test]
async fn chaos_trips_the_breaker_and_recovery_closes_it() {
    let server = start(CONFIG).await;
    let client = client();
    let upstream = server.url("/api/upstream");

    chaos(&server, 100).await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(client.get(&upstream).send().await.unwrap().status());
    }
    assert!(
        statuses.iter().all(|s| *s == StatusCode::BAD_GATEWAY),
        "{statuses:?}"
    );

    // The tenth failure reached the minimum: now the breaker answers at once.
    let rejected = client.get(&upstream).send().await.unwrap();
    assert_eq!(rejected.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejected.headers()["retry-after"], "1");
    assert_eq!(
        rejected.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = rejected.json().await.unwrap();
    assert_eq!(problem["code"], "circuit_open");
    assert_eq!(breaker_state(&server).await["state"], "open");
    let text = metrics(&server).await;
    let breaker = [("breaker", "/api/upstream")];
    assert_eq!(series(&text, "rampart_breaker_state", &breaker), Some(1.0));

    // The dependency recovers; after the wait, three probes close the breaker.
    chaos(&server, 0).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let probe = client.get(&upstream).send().await.unwrap();
    assert_eq!(probe.status(), StatusCode::OK);
    assert_eq!(breaker_state(&server).await["state"], "half_open");
    let text = metrics(&server).await;
    assert_eq!(series(&text, "rampart_breaker_state", &breaker), Some(2.0));
    for _ in 0..2 {
        assert_eq!(
            client.get(&upstream).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
    assert_eq!(breaker_state(&server).await["state"], "closed");

    let text = metrics(&server).await;
    assert_eq!(series(&text, "rampart_breaker_state", &breaker), Some(0.0));
    let transitions = |from: &'static str, to: &'static str| {
        let labels = [("breaker", "/api/upstream"), ("from", from), ("to", to)];
        series(&text, "rampart_breaker_transitions_total", &labels)
    };
    assert_eq!(transitions("closed", "open"), Some(1.0));
    assert_eq!(transitions("open", "half_open"), Some(1.0));
    assert_eq!(transitions("half_open", "closed"), Some(1.0));
    let rejected_calls = [("breaker", "/api/upstream"), ("outcome", "rejected")];
    assert_eq!(
        series(&text, "rampart_breaker_calls_total", &rejected_calls),
        Some(1.0)
    );
    // The request metrics saw the breaker's 503 too.
    let answered = [
        ("http_route", "/api/upstream"),
        ("http_response_status_code", "503"),
    ];
    assert_eq!(
        series(
            &text,
            "http_server_request_duration_seconds_count",
            &answered
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn operators_force_the_breaker_through_admin() {
    let server = start(CONFIG).await;
    let client = client();
    client
        .get(server.url("/api/upstream"))
        .send()
        .await
        .unwrap();

    let force = |state: &'static str| {
        client
            .post(server.ops_url("/admin/breakers"))
            .bearer_auth("t0ken-long-enough-for-tests")
            .body(format!(
                r#"{{"breaker": "/api/upstream", "state": "{state}"}}"#
            ))
            .send()
    };
    let forced = force("forced_open").await.unwrap();
    assert_eq!(forced.status(), StatusCode::OK);
    let snapshot: Value = forced.json().await.unwrap();
    assert_eq!(snapshot["state"], "forced_open");
    let rejected = client
        .get(server.url("/api/upstream"))
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::SERVICE_UNAVAILABLE);

    assert_eq!(force("closed").await.unwrap().status(), StatusCode::OK);
    let ok = client
        .get(server.url("/api/upstream"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    let unknown = client
        .post(server.ops_url("/admin/breakers"))
        .bearer_auth("t0ken-long-enough-for-tests")
        .body(r#"{"breaker": "/nope", "state": "closed"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let bad = client
        .post(server.ops_url("/admin/breakers"))
        .bearer_auth("t0ken-long-enough-for-tests")
        .body(r#"{"breaker": "/api/upstream", "state": "half_open"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
