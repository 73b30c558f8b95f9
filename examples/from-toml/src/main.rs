//! A rampart service configured from a TOML file: the same router as `examples/minimal`, its
//! stack read from `rampart.toml` (or the file given as the first argument).
//!
//! Run with `cargo run -p from-toml` (from the repository root), or
//! `cargo run -p from-toml -- path/to/stack.toml`. `LISTEN=127.0.0.1:8080` picks another
//! address. A bad file stops the start-up with the field at fault:
//! `invalid configuration at `ratelimit.policies[0].limit`: ...`.

// A binary that tells its user where it listens.
#![allow(clippy::print_stdout)]

use axum::{Router, routing::get};
use rampart::server::Server;
use rampart::{Stack, StackConfig};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/rampart.toml").to_owned());
    let stack = match StackConfig::from_file(&path).and_then(|config| Stack::from_config(&config)) {
        Ok(stack) => stack,
        Err(error) => {
            eprintln!("{path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let router = Router::new()
        .route("/hello", get(|| async { "hello, world\n" }))
        .route("/slow", get(slow))
        .fallback(rampart::fallback::not_found)
        .method_not_allowed_fallback(rampart::fallback::method_not_allowed);
    let metrics = stack
        .metrics_endpoint()
        .expect("a stack built from a configuration has its own registry");
    let app = stack.apply(router).route_service("/metrics", metrics);
    match serve(app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn slow() -> &'static str {
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    "done\n"
}

async fn serve(app: Router) -> std::io::Result<()> {
    let address = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Server::new().serve(listener, app, shutdown).await
}
