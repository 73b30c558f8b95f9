//! Run with `cargo run --release -p example-server -- [--config FILE] [--listen ADDR]`.

use example_server::ACCESS_LOG;
use example_server::{LogFormat, ServerConfig, parse_ops_address, serve};
use rampart::trace::OtlpExport;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::net::TcpListener;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const USAGE: &str = "\
usage: example-server [--config FILE] [--listen ADDR] [--ops-listen ADDR] [--redis-url URL]

  --config FILE      TOML configuration ([server] and [stack] sections)
  --listen ADDR      address to listen on (default 127.0.0.1:3000)
  --ops-listen ADDR  where /metrics, /health/* and /admin/* are served (default 127.0.0.1:9000;
                     \"public\": on --listen, where any client reaches them)
  --redis-url URL    share rate-limit quotas through Redis (redis://127.0.0.1:6379/)

environment: RUST_LOG (log filter), RAMPART_LOG_FORMAT=text|json,
             RAMPART_ADMIN_TOKEN (enables /admin/*), RAMPART_REDIS_URL,
             TOKIO_WORKER_THREADS, OTEL_EXPORTER_OTLP_ENDPOINT (export request
             spans over OTLP/HTTP, e.g. http://127.0.0.1:4318) and the other OTEL_*";

struct Args {
    config: Option<PathBuf>,
    listen: Option<SocketAddr>,
    /// `Some(None)`: `--ops-listen public`.
    ops_listen: Option<Option<SocketAddr>>,
    redis_url: Option<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        config: None,
        listen: None,
        ops_listen: None,
        redis_url: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--config" => {
                let path = args.next().ok_or("--config needs a file")?;
                parsed.config = Some(PathBuf::from(path));
            }
            "--listen" => {
                let addr = args.next().ok_or("--listen needs an address")?;
                let addr = addr.parse().map_err(|_| {
                    format!("--listen: `{addr}` is not an address like 127.0.0.1:3000")
                })?;
                parsed.listen = Some(addr);
            }
            "--ops-listen" => {
                let addr = args.next().ok_or("--ops-listen needs an address")?;
                let addr =
                    parse_ops_address(&addr).map_err(|error| format!("--ops-listen: {error}"))?;
                parsed.ops_listen = Some(addr);
            }
            "--redis-url" => {
                parsed.redis_url = Some(args.next().ok_or("--redis-url needs a URL")?);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(parsed))
}

fn load_config(args: &Args) -> Result<ServerConfig, String> {
    let config = match &args.config {
        Some(path) => ServerConfig::from_file(path),
        None => Ok(ServerConfig::default()),
    };
    let mut config = config
        .and_then(ServerConfig::with_env)
        .map_err(|error| error.to_string())?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(ops) = args.ops_listen {
        config.server.ops_listen = ops;
    }
    if let Some(url) = &args.redis_url {
        config = config.with_redis_url(url.clone());
    }
    Ok(config)
}

/// Log lines waiting for stdout at most (about 25 MB of access lines); beyond, lines are
/// dropped and counted.
const LOG_LINES_BUFFERED: usize = 128_000;

/// What logging needs kept until the process ends.
struct Logging {
    export: Option<OtlpExport>,
    /// Writes the lines still buffered when dropped (waiting a second at most).
    stdout: WorkerGuard,
    dropped: ErrorCounter,
}

/// Logs to stdout as `RUST_LOG` says and, when the `OTEL_*` variables ask for it, exports spans
/// over OTLP; each with a filter of its own, so that exporting rampart's decisions does not put
/// them in the log.
///
/// Lines go to stdout from a thread of their own through a bounded buffer: written in place, a
/// reader that stops reading (a full pipe, a stuck log shipper) would block every worker in
/// `write`, and with them every request. Full, the buffer drops lines rather than requests.
fn init_logging(format: LogFormat) -> Result<Logging, String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (stdout, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_LINES_BUFFERED)
        .thread_name("log-writer")
        .finish(std::io::stdout());
    let dropped = stdout.error_counter();
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(stdout)
        .with_ansi(std::io::stdout().is_terminal());
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().boxed(),
    };
    let export = OtlpExport::from_env("example-server").map_err(|error| error.to_string())?;
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(export.as_ref().map(|export| {
            // The access-log span, around the request span, only names the request id and route
            // for the log; skipped, the request span is the exported server span, joined to
            // the caller's trace.
            let targets = OtlpExport::targets().with_target(ACCESS_LOG, LevelFilter::OFF);
            export.layer(targets)
        }))
        .init();
    Ok(Logging {
        export,
        stdout: guard,
        dropped,
    })
}

async fn run(config: ServerConfig) -> Result<(), String> {
    let listen = config.server.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let bound = listener
        .local_addr()
        .map_err(|error| format!("cannot read the bound address: {error}"))?;
    tracing::info!(address = %bound, "listening on http://{bound}");
    let operations = match config.server.ops_listen {
        Some(ops) => {
            let listener = TcpListener::bind(ops)
                .await
                .map_err(|error| format!("cannot listen on {ops}: {error}"))?;
            let ops = listener
                .local_addr()
                .map_err(|error| format!("cannot read the bound address: {error}"))?;
            tracing::info!(address = %ops, "metrics, health and admin on http://{ops}");
            Some(listener)
        }
        None => None,
    };
    serve(
        listener,
        operations,
        config,
        rampart::server::shutdown_signal(),
    )
    .await
    .map_err(|error| error.to_string())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            #[allow(clippy::print_stdout)]
            {
                println!("{USAGE}");
            }
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("example-server: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("example-server: {error}");
            return ExitCode::from(2);
        }
    };
    let logging = match init_logging(config.server.log_format) {
        Ok(logging) => logging,
        Err(error) => {
            eprintln!("example-server: {error}");
            return ExitCode::from(2);
        }
    };

    // A multi-thread runtime sized by TOKIO_WORKER_THREADS when set, else by the core count.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("example-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(config));
    if let Err(error) = &result {
        tracing::error!("{error}");
        eprintln!("example-server: {error}");
    }
    // The spans still queued are sent and the log lines still buffered written before the
    // process ends.
    if let Some(export) = logging.export {
        export.shutdown();
    }
    drop(logging.stdout);
    let dropped = logging.dropped.dropped_lines();
    if dropped > 0 {
        eprintln!("example-server: {dropped} log lines dropped: stdout did not keep up");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
