//! Drives N requests for one path through the example's router in-process (no socket), for
//! counting instructions per request with callgrind.
//!
//! Run with `cargo run --release -p example-server --example count_requests -- <bare|rampart> <N> [PATH]`.
//! `scripts/bench-load.sh` runs it twice under `valgrind --tool=callgrind` with N and 2N
//! requests; the difference divided by N is the cost of one request.

#![allow(clippy::print_stdout)]

use axum::body::Body;
use example_server::ServerConfig;
use http::Request;
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "rampart".to_owned());
    let count: usize = args.next().unwrap_or_else(|| "1000".to_owned()).parse()?;
    let path = args.next().unwrap_or_else(|| "/api/hello".to_owned());
    let config = ServerConfig::from_toml_str(include_str!("../bench.toml"))?;
    let mut app = match variant.as_str() {
        "bare" => example_server::bare(&config),
        "rampart" => example_server::app(&config)?.0,
        other => return Err(format!("unknown variant `{other}`: bare or rampart").into()),
    };
    let mut bytes = 0;
    for _ in 0..count {
        let request = Request::get(path.as_str()).body(Body::empty())?;
        let response = ServiceExt::<Request<Body>>::ready(&mut app)
            .await?
            .call(request)
            .await?;
        bytes += response.into_body().collect().await?.to_bytes().len();
    }
    println!("{variant}: {count} requests for {path}, {bytes} body bytes");
    Ok(())
}
