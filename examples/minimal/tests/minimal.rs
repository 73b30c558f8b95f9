//! Runs the example's binary on a free loopback port and asks it over TCP.

#![allow(clippy::unwrap_used)]

use rampart_test_support::start_listening;

#[tokio::test]
async fn answers_through_the_stack_and_serves_its_metrics() {
    let (mut child, base) = start_listening(env!("CARGO_BIN_EXE_minimal"), &[]).await;
    let client = reqwest::Client::new();

    let hello = client.get(format!("{base}/hello")).send().await.unwrap();
    assert_eq!(hello.status(), 200);
    assert_eq!(hello.text().await.unwrap(), "hello, world\n");

    let missing = client.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/hello\""),
        "{text}"
    );
    child.kill().await.unwrap();
}
