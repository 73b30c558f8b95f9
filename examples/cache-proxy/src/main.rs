//! Run with `cargo run --release -p cache-proxy -- --origin http://127.0.0.1:8000`.

use cache_proxy::Origin;
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
usage: cache-proxy --origin URL [--listen ADDR]

  --origin URL   the HTTP origin every request goes to (http://127.0.0.1:8000)
  --listen ADDR  address to listen on (default 127.0.0.1:8080)

environment: RUST_LOG (log filter)";

struct Args {
    origin: http::Uri,
    listen: SocketAddr,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut origin = None;
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 8080));
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--origin" => {
                let url = args.next().ok_or("--origin needs a URL")?;
                origin = Some(
                    url.parse()
                        .map_err(|_| format!("--origin: `{url}` is not a URL"))?,
                );
            }
            "--listen" => {
                let addr = args.next().ok_or("--listen needs an address")?;
                listen = addr.parse().map_err(|_| {
                    format!("--listen: `{addr}` is not an address like 127.0.0.1:8080")
                })?;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let origin = origin.ok_or("--origin is required")?;
    Ok(Some(Args { origin, listen }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("cache-proxy: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let origin = match Origin::new(args.origin) {
        Ok(origin) => origin,
        Err(error) => {
            eprintln!("cache-proxy: --origin: {error}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cache-proxy: cannot listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(listen = %bound, "cache-proxy listening");
    match cache_proxy::serve(listener, origin, rampart::server::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cache-proxy: {error}");
            ExitCode::FAILURE
        }
    }
}
