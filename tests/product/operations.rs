//! `/metrics`, health and admin on their own listener (`server.ops_listen`, on by default):
//! off the public address, and the API off theirs.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, start};
use reqwest::StatusCode;

/// The shipped `[server]` section with a token: no `ops_listen`, so its default.
const SHIPPED: &str = r#"
[server]
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
async fn by_default_operations_have_their_own_listener_and_leave_the_public_one() {
    let server = start(SHIPPED).await;
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
async fn with_ops_listen_public_everything_is_on_one_listener() {
    let server = start(
        "[server]\nops_listen = \"public\"\nadmin_token = \"s3cret-admin-token-for-tests\"\n",
    )
    .await;
    assert_eq!(server.url("/metrics"), server.ops_url("/metrics"));
    for path in ["/api/hello", "/metrics", "/health/live", "/admin/chaos"] {
        assert_eq!(status(server.url(path)).await, StatusCode::OK, "{path}");
    }
}
