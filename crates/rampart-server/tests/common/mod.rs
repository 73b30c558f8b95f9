//! What the server's socket tests share: an app, a server on a free port, clients that send
//! by hand, from any loopback address.

#![allow(clippy::unwrap_used, dead_code)]

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use rampart_server::Server;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/stream", get(|| async { streamed() }))
        .route(
            "/upload",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
}

/// Five chunks, 250 ms apart: longer than the header-read timeouts used here.
fn streamed() -> axum::body::Body {
    axum::body::Body::from_stream(futures_util::stream::unfold(0u8, |n| async move {
        if n == 5 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        Some((
            Ok::<_, std::convert::Infallible>(format!("chunk {n}\n")),
            n + 1,
        ))
    }))
}

pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    pub(crate) stop: oneshot::Sender<()>,
    pub(crate) task: JoinHandle<std::io::Result<()>>,
}

pub(crate) async fn start(server: Server) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(server.serve(listener, app(), async {
        let _ = stopped.await;
    }));
    Running { addr, stop, task }
}

/// A connection that has sent `bytes` and nothing more.
pub(crate) async fn slow(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Whether the server closed `stream` within `within`.
pub(crate) async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A connection from `source` (any address in 127.0.0.0/8 reaches a loopback listener).
pub(crate) async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Whether a `GET /` from `source` on a new connection is answered `200` within `within`.
pub(crate) async fn probe(source: [u8; 4], addr: SocketAddr, within: Duration) -> bool {
    tokio::time::timeout(within, async {
        let mut stream = connect_from(source, addr).await;
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(answer.starts_with(b"HTTP/1.1 200"))
    })
    .await
    .ok()
    .flatten()
    .unwrap_or(false)
}
