//! Drives N requests for one path through the example's router in-process (no socket), for
//! counting instructions per request with callgrind.
//!
//! Run with `cargo run --release -p load-targets --bin count-requests -- <bare|rampart|stack> <N> [PATH]`.
//! `scripts/bench-load.sh` runs it twice under `valgrind --tool=callgrind` with N and 2N
//! requests; the difference divided by N is the cost of one request.

#![allow(clippy::print_stdout)]

use example_server::ServerConfig;
use request_loop::drive_requests;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "rampart".to_owned());
    let count: usize = args.next().unwrap_or_else(|| "1000".to_owned()).parse()?;
    let path = args.next().unwrap_or_else(|| "/api/hello".to_owned());
    let config =
        ServerConfig::from_toml_str(include_str!("../../../../examples/server/bench.toml"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let entered = runtime.enter();
    let mut app = match variant.as_str() {
        "bare" => load_targets::bare(&config),
        "rampart" => example_server::app(&config)?.0,
        // The stack alone, without the example's request ids and access log.
        "stack" => {
            rampart::Stack::from_config(&config.stack)?.apply(example_server::handlers(&config))
        }
        other => return Err(format!("unknown variant `{other}`: bare, rampart or stack").into()),
    };
    drop(entered);
    let bytes = drive_requests(&runtime, &mut app, &path, count)?;
    println!("{variant}: {count} requests for {path}, {bytes} body bytes");
    Ok(())
}
