//! WebSockets through the server and the metrics layer, with a real WebSocket client: an open
//! socket counts as open until it closes, and its lifetime is recorded then.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use rampart_metrics::{MetricsLayer, Prometheus};
use rampart_server::Server;
use rampart_test_support::series;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        if matches!(message, Message::Close(_)) || socket.send(message).await.is_err() {
            break;
        }
    }
}

/// Waits (bounded) until `name` reads `wanted`.
async fn reaches(prometheus: &Prometheus, name: &str, wanted: f64) -> bool {
    for _ in 0..100 {
        if series(&prometheus.render(), name, &[("http_route", "/ws")]) == Some(wanted) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn an_open_websocket_is_counted_until_it_closes() {
    let prometheus = Prometheus::new();
    let app = Router::new()
        .route(
            "/ws",
            get(|upgrade: WebSocketUpgrade| async move { upgrade.on_upgrade(echo) }),
        )
        .layer(MetricsLayer::new().with_recorder(prometheus.recorder()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(Server::new().serve(listener, app, async {
        let _ = stopped.await;
    }));

    let (mut socket, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    socket.send("ping".into()).await.unwrap();
    let echoed = socket.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "ping");
    assert!(
        reaches(&prometheus, "rampart_upgraded_connections", 1.0).await,
        "open while the socket is: {}",
        prometheus.render()
    );

    socket.close(None).await.unwrap();
    drop(socket);
    assert!(
        reaches(&prometheus, "rampart_upgraded_connections", 0.0).await,
        "{}",
        prometheus.render()
    );
    assert!(
        reaches(
            &prometheus,
            "rampart_upgraded_connection_duration_seconds_count",
            1.0
        )
        .await,
        "{}",
        prometheus.render()
    );

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}
