//! The limit on bodies declared too long, bodies that turn out too long, and the rest.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use futures_util::StreamExt;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use rampart_core::RouteTable;
use rampart_limit::{BodyTooLarge, RequestBodyLimitLayer};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;

/// Reads the body stream by hand, as an upload or proxy handler does, and answers 500 on a
/// read error, as such a handler might.
async fn count(body: Body) -> Result<String, StatusCode> {
    let mut stream = body.into_data_stream();
    let mut bytes = 0;
    while let Some(chunk) = stream.next().await {
        bytes += chunk.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?.len();
    }
    Ok(bytes.to_string())
}

fn app(calls: &Arc<AtomicUsize>) -> Router {
    let calls = Arc::clone(calls);
    let limits =
        RequestBodyLimitLayer::from_table(RouteTable::new(1_000).with_route("/upload", 100_000));
    Router::new()
        .route(
            "/count",
            post(move |body: Body| {
                calls.fetch_add(1, Ordering::SeqCst);
                count(body)
            }),
        )
        .route("/upload", post(count))
        .route("/hello", get(|| async { "hello" }))
        .layer(limits)
}

fn chunked(chunks: usize, size: usize) -> Body {
    let chunk = bytes::Bytes::from(vec![b'x'; size]);
    let chunks = futures_util::stream::repeat(chunk).take(chunks);
    Body::from_stream(chunks.map(Ok::<_, std::io::Error>))
}

async fn text(response: http::Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn a_declared_length_over_the_limit_never_reaches_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let request = Request::post("/count")
        .header("content-length", "1001")
        .body(Body::from(vec![b'x'; 1001]))
        .unwrap();
    let response = app(&calls).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response
            .extensions()
            .get::<BodyTooLarge>()
            .map(BodyTooLarge::limit),
        Some(1_000)
    );
    let problem: Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(problem["status"], 413);
    assert_eq!(problem["code"], "body_too_large");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_body_that_turns_out_too_long_is_answered_413_whatever_the_handler_said() {
    let calls = Arc::new(AtomicUsize::new(0));
    let request = Request::post("/count").body(chunked(11, 100)).unwrap();
    let response = app(&calls).oneshot(request).await.unwrap();
    // The handler answered 500 on the failed read; the client learns why.
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let problem: Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(problem["code"], "body_too_large");
}

#[tokio::test]
async fn bodies_within_the_limit_arrive_whole() {
    let calls = Arc::new(AtomicUsize::new(0));
    let exactly = Request::post("/count").body(chunked(10, 100)).unwrap();
    let response = app(&calls).oneshot(exactly).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "1000");
    let declared = Request::post("/count")
        .header("content-length", "1000")
        .body(Body::from(vec![b'x'; 1000]))
        .unwrap();
    assert_eq!(
        text(app(&calls).oneshot(declared).await.unwrap()).await,
        "1000"
    );
    let hello = Request::get("/hello").body(Body::empty()).unwrap();
    assert_eq!(
        text(app(&calls).oneshot(hello).await.unwrap()).await,
        "hello"
    );
}

#[tokio::test]
async fn each_route_has_its_own_limit() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upload = Request::post("/upload").body(chunked(100, 1000)).unwrap();
    let response = app(&calls).oneshot(upload).await.unwrap();
    assert_eq!(text(response).await, "100000");
    let too_much = Request::post("/upload").body(chunked(101, 1000)).unwrap();
    let response = app(&calls).oneshot(too_much).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
