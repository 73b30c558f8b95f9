//! Running the `example-server` binary as a user does, for the tests that need the process
//! (its log, its exit, its environment).

#![allow(dead_code, unreachable_pub)]

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary with a clean environment (no admin token, plain logs, no Redis), its output
/// piped and killed on drop.
pub fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-server"));
    // Every route on the one address the tests read from the log (and no two servers on the
    // default operations port); tests/product/operations.rs covers the split.
    command
        .args(["--ops-listen", "public"])
        .env("RUST_LOG", "info")
        .env_remove("RAMPART_ADMIN_TOKEN")
        .env_remove("RAMPART_LOG_FORMAT")
        .env_remove("RAMPART_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The server's log, line by line.
pub type Log = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// The log of a child started with [`server`].
pub fn log_of(child: &mut Child) -> Log {
    BufReader::new(child.stdout.take().unwrap()).lines()
}

/// Reads the log until `found` recognises a line, for at most 30 seconds.
pub async fn read_until<T>(log: &mut Log, mut found: impl FnMut(&str) -> Option<T>) -> T {
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

/// The address in the line saying where the server listens.
pub fn listening_address(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("listening on http://")?;
    Some(rest.split_whitespace().next()?.to_owned())
}

/// Reads the log until the server says where it listens, then keeps draining it.
pub async fn bound_address(child: &mut Child) -> String {
    let mut log = log_of(child);
    let addr = read_until(&mut log, listening_address).await;
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    addr
}

/// A client that never goes through a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
