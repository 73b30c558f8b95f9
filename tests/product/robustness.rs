//! Bad input over raw TCP: the server answers, stays up, and loses nothing.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, start};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends raw bytes and returns the status line of the answer (empty if the server closed).
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server neither answered nor closed");
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn malformed_requests_get_400_and_the_server_keeps_serving() {
    let server = start("").await;
    let cases: [&[u8]; 4] = [
        b"GET /api/hello HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n",
        b"GET /api/hello HTTP/1.1\r\nhost: x\r\ncontent-length: nope\r\n\r\n",
        b"\x00\x01\x02 garbage\r\n\r\n",
        b"GET /api/hello HTTP/1.1\r\nhost: x\r\nx-\xff\xfe: y\r\n\r\n",
    ];
    for request in cases {
        let status = raw(server.addr(), request).await;
        assert!(
            status.is_empty() || status.starts_with("HTTP/1.1 400"),
            "{status:?} for {request:?}"
        );
    }
    let response = client().get(server.url("/api/hello")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn absurd_paths_and_headers_are_answered_not_fatal() {
    let server = start("").await;
    let long_path = format!("/api/items/{}", "9".repeat(4000));
    let response = client().get(server.url(&long_path)).send().await.unwrap();
    assert_eq!(response.status(), 400);

    let response = client()
        .get(server.url("/api/hello"))
        .header("accept-encoding", "x".repeat(8000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let response = client()
        .get(server.url("/api/report"))
        .header("accept-encoding", "gzip;q=abc, br;q=2, zstd;q=-1")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}
