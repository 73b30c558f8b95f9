//! A flood of requests, each starting a trace of its own and carrying the largest `tracestate`
//! a client may send, while every span is exported to a collector that accepts connections and
//! never answers: the export queue is bounded (what does not fit is lost and counted, never
//! kept), and nothing a request brought outlives it. Measured as the process's RSS.

#![allow(clippy::unwrap_used)]

use rampart::trace::OtlpExport;
use rampart_tests::{Flood, flood, resident_bytes, start};
use tokio::net::TcpListener;
use tracing_subscriber::layer::SubscriberExt;

const REQUESTS: u64 = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_traced_requests_to_a_hung_collector_does_not_grow_resident_memory() {
    let collector = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    // Accepts, then neither reads nor answers: each export waits for its timeout.
    let hung = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = collector.accept().await {
            held.push(socket);
        }
    });
    let export = OtlpExport::to_endpoint(&endpoint, "trace-flood").unwrap();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(export.layer(OtlpExport::targets())),
    )
    .unwrap();
    // One generous quota: the example's default one would refuse most of a flood from one
    // address, and the spans of refusals are shorter than those of answers.
    let server = start(
        r#"
[[stack.ratelimit.policies]]
name = "generous"
limit = 1000000
period = "1s"
key = "client_ip"
"#,
    )
    .await;

    // 32 members, 511 bytes: the most `tracestate` the layer keeps.
    let tracestate: Vec<String> = (0..32).map(|i| format!("k{i:02}=vvvvvvvvvvv")).collect();
    let tracestate = tracestate.join(",");
    assert_eq!(tracestate.len(), 511);
    let mut attack = Flood {
        requests: REQUESTS,
        connections: 4,
        junk_bytes: 16,
        path: "/api/hello".to_owned(),
        distinct_header: Some(format!(
            "traceparent: 00-{{trace}}-00f067aa0ba902b7-01\r\ntracestate: {tracestate}"
        )),
    };
    // Fills the export queue, and grows every buffer the rest needs.
    let warmed = flood(server.addr(), &attack).await.unwrap();
    assert_eq!(warmed.success, REQUESTS, "{warmed:?}");
    let Some((settled, _)) = resident_bytes() else {
        eprintln!("SKIPPED: /proc/self/status is not readable here");
        return;
    };
    for round in 0..2 {
        attack.path = format!("/api/hello?round={round}");
        let answers = flood(server.addr(), &attack).await.unwrap();
        assert_eq!(answers.success, REQUESTS, "{answers:?}");
    }
    let (after, _) = resident_bytes().unwrap();
    let grown = after.saturating_sub(settled);
    let lost = export.lost_spans();
    eprintln!(
        "resident memory: {settled} bytes after {REQUESTS} traced requests, then grew {grown} \
         more over {} more; {lost} spans lost to the hung collector",
        2 * REQUESTS
    );
    // Spans were made and exported, and the collector took none: most were dropped, counted.
    assert!(lost >= REQUESTS, "only {lost} spans counted lost");
    // 40 000 kept spans with their attributes and tracestates would be tens of MB.
    assert!(
        grown <= 8 * 1024 * 1024,
        "resident memory grew {grown} bytes under a hung collector"
    );
    hung.abort();
}
