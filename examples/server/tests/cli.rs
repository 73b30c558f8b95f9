//! The `example-server` binary as a user runs it: flags, logs, config errors, graceful stop.

#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-server"));
    command
        .env("RUST_LOG", "info")
        .env_remove("RAMPART_ADMIN_TOKEN")
        .env_remove("RAMPART_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

type Log = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

fn log_of(child: &mut Child) -> Log {
    BufReader::new(child.stdout.take().unwrap()).lines()
}

/// Reads the log until `found` recognises a line, for at most 30 seconds.
async fn read_until<T>(log: &mut Log, mut found: impl FnMut(&str) -> Option<T>) -> T {
    let find = async {
        while let Some(line) = log.next_line().await.unwrap() {
            if let Some(value) = found(&line) {
                return value;
            }
        }
        panic!("the log ended before the line we wait for");
    };
    tokio::time::timeout(Duration::from_secs(30), find)
        .await
        .unwrap()
}

fn listening_address(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("listening on http://")?;
    Some(rest.split_whitespace().next()?.to_owned())
}

/// Reads the log until the server says where it listens, then keeps draining it.
async fn bound_address(child: &mut Child) -> String {
    let mut log = log_of(child);
    let addr = read_until(&mut log, listening_address).await;
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    addr
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

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
async fn the_access_log_line_carries_the_request_id() {
    let mut child = server().args(["--listen", "127.0.0.1:0"]).spawn().unwrap();
    let mut log = log_of(&mut child);
    let addr = read_until(&mut log, listening_address).await;

    let response = client()
        .get(format!("http://{addr}/api/hello"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let line = read_until(&mut log, |line| {
        line.contains("request_id=trace-me-42")
            .then(|| line.to_owned())
    })
    .await;
    assert!(line.contains("path=/api/hello"), "{line}");
    assert!(line.contains("status=200"), "{line}");
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
