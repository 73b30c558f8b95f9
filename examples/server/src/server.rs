use axum::Router;
use rampart::Stack;
use rampart::server::MinDataRate;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer as AccessLogLayer;

use crate::access_log::AccessLine;
use crate::config::ServerConfig;
use crate::request_id::{MakeRandomUuid, X_REQUEST_ID, drop_unusable_id};
use crate::routes;
use crate::state::AppState;

/// The application: the example's routes, the rampart stack, request ids and access logs.
///
/// Returns the stack too, whose registry `/metrics` serves.
///
/// # Errors
///
/// A [`rampart::ConfigError`] when the stack configuration is invalid.
pub fn app(config: &ServerConfig) -> Result<(Router, Stack), rampart::ConfigError> {
    let stack = Stack::from_config(&config.stack)?;
    let state = AppState::new(
        config.server.admin_token.clone(),
        config.database,
        stack.breakers(),
        stack.cache(),
    );
    Ok((app_with_state(&stack, state), stack))
}

/// The example's routes alone: no middleware and no `/metrics`, for benchmarks that put other
/// middleware in front of the same handlers.
pub fn handlers(config: &ServerConfig) -> Router {
    routes::router(standalone_state(config))
}

/// Handler state without a stack: an empty breaker registry and cache, recording nowhere (so
/// nothing of ours shows in another stack's global registry).
fn standalone_state(config: &ServerConfig) -> AppState {
    let nowhere = rampart::common::MetricsRecorder::new(metrics::NoopRecorder);
    AppState::new(
        config.server.admin_token.clone(),
        config.database,
        rampart::breaker::Breakers::new(nowhere.clone()),
        rampart::cache::CacheLayer::builder()
            .with_recorder(nowhere)
            .build()
            .handle(),
    )
}

fn app_with_state(stack: &Stack, state: AppState) -> Router {
    with_layers(stack, with_metrics_page(stack, routes::router(state)))
}

/// `routes` and `/metrics`, the stack's Prometheus page (a stack built from a configuration
/// always has its own registry).
fn with_metrics_page(stack: &Stack, routes: Router) -> Router {
    match stack.metrics_endpoint() {
        Some(page) => routes.route_service("/metrics", page),
        None => routes,
    }
}

/// The example's layers and the stack around `routes`.
fn with_layers(stack: &Stack, routes: Router) -> Router {
    // One `Router::layer` for the example's layers and the stack together: each call wraps
    // (and boxes) every route again, which a request pays for in clones and allocations.
    routes.layer(
        ServiceBuilder::new()
            .layer(MapRequestLayer::new(drop_unusable_id))
            .layer(SetRequestIdLayer::new(X_REQUEST_ID, MakeRandomUuid))
            .layer(
                AccessLogLayer::new_for_http()
                    .make_span_with(crate::access_log::span)
                    // One line per response, its level by who chose the outcome
                    // (access_log::Severity); no second line for a 5xx.
                    .on_response(AccessLine)
                    .on_failure(()),
            )
            .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
            .layer(stack.layer()),
    )
}

/// Serves the application on `listener` with `rampart::server` (header-read timeout, connection
/// cap, bounded graceful shutdown) until `shutdown` completes, then drains in-flight requests
/// for at most `server.shutdown_grace` before returning.
///
/// With `operations`, `/metrics`, `/health/*` and `/admin/*` are served there and not on
/// `listener` (`server.ops_listen`): scrapes, probes and token guesses never reach the public
/// address, and the API's clients cannot reach them.
///
/// # Errors
///
/// An invalid stack configuration, or an I/O error of a listener.
pub async fn serve(
    listener: TcpListener,
    operations: Option<TcpListener>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let stack = Stack::from_config(&config.stack)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let state = AppState::new(
        config.server.admin_token.clone(),
        config.database,
        stack.breakers(),
        stack.cache(),
    );
    let (public, operations) = match operations {
        None => (app_with_state(&stack, state.clone()), None),
        Some(listener) => {
            let api = with_layers(&stack, routes::api_router(state.clone()));
            let ops = with_metrics_page(&stack, routes::operations_router(state.clone()));
            (api, Some((listener, with_layers(&stack, ops))))
        }
    };

    let mut server = edge(&config);
    if let Some(prometheus) = stack.prometheus() {
        // The server's refusals and evictions on the same page as the stack's metrics.
        server = server.with_recorder(prometheus.recorder());
    }
    let (stopping, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        // Readiness answers 503 on the connections still open while they drain.
        state.stop_accepting();
        let _ = stopping.send(true);
    });
    let stopped = |mut stop: watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|stopping| *stopping).await;
    };
    let public = server
        .clone()
        .serve(listener, public, stopped(stop.clone()));
    match operations {
        None => public.await,
        Some((listener, ops)) => {
            let ops = server.serve(listener, ops, stopped(stop));
            let (public, ops) = tokio::join!(public, ops);
            public.and(ops)
        }
    }
}

/// The connection limits of `[server]`; the rate limiter's trusted proxies have no
/// per-address share.
fn edge(config: &ServerConfig) -> rampart::server::Server {
    let section = &config.server;
    let rate = (section.min_request_body_rate > 0).then(|| {
        MinDataRate::new(
            section.min_request_body_rate,
            section.min_request_body_grace,
        )
    });
    let mut server = rampart::server::Server::new()
        .header_read_timeout(section.header_read_timeout)
        .idle_timeout(section.idle_timeout)
        .min_request_body_rate(rate)
        .shutdown_grace(section.shutdown_grace);
    if let Some(max) = section.max_connections {
        server = server.max_connections(max);
    }
    if let Some(max) = section.max_connections_per_address {
        server = server.max_connections_per_address(max);
    }
    for proxies in &config.stack.ratelimit.client_ip.trusted_proxies {
        server = server.trust_proxy(*proxies);
    }
    server
}

/// A server started by [`start`]; stops when [`RunningServer::stop`] is called or it is dropped.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    ops_addr: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

/// Binds `config.server.listen` and, when set, `config.server.ops_listen` (use port 0 for a
/// free port) and serves in a task.
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn start(config: ServerConfig) -> io::Result<RunningServer> {
    let listener = TcpListener::bind(config.server.listen).await?;
    let addr = listener.local_addr()?;
    let operations = match config.server.ops_listen {
        Some(ops) => Some(TcpListener::bind(ops).await?),
        None => None,
    };
    let ops_addr = operations
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(serve(listener, operations, config, async {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        ops_addr,
        stop: Some(stop),
        task,
    })
}

impl RunningServer {
    /// The address the server listens on.
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://{ops_addr}{path}` when operations have their own listener (`server.ops_listen`),
    /// else the same as [`RunningServer::url`].
    pub fn ops_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.ops_addr.unwrap_or(self.addr))
    }

    /// Starts a graceful shutdown and waits for it to finish.
    ///
    /// # Errors
    ///
    /// The server's I/O error, if it stopped with one.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(60), &mut self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(io::Error::other(join)),
            Err(_) => Err(io::Error::other("the server did not stop within 60 s")),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
