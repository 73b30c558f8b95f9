//! `/metrics`, health and admin on their own listener (`server.ops_listen`): off the public
//! address, and the API off theirs.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, start};
use reqwest::StatusCode;

const SPLIT: &str = r#"
[server]
ops_listen = "127.0.0.1:0"
admin_token = "s3cret-admin-token-for-tests"
"#;

async fn status(url: String) -> StatusCode {
    client()
        .get(url)
        .bearer_auth("s3cret-admin-token-for-tests")
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn operations_have_their_own_listener_and_leave_the_public_one() {
    let server = start(SPLIT).await;
    assert_ne!(server.url("/"), server.ops_url("/"));

    assert_eq!(status(server.url("/api/hello")).await, StatusCode::OK);
    for path in ["/metrics", "/health/live", "/health/ready", "/admin/chaos"] {
        assert_eq!(
            status(server.url(path)).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(status(server.ops_url(path)).await, StatusCode::OK, "{path}");
    }
    assert_eq!(
        status(server.ops_url("/api/hello")).await,
        StatusCode::NOT_FOUND
    );
    // One registry: the operations listener reports the public traffic.
    let metrics = client()
        .get(server.ops_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("http_route=\"/api/hello\""), "{metrics}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn without_an_operations_listener_everything_is_on_one() {
    let server = start("[server]\nadmin_token = \"s3cret-admin-token-for-tests\"\n").await;
    assert_eq!(server.url("/metrics"), server.ops_url("/metrics"));
    for path in ["/api/hello", "/metrics", "/health/live", "/admin/chaos"] {
        assert_eq!(status(server.url(path)).await, StatusCode::OK, "{path}");
    }
}
