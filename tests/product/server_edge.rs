//! The example server's edge under a slow-connection flood: heads that never arrive are cut at
//! the header-read timeout, the connection cap holds, health checks get through, and a
//! half-sent request does not hold the shutdown.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, start};
use reqwest::StatusCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EDGE: &str = r#"
[server]
header_read_timeout = "500ms"
max_connections = 16
"#;

async fn slow_connection(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/hello HTTP/1.1\r\nho")
        .await
        .unwrap();
    stream
}

async fn is_closed(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 512];
    matches!(
        tokio::time::timeout(within, stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn a_slow_connection_flood_neither_holds_connections_nor_locks_out_health_checks() {
    let server = start(EDGE).await;
    let mut flood = Vec::new();
    for _ in 0..200 {
        flood.push(slow_connection(server.addr()).await);
    }
    // At the cap of 16, each newcomer closed the oldest connection without a head.
    let mut open = 0;
    for stream in &mut flood {
        open += usize::from(!is_closed(stream, Duration::from_millis(20)).await);
    }
    assert!(
        open <= 16,
        "{open} slow connections still open past the cap"
    );

    let health = tokio::time::timeout(
        Duration::from_secs(1),
        client().get(server.ops_url("/health/live")).send(),
    )
    .await
    .expect("/health/live answered within 1 s during the flood")
    .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // The rest are cut at the header-read timeout.
    for stream in &mut flood {
        assert!(is_closed(stream, Duration::from_secs(2)).await);
    }
}

#[tokio::test]
async fn a_half_sent_request_does_not_hold_the_shutdown() {
    let server = start(EDGE).await;
    let _half = slow_connection(server.addr()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The grace is 30 s; the half-sent request is cut at its 500 ms header-read timeout.
    tokio::time::timeout(Duration::from_secs(3), server.stop())
        .await
        .expect("stopped within 3 s")
        .unwrap();
}
