//! A stack recording into the application's own `metrics` recorder instead of a Prometheus
//! registry (`StackBuilder::recorder`), served over a real socket.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::routing::get;
use metrics::{SharedString, Unit};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use rampart::common::MetricsRecorder;
use rampart::{RoutePolicy, Stack};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One HTTP/1.1 exchange over a fresh connection; the status line's code.
async fn fetch(address: std::net::SocketAddr, path: &str) -> u16 {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

type Snapshot = Vec<(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)>;

/// The counter's value, or a histogram's number of samples, of the series named `name` whose
/// labels include `labels`.
fn recorded(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> Option<usize> {
    snapshot
        .iter()
        .find(|(key, ..)| {
            let key = key.key();
            key.name() == name
                && labels.iter().all(|(label, value)| {
                    key.labels()
                        .any(|l| l.key() == *label && l.value() == *value)
                })
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(count) => usize::try_from(*count).unwrap(),
            DebugValue::Histogram(samples) => samples.len(),
            DebugValue::Gauge(value) => value.into_inner() as usize,
        })
}

#[tokio::test]
async fn every_layer_records_into_the_given_recorder_and_there_is_no_prometheus_page() {
    let debugging = DebuggingRecorder::new();
    let snapshotter = debugging.snapshotter();
    let stack = Stack::builder()
        .recorder(MetricsRecorder::new(debugging))
        .route(
            "/slow",
            RoutePolicy::new().timeout(Duration::from_millis(50)),
        )
        .build();
    assert!(stack.prometheus().is_none());
    assert!(stack.metrics_endpoint().is_none());

    let router = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let app = stack.apply(router);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    assert_eq!(fetch(address, "/hello").await, 200);
    assert_eq!(fetch(address, "/hello").await, 200);
    assert_eq!(fetch(address, "/slow").await, 504);
    server.abort();

    // One snapshot: taking one drains the histograms' samples.
    let snapshot = snapshotter.snapshot().into_vec();
    let duration = "http_server_request_duration_seconds";
    let hello = [
        ("http_route", "/hello"),
        ("http_response_status_code", "200"),
    ];
    assert_eq!(recorded(&snapshot, duration, &hello), Some(2));
    let slow = [("http_route", "/slow"), ("error_type", "request_timeout")];
    assert_eq!(recorded(&snapshot, duration, &slow), Some(1));
    let timeouts = [("http_route", "/slow")];
    assert_eq!(
        recorded(&snapshot, "rampart_timeouts_total", &timeouts),
        Some(1)
    );
}

#[test]
fn the_last_of_prometheus_and_recorder_wins() {
    let stack = Stack::builder()
        .recorder(MetricsRecorder::global())
        .prometheus(rampart::request_metrics::Prometheus::new())
        .build();
    assert!(stack.metrics_endpoint().is_some());
    let stack = Stack::builder()
        .prometheus(rampart::request_metrics::Prometheus::new())
        .recorder(MetricsRecorder::global())
        .build();
    assert!(stack.prometheus().is_none());
}
