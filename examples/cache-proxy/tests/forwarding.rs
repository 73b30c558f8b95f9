//! The proxy over real sockets: an origin on loopback, the proxy in front, reqwest as client.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use cache_proxy::Origin;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// An origin that counts its `GET /cached` requests and shows what reached it.
async fn origin() -> (SocketAddr, Arc<AtomicU64>) {
    let served = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route(
            "/cached",
            get(|State(served): State<Arc<AtomicU64>>| async move {
                let n = served.fetch_add(1, Ordering::SeqCst) + 1;
                (
                    [(header::CACHE_CONTROL, "max-age=60")],
                    format!("response {n}"),
                )
            }),
        )
        .route(
            "/headers",
            get(|headers: HeaderMap| async move {
                let mut names: Vec<String> = headers
                    .iter()
                    .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
                    .collect();
                names.sort();
                (
                    [("connection", "x-origin-secret"), ("x-origin-secret", "1")],
                    names.join("\n"),
                )
            }),
        )
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .with_state(Arc::clone(&served));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, served)
}

async fn start_proxy(origin: SocketAddr, timeout: Duration) -> SocketAddr {
    let origin = Origin::new(format!("http://{origin}").parse().unwrap())
        .unwrap()
        .timeout(timeout);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(cache_proxy::serve(listener, origin, std::future::pending()));
    addr
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_cacheable_response_is_served_from_the_cache_the_second_time() {
    let (origin, served) = origin().await;
    let proxy = start_proxy(origin, Duration::from_secs(5)).await;
    let url = format!("http://{proxy}/cached");
    let first = client().get(&url).send().await.unwrap();
    assert_eq!(first.headers()["via"], "1.1 rampart");
    assert!(
        first.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("fwd=uri-miss")
    );
    assert_eq!(first.text().await.unwrap(), "response 1");
    let second = client().get(&url).send().await.unwrap();
    assert!(
        second.headers()["cache-status"]
            .to_str()
            .unwrap()
            .starts_with("rampart; hit")
    );
    assert_eq!(second.text().await.unwrap(), "response 1");
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn hop_by_hop_fields_stop_at_the_proxy_both_ways() {
    let (origin, _) = origin().await;
    let proxy = start_proxy(origin, Duration::from_secs(5)).await;
    let response = client()
        .get(format!("http://{proxy}/headers"))
        .header("connection", "x-client-secret")
        .header("x-client-secret", "1")
        .header("x-kept", "1")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("x-origin-secret").is_none());
    let seen = response.text().await.unwrap();
    assert!(!seen.contains("x-client-secret"), "{seen}");
    assert!(seen.contains("x-kept: 1"), "{seen}");
    assert!(seen.contains("via: 1.1 rampart"), "{seen}");
    assert!(seen.contains(&format!("host: {origin}")), "{seen}");
}

#[tokio::test]
async fn request_bodies_reach_the_origin() {
    let (origin, _) = origin().await;
    let proxy = start_proxy(origin, Duration::from_secs(5)).await;
    let body = "x".repeat(200_000);
    let response = client()
        .post(format!("http://{proxy}/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), body);
}

#[tokio::test]
async fn an_origin_that_is_down_or_late_gets_a_problem_not_a_hang() {
    let (origin, _) = origin().await;
    let proxy = start_proxy(origin, Duration::from_millis(200)).await;
    let late = client()
        .get(format!("http://{proxy}/slow"))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(late.headers()["content-type"], "application/problem+json");

    // A port bound but not listening refuses connections, and stays ours: a port merely
    // freed could be taken by a parallel test that then never answers (a 504, not a 502).
    let refusing = tokio::net::TcpSocket::new_v4().unwrap();
    refusing.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let nowhere = refusing.local_addr().unwrap();
    let unreachable = start_proxy(nowhere, Duration::from_secs(5)).await;
    let down = client()
        .get(format!("http://{unreachable}/anything"))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), StatusCode::BAD_GATEWAY);
    let problem: serde_json::Value = down.json().await.unwrap();
    assert_eq!(problem["code"], "origin_unreachable");
}
