//! Floods a server with distinct requests, each carrying a large junk header; used by
//! `scripts/attack-cache-memory.sh`. Loopback only.
//!
//! Run with:
//!
//! ```sh
//! cargo run --release -p rampart-tests --example flood -- 127.0.0.1:3000 1000000 65536 '/api/items/{n}?q={n}'
//! ```

use rampart_tests::{Flood, flood};
use std::io::Write;
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, requests, junk_bytes, path] = args.as_slice() else {
        return Err(
            "usage: flood ADDR REQUESTS JUNK_BYTES PATH ({n} is the request number)".into(),
        );
    };
    let addr: SocketAddr = addr.parse()?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address").into());
    }
    let attack = Flood {
        requests: requests.parse()?,
        connections: 8,
        junk_bytes: junk_bytes.parse()?,
        path: path.clone(),
        distinct_header: None,
    };
    let started = tokio::time::Instant::now();
    let answers = flood(addr, &attack).await?;
    let seconds = started.elapsed().as_secs_f64();
    writeln!(
        std::io::stdout(),
        "{} requests in {seconds:.1} s ({:.0}/s): {} 2xx, {} other",
        attack.requests,
        attack.requests as f64 / seconds,
        answers.success,
        answers.other
    )?;
    Ok(())
}
