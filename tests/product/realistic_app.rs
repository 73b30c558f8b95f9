//! The router people really have, under the `Stack` as the README shows, served by
//! `rampart::server::Server` over TCP: state, `nest`, `merge`, `route_layer` authentication,
//! server-sent events, a WebSocket, `ServeDir`, streamed downloads and uploads. Each works, and
//! the stack does what it says on each, so the next regression of this kind is caught here.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt, stream};
use http::StatusCode;
use rampart::{Stack, StackConfig};
use rampart_tests::{client, decode, series};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Clone)]
struct AppState {
    greeting: Arc<str>,
}

async fn user(State(state): State<AppState>, Path(id): Path<u32>) -> String {
    format!("{}, user {id}", state.greeting)
}

async fn require_token(request: Request, next: Next) -> Response {
    let authorised = request
        .headers()
        .get("authorization")
        .is_some_and(|value| value == "Bearer admin-token");
    if authorised {
        next.run(request).await
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn events() -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    Sse::new(stream::unfold(0u8, |n| async move {
        if n == 3 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        Some((Ok(Event::default().data(format!("event {n}"))), n + 1))
    }))
}

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        if matches!(message, Message::Close(_)) || socket.send(message).await.is_err() {
            break;
        }
    }
}

/// Four lines of text, 100 ms apart.
async fn download() -> Body {
    Body::from_stream(stream::unfold(0u8, |n| async move {
        if n == 4 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let line = format!("line {n}: {}\n", "downloaded text ".repeat(40));
        Some((Ok::<_, Infallible>(line), n + 1))
    }))
}

async fn upload(body: Body) -> String {
    let mut stream = body.into_data_stream();
    let mut bytes = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        bytes += chunk.len();
    }
    bytes.to_string()
}

fn router(static_dir: &std::path::Path) -> Router {
    let users = Router::new().route("/{id}", get(user));
    let admin = Router::new()
        .route("/stats", get(|| async { "stats" }))
        .route_layer(middleware::from_fn(require_token));
    let merged = Router::new().route("/merged", get(|| async { "merged" }));
    let router = Router::new()
        .route("/events", get(events))
        .route(
            "/ws",
            get(|upgrade: WebSocketUpgrade| async move { upgrade.on_upgrade(echo) }),
        )
        .route("/download", get(download))
        .route("/upload", post(upload))
        .nest("/v1/users", users)
        .nest("/admin", admin)
        .merge(merged)
        .nest_service("/assets", tower_http::services::ServeDir::new(static_dir));
    // The stack sees this one as the route `/static/{*path}`.
    rampart::nest_service(
        router,
        "/static",
        tower_http::services::ServeDir::new(static_dir),
    )
    .with_state(AppState {
        greeting: Arc::from("hello"),
    })
}

const CONFIG: &str = r#"
[timeout]
default = "1s"

[routes."/v1/users/{id}"]
ratelimit = [{ name = "per_ip", limit = 100, period = "1s", key = "client_ip" }]

[routes."/static/{*path}"]
ratelimit = [{ name = "files", limit = 50, period = "1s", key = "client_ip" }]
"#;

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn metrics(&self, client: &reqwest::Client) -> String {
        let response = client.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }
}

async fn serve(static_dir: &std::path::Path) -> Running {
    let stack = Stack::from_config(&StackConfig::from_toml_str(CONFIG).unwrap()).unwrap();
    let app = stack
        .apply(router(static_dir))
        .route_service("/metrics", stack.metrics_endpoint().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(rampart::server::Server::new().serve(listener, app, async {
        let _ = stopped.await;
    }));
    Running { addr, stop, task }
}

#[tokio::test]
async fn a_realistic_router_works_under_the_stack() {
    let static_dir = std::env::temp_dir().join(format!("rampart-static-{}", std::process::id()));
    std::fs::create_dir_all(&static_dir).unwrap();
    std::fs::write(static_dir.join("hello.txt"), "a static file\n").unwrap();
    let server = serve(&static_dir).await;
    let client = client();

    // State and nesting, with the nested route's policy applied under its full template.
    let response = client.get(server.url("/v1/users/7")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"per_ip\";q=100;w=1"
    );
    assert_eq!(response.text().await.unwrap(), "hello, user 7");

    // Merged routes, and authentication added by route_layer.
    let merged = client.get(server.url("/merged")).send().await.unwrap();
    assert_eq!(merged.text().await.unwrap(), "merged");
    let refused = client.get(server.url("/admin/stats")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let admitted = client
        .get(server.url("/admin/stats"))
        .header("authorization", "Bearer admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(admitted.text().await.unwrap(), "stats");

    // Server-sent events: event by event, past the 1 s deadline (1.2 s in all), never
    // compressed (compression would hold events back).
    let mut events = client
        .get(server.url("/events"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    assert!(events.headers().get("content-encoding").is_none());
    let first = events.chunk().await.unwrap().expect("a first event");
    assert_eq!(first, Bytes::from_static(b"data: event 0\n\n"));
    let mut rest = Vec::new();
    while let Some(chunk) = events.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"data: event 1\n\ndata: event 2\n\n");

    // A WebSocket: echoed, and counted open while it is.
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
        .await
        .unwrap();
    socket.send("ping".into()).await.unwrap();
    let echoed = socket.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "ping");
    let metrics = server.metrics(&client).await;
    assert_eq!(
        series(
            &metrics,
            "rampart_upgraded_connections",
            &[("http_route", "/ws")]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        series(
            &metrics,
            "http_server_request_duration_seconds_count",
            &[("http_route", "/v1/users/{id}")]
        ),
        Some(1.0),
        "nested routes are labelled by their full template"
    );
    socket.close(None).await.unwrap();

    // Nested services: axum's has no route template; rampart::nest_service's has one, so the
    // route's policy applies and its metrics say where they come from.
    let file = client
        .get(server.url("/assets/hello.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.text().await.unwrap(), "a static file\n");
    let file = client
        .get(server.url("/static/hello.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["ratelimit-policy"], "\"files\";q=50;w=1");
    assert_eq!(file.text().await.unwrap(), "a static file\n");
    let metrics = server.metrics(&client).await;
    assert_eq!(
        series(
            &metrics,
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/static/{*path}"),
                ("http_response_status_code", "200")
            ]
        ),
        Some(1.0),
        "{metrics}"
    );

    // A streamed download, compressed, arrives whole.
    let downloaded = client
        .get(server.url("/download"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.headers()["content-encoding"], "gzip");
    let text = decode(Some("gzip"), &downloaded.bytes().await.unwrap());
    assert_eq!(String::from_utf8(text).unwrap().lines().count(), 4);

    // A streamed upload slower than the 1 s deadline completes.
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let chunks = stream::unfold(0u8, move |sent| {
        let chunk = chunk.clone();
        async move {
            if sent == 12 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok::<_, std::io::Error>(chunk), sent + 1))
        }
    });
    let uploaded = client
        .post(server.url("/upload"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);
    assert_eq!(uploaded.text().await.unwrap(), (12 * 64 * 1024).to_string());

    let _ = server.stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server.task).await;
    let _ = std::fs::remove_dir_all(&static_dir);
}
