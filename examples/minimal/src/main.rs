//! The smallest rampart service: a router, the whole stack in one line, `/metrics`, served
//! with the limits `axum::serve` leaves out.
//!
//! Run with `cargo run -p minimal`, then `curl -i localhost:3000/hello` and
//! `curl localhost:3000/metrics`. `LISTEN=127.0.0.1:8080` picks another address.

// A binary that tells its user where it listens.
#![allow(clippy::print_stdout)]

use axum::{Router, routing::get};
use rampart::Stack;
use rampart::server::Server;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let stack = Stack::builder().build();
    let router = Router::new()
        .route("/hello", get(|| async { "hello, world\n" }))
        // 404 and 405 as problem+json, like every other answer the stack makes.
        .fallback(rampart::fallback::not_found)
        .method_not_allowed_fallback(rampart::fallback::method_not_allowed);
    // Routes first, then the stack (it covers the routes that exist when it is applied), then
    // /metrics, which is left outside on purpose.
    let metrics = stack
        .metrics_endpoint()
        .expect("a stack built without a recorder has its own registry");
    let app = stack.apply(router).route_service("/metrics", metrics);

    let address = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Server::new().serve(listener, app, shutdown).await
}
