//! The `example-server` binary as a user runs it: flags, logs, config errors, graceful stop.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;
use support::{bound_address, client, listening_address, log_of, read_until, server};
use tokio::process::Command;

#[tokio::test]
async fn it_logs_its_address_serves_and_drains_on_sigterm() {
    let mut child = server().args(["--listen", "127.0.0.1:0"]).spawn().unwrap();
    let addr = bound_address(&mut child).await;
    let client = client();

    let hello = client
        .get(format!("http://{addr}/api/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(hello.status(), 200);

    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = format!("http://{addr}/api/slow?ms=700");
        async move { client.get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());

    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(
        response.status(),
        200,
        "the in-flight request was not drained"
    );
    assert_eq!(response.text().await.unwrap(), "slept 700 ms");

    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn the_access_log_line_carries_the_request_id_and_the_trace_id() {
    let mut child = server().args(["--listen", "127.0.0.1:0"]).spawn().unwrap();
    let mut log = log_of(&mut child);
    let addr = read_until(&mut log, listening_address).await;

    let response = client()
        .get(format!("http://{addr}/api/hello"))
        .header("x-request-id", "trace-me-42")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let line = read_until(&mut log, |line| {
        line.contains("request_id=trace-me-42")
            .then(|| line.to_owned())
    })
    .await;
    assert!(line.contains("http.route=\"/api/hello\""), "{line}");
    assert!(
        line.contains("trace_id=4bf92f3577b34da6a3ce929d0e0e4736"),
        "{line}"
    );
    assert!(line.contains("status=200"), "{line}");
}

/// Issue 30, item 9: a 504 the client asked for (`only-if-cached` on a cold key) used to write a
/// WARN per request; now only a failure nobody chose does. Each request is marked by its id,
/// and a last, ordinary request shows the earlier lines were written.
#[tokio::test]
async fn a_5xx_the_client_asked_for_is_not_a_warning() {
    let mut child = server()
        .env("RUST_LOG", "info,example_server::access=debug")
        .args(["--listen", "127.0.0.1:0"])
        .spawn()
        .unwrap();
    let mut log = log_of(&mut child);
    let addr = read_until(&mut log, listening_address).await;
    let get = |path: &str, id: &str| {
        client()
            .get(format!("http://{addr}{path}"))
            .header("x-request-id", id)
    };

    let cold = get("/api/items/7", "cold-1")
        .header("cache-control", "only-if-cached")
        .send()
        .await
        .unwrap();
    assert_eq!(cold.status(), 504);
    let slow = get("/api/slow?ms=1500", "slow-1").send().await.unwrap();
    assert_eq!(slow.status(), 504);
    get("/api/hello", "last-1").send().await.unwrap();

    let mut lines = Vec::new();
    read_until(&mut log, |line| {
        lines.push(line.to_owned());
        line.contains("request_id=last-1").then_some(())
    })
    .await;
    let of = |id: &'static str| lines.iter().filter(move |line| line.contains(id));
    assert!(
        of("cold-1").any(|line| line.contains("DEBUG") && line.contains("status=504")),
        "{lines:#?}"
    );
    assert!(
        of("cold-1").all(|line| !line.contains("WARN")),
        "{lines:#?}"
    );
    assert!(
        of("slow-1").any(|line| line.contains("WARN") && line.contains("status=504")),
        "a handler outliving its deadline is a warning: {lines:#?}"
    );
}

#[tokio::test]
async fn an_invalid_config_names_the_field_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("rampart-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[stack.timeout]\ndefault = \"0s\"\n").unwrap();

    let output = server().arg("--config").arg(&path).output().await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stack.timeout.default"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_flags_are_explained() {
    let output = server()
        .args(["--listen", "nowhere"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--listen"));

    let help = server().arg("--help").output().await.unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--config FILE"));
}

#[tokio::test]
async fn a_log_reader_that_stops_reading_does_not_stall_the_server() {
    let mut child = server().args(["--listen", "127.0.0.1:0"]).spawn().unwrap();
    let mut log = log_of(&mut child);
    let addr = read_until(&mut log, listening_address).await;
    // From here on nobody reads the log: the pipe (64 KiB) fills after a few hundred access
    // lines. Written in place, each worker would then block in `write` with its requests.
    let client = client();
    // A route no rate limit covers, so that every request gets an access line and a 200.
    let url = format!("http://{addr}/health/live");
    let requests = async {
        for _ in 0..400 {
            let batch: Vec<_> = (0..10).map(|_| client.get(&url).send()).collect();
            for response in futures_util::future::join_all(batch).await {
                assert_eq!(response.unwrap().status(), 200);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), requests)
        .await
        .expect("4 000 requests answered while the log is not read");
    drop(log);
}
