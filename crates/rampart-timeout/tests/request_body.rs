//! Request bodies: the deadline bounds the server's work, not the client's upload speed, and a
//! client that stops sending gets 408. On tokio's paused clock.

#![allow(clippy::unwrap_used)]

mod support;

use axum::Router;
use axum::body::Body;
use axum::extract::Request as AxumRequest;
use axum::routing::post;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use rampart_core::deadline::Deadline;
use rampart_metrics::Prometheus;
use rampart_timeout::TimeoutLayer;
use std::convert::Infallible;
use std::time::Duration;
use support::answer;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Reads the whole body, then answers how many bytes it had.
async fn count(body: Body) -> String {
    let bytes = body.collect().await.map(|c| c.to_bytes().len());
    bytes.map_or_else(|error| format!("failed: {error}"), |n| n.to_string())
}

fn app(prometheus: &Prometheus) -> Router {
    Router::new()
        .route("/upload", post(count))
        .route(
            "/ignores-body",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "never"
            }),
        )
        .route(
            "/reads-then-works",
            post(|body: Body| async move {
                let read = count(body).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
                read
            }),
        )
        .route(
            "/deadline",
            post(|request: AxumRequest| async move {
                let deadline = request.extensions().get::<Deadline>().cloned().unwrap();
                let before = deadline.at();
                let _ = count(request.into_body()).await;
                format!("{}", (deadline.at() - before).as_millis())
            }),
        )
        .layer(
            TimeoutLayer::new(Duration::from_secs(1))
                .body_timeout(Duration::from_secs(10))
                .with_recorder(prometheus.recorder()),
        )
}

type Chunks = mpsc::Sender<Result<Frame<Bytes>, Infallible>>;

/// A POST whose body the test writes chunk by chunk, of unknown length.
fn upload(path: &str) -> (Request<Body>, Chunks) {
    let (sender, receiver) = mpsc::channel(1);
    let stream = tokio_stream_from(receiver);
    let request = Request::post(path)
        .body(Body::new(StreamBody::new(stream)))
        .unwrap();
    (request, sender)
}

fn tokio_stream_from(
    mut receiver: mpsc::Receiver<Result<Frame<Bytes>, Infallible>>,
) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

fn chunk(size: usize) -> Result<Frame<Bytes>, Infallible> {
    Ok(Frame::data(Bytes::from(vec![b'x'; size])))
}

#[tokio::test(start_paused = true)]
async fn a_slow_steady_upload_outlives_the_deadline_and_completes() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let (request, chunks) = upload("/upload");
    let started = Instant::now();
    let client = tokio::spawn(async move {
        // 20 chunks of 1 MB, 250 ms apart: 5 s for 20 MB under a 1 s deadline.
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            chunks.send(chunk(1_000_000)).await.unwrap();
        }
    });
    let (status, _, body) = answer(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "20000000");
    assert!(started.elapsed() >= Duration::from_secs(5));
    client.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_sending_gets_408_after_the_body_timeout() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let (request, chunks) = upload("/upload");
    chunks.send(chunk(100)).await.unwrap();
    let started = Instant::now();
    let (status, headers, body) = answer(&app, request).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["connection"], "close");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "request_body_timeout");
    assert_eq!(problem["status"], 408);
    let text = prometheus.render();
    assert!(
        text.contains("rampart_request_body_timeouts_total{http_route=\"/upload\"} 1"),
        "{text}"
    );
    assert!(!text.contains("rampart_timeouts_total{"), "no 504 counted");
    drop(chunks);
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_never_reads_the_body_still_has_its_deadline() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let (request, chunks) = upload("/ignores-body");
    let started = Instant::now();
    let (status, _, _) = answer(&app, request).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    drop(chunks);
}

#[tokio::test(start_paused = true)]
async fn work_after_the_upload_is_bounded_by_the_deadline() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let (request, chunks) = upload("/reads-then-works");
    let client = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        chunks.send(chunk(10)).await.unwrap();
    });
    let started = Instant::now();
    let (status, _, _) = answer(&app, request).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    // 3 s waiting for the body, then 1 s of the handler's 2 s of work.
    assert_eq!(started.elapsed(), Duration::from_secs(4));
    client.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_published_deadline_moves_out_by_the_wait_for_the_body() {
    let prometheus = Prometheus::new();
    let app = app(&prometheus);
    let (request, chunks) = upload("/deadline");
    let client = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        chunks.send(chunk(10)).await.unwrap();
    });
    let (status, _, moved) = answer(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(moved, "1500");
    client.await.unwrap();
}
