//! The server's edge over real sockets: slow heads closed, room for newcomers at the cap, a
//! shutdown that a half-sent request cannot hold, the client's address, HTTP/2.

#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::routing::get;
use common::{client, closed_within, slow, start};
use rampart_server::Server;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

#[tokio::test]
async fn a_head_that_does_not_arrive_in_time_closes_the_connection() {
    let server = start(
        Server::new()
            .header_read_timeout(Duration::from_millis(300))
            .idle_timeout(Duration::from_secs(2)),
    )
    .await;
    // Nothing at all, half a request line, half a head.
    let mut silent = slow(server.addr, b"").await;
    let mut line = slow(server.addr, b"GET / HT").await;
    let mut head = slow(server.addr, b"GET / HTTP/1.1\r\nhost: a\r\n").await;
    for stream in [&mut silent, &mut line, &mut head] {
        assert!(closed_within(stream, Duration::from_secs(3)).await);
    }
    // A byte every 100 ms never makes a head: the timeout counts from the start.
    let mut trickle = slow(server.addr, b"G").await;
    let mut closed = false;
    for byte in b"ET / HTTP/1.1\r\nx-a: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if trickle.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
    }
    assert!(closed || closed_within(&mut trickle, Duration::from_secs(1)).await);
    // A keep-alive connection between requests is idle, not slow: it outlives the header-read
    // timeout and is closed at the idle timeout.
    let mut idle = slow(server.addr, b"GET / HTTP/1.1\r\nhost: a\r\n\r\n").await;
    let mut answer = [0u8; 256];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK"));
    assert!(
        !closed_within(&mut idle, Duration::from_millis(1_500)).await,
        "idle is not slow"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(3)).await,
        "closed at the idle timeout"
    );
    // And one that trickles its second head.
    let mut second = slow(server.addr, b"GET / HTTP/1.1\r\nhost: a\r\n\r\n").await;
    let n = second.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK"));
    let mut closed = false;
    for byte in b"GET / HTTP/1.1\r\nx-a: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if second.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
    }
    assert!(closed || closed_within(&mut second, Duration::from_secs(1)).await);
    let _ = server.stop.send(());
}

/// An answer that takes longer than the header-read timeout to send is not cut: the timeout
/// bounds heads, not answers.
#[tokio::test]
async fn a_long_answer_outlives_the_header_read_timeout() {
    let server = start(Server::new().header_read_timeout(Duration::from_millis(300))).await;
    let response = client()
        .get(format!("http://{}/stream", server.addr))
        .send()
        .await
        .unwrap();
    let body = response.text().await.unwrap();
    assert_eq!(body.lines().count(), 5, "{body}");
    let _ = server.stop.send(());
}

/// A flood of connections that never send a head, past the cap: a client that sends its
/// request at once still gets its answer, without waiting for any timeout.
#[tokio::test]
async fn at_the_cap_a_newcomer_makes_room_and_is_answered() {
    let server = start(
        Server::new()
            .max_connections(8)
            .header_read_timeout(Duration::from_secs(60)),
    )
    .await;
    let mut flood = Vec::new();
    for _ in 0..30 {
        flood.push(slow(server.addr, b"G").await);
    }
    let answer = tokio::time::timeout(
        Duration::from_secs(2),
        client().get(format!("http://{}/", server.addr)).send(),
    )
    .await
    .expect("answered within 2 s, not at the 60 s header timeout")
    .unwrap();
    assert_eq!(answer.text().await.unwrap(), "hello");
    let mut closed = 0;
    for stream in &mut flood {
        closed += usize::from(closed_within(stream, Duration::from_millis(200)).await);
    }
    // At most 8 open at once: the 22 beyond the cap, and one more for the newcomer, closed.
    assert!(closed >= 23, "{closed} of 30 closed");
    let _ = server.stop.send(());
}

#[tokio::test]
async fn a_half_sent_request_does_not_hold_the_shutdown() {
    let server = start(
        Server::new()
            .header_read_timeout(Duration::from_millis(300))
            .shutdown_grace(Duration::from_secs(30)),
    )
    .await;
    let _half = slow(server.addr, b"GET / HTTP/1.1\r\nhost: a\r\n").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = server.stop.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(3), server.task).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the shutdown waited for the half-sent request"
    );
}

#[tokio::test]
async fn requests_carry_the_client_address_over_http1_and_http2() {
    let server = start(Server::new()).await;
    let url = format!("http://{}/peer", server.addr);
    let http1 = client().get(&url).send().await.unwrap();
    assert_eq!(http1.version(), reqwest::Version::HTTP_11);
    assert_eq!(http1.text().await.unwrap(), "127.0.0.1");
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let http2 = h2.get(&url).send().await.unwrap();
    assert_eq!(http2.version(), reqwest::Version::HTTP_2);
    assert_eq!(http2.text().await.unwrap(), "127.0.0.1");
    let _ = server.stop.send(());
}

/// Answers `101` and echoes on the upgraded socket until the client closes it, as a WebSocket
/// handler does.
fn upgrading_app() -> Router {
    Router::new().route(
        "/echo",
        get(|mut request: axum::extract::Request| async move {
            let upgrade = hyper::upgrade::on(&mut request);
            tokio::spawn(async move {
                let Ok(upgraded) = upgrade.await else { return };
                let mut socket = hyper_util::rt::TokioIo::new(upgraded);
                let mut buffer = [0u8; 64];
                while let Ok(read) = socket.read(&mut buffer).await {
                    if read == 0 || socket.write_all(&buffer[..read]).await.is_err() {
                        break;
                    }
                }
            });
            http::Response::builder()
                .status(http::StatusCode::SWITCHING_PROTOCOLS)
                .header("connection", "upgrade")
                .header("upgrade", "echo")
                .body(axum::body::Body::empty())
                .unwrap()
        }),
    )
}

/// Sends an upgrade request; the connection once the server has switched protocols, or `None`
/// when no answer came within `within`.
async fn upgrade(source: [u8; 4], addr: SocketAddr, within: Duration) -> Option<TcpStream> {
    let mut stream = common::connect_from(source, addr).await;
    let head = "GET /echo HTTP/1.1\r\nhost: test\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(within, async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
        true
    })
    .await;
    if !matches!(read, Ok(true)) {
        return None;
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    Some(stream)
}

/// An upgraded socket (a WebSocket) outlives the HTTP connection that served its handshake; it
/// keeps its place under the connection cap and its address's share until it closes (the slot
/// used to go with the HTTP connection, so a client could open upgraded sockets without
/// limit). It is never closed to make room.
#[tokio::test]
async fn upgraded_sockets_count_against_the_connection_cap() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Server::new()
        .max_connections(2)
        .max_connections_per_address(2);
    let task = tokio::spawn(server.serve(listener, upgrading_app(), async {
        let _ = stopped.await;
    }));

    let mut first = upgrade([127, 0, 0, 1], addr, Duration::from_secs(5))
        .await
        .expect("upgraded");
    let second = upgrade([127, 0, 0, 1], addr, Duration::from_secs(5))
        .await
        .expect("upgraded");
    first.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    first.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"ping");

    // The address holds its share (2), all upgraded: a third from it is refused at once.
    let refused = upgrade([127, 0, 0, 1], addr, Duration::from_secs(2)).await;
    assert!(refused.is_none(), "no answer past the address's share");
    // From another address, at the cap with nothing to close, it waits for a slot.
    let waiting = tokio::spawn(upgrade([127, 0, 0, 2], addr, Duration::from_secs(10)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "at the cap, a third socket waits");
    drop(second);
    let third = waiting.await.unwrap();
    assert!(third.is_some(), "a closed socket gave its slot");

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}
