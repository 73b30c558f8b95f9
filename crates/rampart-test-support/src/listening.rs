//! An example's binary started on a free loopback port, as a user would run it.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `binary` with `args` and `LISTEN=127.0.0.1:0`, waits (30 s at most) for the line
/// `listening on <base URL>` it prints, and returns the child (killed on drop) and that URL.
///
/// # Panics
///
/// When the binary cannot start, or exits or says something else first.
pub async fn start_listening(binary: &str, args: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut child = Command::new(binary)
        .args(args)
        .env("LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("a piped stdout");
    let line = tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).lines().next_line(),
    )
    .await
    .expect("it says where it listens within 30 s")
    .expect("its stdout can be read")
    .expect("it prints a line before exiting");
    let base = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("`listening on <url>`, not `{line}`"))
        .to_owned();
    (child, base)
}
