//! Uploads over TCP against the route deadline: a slow steady upload completes, a client that
//! stops sending gets 408 and the connection closes.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use rampart_tests::{client, metrics_text, series, start};
use reqwest::StatusCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// 8 MiB at about 4 MiB/s, under the default 1 s deadline: the deadline bounds the server's
/// work, not the client's upload speed (this was `504 … did not complete within 1s`).
#[tokio::test]
async fn a_slow_steady_upload_completes_under_a_short_deadline() {
    let server = start("").await;
    let chunk = Bytes::from(vec![b'x'; 256 * 1024]);
    let chunks = futures_util::stream::unfold(0u32, move |sent| {
        let chunk = chunk.clone();
        async move {
            if sent == 32 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(62)).await;
            Some((Ok::<_, std::io::Error>(chunk), sent + 1))
        }
    });
    let response = client()
        .post(server.url("/api/upload"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["bytes"], 8 * 1024 * 1024);
}

/// A client that sends the head and part of the body, then nothing: `408` problem+json with
/// `Connection: close` after the body timeout, counted, and the connection is closed.
#[tokio::test]
async fn a_client_that_stops_sending_the_body_gets_408() {
    let server = start("[stack.timeout]\nrequest_body = \"300ms\"\n").await;
    let mut socket = TcpStream::connect(server.addr()).await.unwrap();
    let head = "POST /api/upload HTTP/1.1\r\nhost: test\r\ncontent-length: 100000\r\n\r\n";
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&[b'x'; 1000]).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes within 10 s");
    read.unwrap();
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 408 "), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(
        answer.contains("\"code\":\"request_body_timeout\""),
        "{answer}"
    );
    let text = metrics_text(&server).await;
    assert_eq!(
        series(
            &text,
            "rampart_request_body_timeouts_total",
            &[("http_route", "/api/upload")]
        ),
        Some(1.0),
        "{text}"
    );
}
