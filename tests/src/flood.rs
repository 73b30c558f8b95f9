//! A flood of distinct requests, each carrying a large junk header, over keep-alive
//! connections: what a hostile client sends to make a cache hold on to request buffers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What to send.
#[derive(Debug, Clone)]
pub struct Flood {
    /// Requests in all.
    pub requests: u64,
    /// Keep-alive connections, each sending one request after the other.
    pub connections: u64,
    /// Bytes of the junk header on every request.
    pub junk_bytes: usize,
    /// The path of request `n`: `{n}` is replaced by its number (distinct per request).
    pub path: String,
    /// A header line sent with every request, or none: `{n}` is replaced by the request's
    /// number padded to 240 digits (a key for a header-keyed rate limit, near the longest a
    /// client can make one), as in `x-api-key: a{n}`, and `{trace}` by its number plus one in
    /// 32 hex digits (a trace id of its own, as in `traceparent: 00-{trace}-…-01`).
    pub distinct_header: Option<String>,
}

/// Status codes of the answers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FloodAnswers {
    /// Answers with a 2xx status.
    pub success: u64,
    /// Any other answer.
    pub other: u64,
}

/// Sends the flood to `addr`, reading every answer whole.
///
/// # Errors
///
/// When a connection fails or an answer cannot be read: the flood stops there.
pub async fn flood(addr: SocketAddr, flood: &Flood) -> std::io::Result<FloodAnswers> {
    let next = Arc::new(AtomicU64::new(0));
    let junk: Arc<str> = "j".repeat(flood.junk_bytes).into();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..flood.connections.max(1) {
        let (next, junk, flood) = (Arc::clone(&next), Arc::clone(&junk), flood.clone());
        tasks.spawn(async move {
            let socket = TcpStream::connect(addr).await?;
            let (read, mut write) = socket.into_split();
            let mut read = BufReader::new(read);
            let mut answers = FloodAnswers::default();
            let mut request = Vec::with_capacity(flood.junk_bytes + 256);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= flood.requests {
                    return Ok::<_, std::io::Error>(answers);
                }
                request.clear();
                let path = flood.path.replace("{n}", &n.to_string());
                let distinct = flood
                    .distinct_header
                    .as_ref()
                    .map(|line| {
                        line.replace("{n}", &format!("{n:0>240}"))
                            .replace("{trace}", &format!("{:032x}", n + 1))
                            + "\r\n"
                    })
                    .unwrap_or_default();
                request.extend_from_slice(
                    format!(
                        "GET {path} HTTP/1.1\r\nhost: flood.test\r\n{distinct}x-junk: {junk}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                write.write_all(&request).await?;
                if (200..300).contains(&read_answer(&mut read).await?) {
                    answers.success += 1;
                } else {
                    answers.other += 1;
                }
            }
        });
    }
    let mut total = FloodAnswers::default();
    while let Some(joined) = tasks.join_next().await {
        let answers = joined.map_err(std::io::Error::other)??;
        total.success += answers.success;
        total.other += answers.other;
    }
    Ok(total)
}

/// Reads one HTTP/1.1 answer with a `content-length` body; returns its status.
async fn read_answer(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<u16> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(read.read_u8().await?);
    }
    let head = String::from_utf8_lossy(&head);
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, head.to_string());
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(invalid)?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or_else(invalid)?;
    let mut body = vec![0; length];
    read.read_exact(&mut body).await?;
    Ok(status)
}

/// The process's resident set size now and at its peak (`VmRSS`, `VmHWM`), in bytes; `None`
/// where `/proc` does not say.
pub fn resident_bytes() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
