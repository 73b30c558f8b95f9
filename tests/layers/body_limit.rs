//! Request body limits over TCP: a declared length over the limit refused before the body is
//! sent, a chunked body counted as it arrives, and bodies within the limit read whole.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, start};
use reqwest::StatusCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;

/// Sends a head, then `body_bytes` of chunked body in 64 KiB chunks (stopping if the server
/// stops reading), and returns the whole answer as text.
async fn raw_upload(addr: std::net::SocketAddr, head: &str, body_bytes: usize) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
    let mut sent = 0;
    while sent < body_bytes {
        if socket.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
        sent += 0x10000;
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buffer = [0u8; 8192];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    String::from_utf8_lossy(&answer).into_owned()
}

fn chunked_head(path: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n")
}

/// The status line and head of the answer to a request that declares `length` bytes and waits
/// for `100 Continue` before sending them.
async fn declared(addr: std::net::SocketAddr, path: &str, length: usize) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-length: {length}\r\nexpect: 100-continue\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).to_lowercase()
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_is_sent() {
    let server = start("").await;
    let answer = declared(server.addr(), "/api/upload", 11 * MIB).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains("\"code\":\"body_too_large\""), "{answer}");
    // Other routes have the 2 MiB default.
    let answer = declared(server.addr(), "/api/hello", 3 * MIB).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_answered_413() {
    let server = start("").await;
    let answer = raw_upload(server.addr(), &chunked_head("/api/upload"), 11 * MIB).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"body_too_large\""), "{answer}");
    assert!(answer.contains("10485760 bytes"), "{answer}");
}

#[tokio::test]
async fn bodies_within_the_limit_are_read_whole() {
    let server = start("").await;
    let answer = raw_upload(server.addr(), &chunked_head("/api/upload"), 9 * MIB).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(&format!("{{\"bytes\":{}}}", 9 * MIB)),
        "{answer}"
    );

    let declared = client()
        .post(server.url("/api/upload"))
        .body(vec![b'x'; 5 * MIB])
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), StatusCode::OK);
    assert_eq!(
        declared.text().await.unwrap(),
        format!("{{\"bytes\":{}}}", 5 * MIB)
    );
}
