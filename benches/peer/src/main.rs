//! Serves the peer stack, or counts requests through it in-process for callgrind.
//!
//! `peer-server [--tuned] --listen 127.0.0.1:3000` serves (until SIGTERM or Ctrl-C);
//! `peer-server --overload fixed|aimd --listen 127.0.0.1:3000` serves the overload peers;
//! `peer-server [--tuned] count N [PATH]` drives N requests through the router without a socket.

#![allow(clippy::print_stdout)]

use axum::Router;
use peer_server::overload::{self, Shedder};
use peer_server::{Variant, app};
use request_loop::drive_requests;
use std::net::SocketAddr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--overload") {
        let shedder = match args.get(1).map(String::as_str) {
            Some("fixed") => Shedder::Fixed(8),
            Some("aimd") => Shedder::Aimd,
            _ => return Err("--overload takes `fixed` or `aimd`".into()),
        };
        let listen: SocketAddr = match args.get(2..4) {
            Some([flag, address]) if flag == "--listen" => address.parse()?,
            _ => return Err("usage: peer-server --overload KIND --listen ADDR".into()),
        };
        return tokio::runtime::Runtime::new()?.block_on(serve(|| overload::app(shedder), listen));
    }
    let variant = if args.first().is_some_and(|a| a == "--tuned") {
        args.remove(0);
        Variant::Tuned
    } else {
        Variant::Usual
    };
    match args.first().map(String::as_str) {
        Some("count") => {
            let count: usize = args.get(1).map_or("1000", String::as_str).parse()?;
            let path = args.get(2).map_or("/api/hello", String::as_str);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let mut app = {
                let _entered = runtime.enter();
                app(variant)
            };
            let bytes = drive_requests(&runtime, &mut app, path, count)?;
            println!("peer: {count} requests for {path}, {bytes} body bytes");
            Ok(())
        }
        Some("--listen") => {
            let listen: SocketAddr = args.get(1).ok_or("--listen needs an address")?.parse()?;
            tokio::runtime::Runtime::new()?.block_on(serve(|| app(variant), listen))
        }
        _ => Err(
            "usage: peer-server [--tuned] (--listen ADDR | count N [PATH]) | --overload KIND --listen ADDR"
                .into(),
        ),
    }
}

/// Serves the router `make` builds (inside the runtime: the peers' layers spawn tasks).
async fn serve(
    make: impl FnOnce() -> Router,
    listen: SocketAddr,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(
        listener,
        make().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    })
    .await?;
    Ok(())
}
