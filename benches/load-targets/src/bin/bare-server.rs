//! The example server's routes with no middleware, the load benchmark's baseline.
//!
//! Run with `cargo run --release -p load-targets --bin bare-server -- [--config FILE] [--listen ADDR]`.
//! Serves through `rampart::server::Server` with the configuration's `[server]` settings, as
//! the example server does, until SIGINT or SIGTERM.

use example_server::ServerConfig;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut config = ServerConfig::default();
    let mut listen: Option<SocketAddr> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => {
                let file = args.next().ok_or("--config FILE")?;
                config = ServerConfig::from_file(Path::new(&file))?;
            }
            "--listen" => listen = Some(args.next().ok_or("--listen ADDR")?.parse()?),
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let listener = TcpListener::bind(listen.unwrap_or(config.server.listen)).await?;
    let mut server = rampart::server::Server::new()
        .header_read_timeout(config.server.header_read_timeout)
        .shutdown_grace(config.server.shutdown_grace);
    if let Some(max) = config.server.max_connections {
        server = server.max_connections(max);
    }
    let mut terminate = signal(SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    server
        .serve(listener, load_targets::bare(&config), stop)
        .await?;
    Ok(())
}
