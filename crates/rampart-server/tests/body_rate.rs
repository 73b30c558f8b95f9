//! Request bodies held to a minimum data rate over real sockets (issue 30, items 1 and 6): a
//! trickled upload is answered `408` problem+json and its connection closed, an upload at a
//! fair rate is served, and a shutdown is not held by trickling uploads or half-sent heads.

#![allow(clippy::unwrap_used)]

mod common;

use common::{slow, start};
use rampart_metrics::Prometheus;
use rampart_server::{MinDataRate, Server};
use rampart_test_support::series;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const RATE: MinDataRate = MinDataRate::new(100, Duration::from_millis(500));

/// Sends `chunks` bytes of `x`, `every` apart, stopping when the server closes; the answer.
async fn trickle(stream: &mut TcpStream, chunk: usize, chunks: usize, every: Duration) -> String {
    for _ in 0..chunks {
        if stream.write_all(&vec![b'x'; chunk]).await.is_err() {
            break;
        }
        tokio::time::sleep(every).await;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn upload_head(length: usize) -> Vec<u8> {
    format!("POST /upload HTTP/1.1\r\nhost: a\r\ncontent-length: {length}\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn a_trickled_upload_is_answered_408_and_closed() {
    let prometheus = Prometheus::new();
    let server = start(
        Server::new()
            .min_request_body_rate(Some(RATE))
            .with_recorder(prometheus.recorder()),
    )
    .await;
    let mut stream = slow(server.addr, &upload_head(10_000_000)).await;
    let started = tokio::time::Instant::now();
    // 10 bytes every 100 ms: 100 B/s would be the floor, this is a tenth of it.
    let answer = trickle(&mut stream, 1, 100, Duration::from_millis(100)).await;
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(
        answer.contains(r#""code":"request_body_too_slow""#),
        "{answer}"
    );
    assert!(
        took < Duration::from_secs(3),
        "cut after the grace, not at a timeout: {took:?}"
    );
    let page = prometheus.render();
    assert_eq!(
        series(&page, "rampart_server_request_bodies_too_slow_total", &[]),
        Some(1.0),
        "{page}"
    );
    let _ = server.stop.send(());
}

#[tokio::test]
async fn an_upload_at_a_fair_rate_is_served() {
    let server = start(Server::new().min_request_body_rate(Some(RATE))).await;
    let mut stream = slow(server.addr, &upload_head(3_000)).await;
    // 150 bytes every 100 ms for 2 s: 1 500 B/s, well over the floor.
    let answer = trickle(&mut stream, 150, 20, Duration::from_millis(100)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("3000"), "{answer}");
    let _ = server.stop.send(());
}

/// Item 6: a trickling upload held the shutdown for its whole 30 s grace (the body timeout
/// restarted at every byte); with the rate it is cut, and half-sent heads (a first one and a
/// keep-alive connection's next one) end at the header-read timeout.
#[tokio::test]
async fn trickling_uploads_and_half_sent_heads_do_not_hold_the_shutdown() {
    let server = start(
        Server::new()
            .header_read_timeout(Duration::from_millis(500))
            .min_request_body_rate(Some(RATE))
            .shutdown_grace(Duration::from_secs(30)),
    )
    .await;
    let addr = server.addr;
    let mut uploads = Vec::new();
    for _ in 0..3 {
        let mut stream = slow(addr, &upload_head(10_000_000)).await;
        uploads.push(tokio::spawn(async move {
            trickle(&mut stream, 1, 300, Duration::from_millis(100)).await
        }));
    }
    let _half_first = slow(addr, b"POST /upload HTTP/1.1\r\nhost: a\r\n").await;
    let mut keep_alive = slow(addr, b"GET / HTTP/1.1\r\nhost: a\r\n\r\n").await;
    let mut answer = [0u8; 256];
    let _ = keep_alive.read(&mut answer).await.unwrap();
    keep_alive.write_all(b"GET / HTTP/1.1\r\nho").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = tokio::time::Instant::now();
    let _ = server.stop.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.task).await;
    let took = stopping.elapsed();
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "not stopped within 10 s");
    assert!(
        took < Duration::from_secs(3),
        "took {took:?} of a 30 s grace"
    );
    for upload in uploads {
        let answer = upload.await.unwrap();
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
}
