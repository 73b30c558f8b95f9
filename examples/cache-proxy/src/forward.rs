//! The forwarding itself: one origin, every method and path, through the cache.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, StatusCode, Uri, Version, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rampart::cache::{CacheLayer, CacheRule};
use rampart::common::Problem;
use std::io;
use std::time::Duration;
use tokio::net::TcpListener;

use crate::hop;

/// The HTTP origin every request goes to.
#[derive(Debug, Clone)]
pub struct Origin {
    authority: Authority,
    host: HeaderValue,
    timeout: Duration,
    client: Client<HttpConnector, Body>,
}

impl Origin {
    /// The origin at `url` (`http://host:port`; a path, if any, is ignored). Waits up to 30 s
    /// for the origin's response headers.
    ///
    /// # Errors
    ///
    /// When `url` is not an `http://` URL with a host (this example speaks no TLS to origins).
    pub fn new(url: Uri) -> io::Result<Self> {
        let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, why.to_owned());
        if url.scheme() != Some(&Scheme::HTTP) {
            return Err(invalid("the origin must be an http:// URL"));
        }
        let authority = url
            .authority()
            .cloned()
            .ok_or_else(|| invalid("the origin URL has no host"))?;
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|_| invalid("the origin's host is not a valid Host header"))?;
        Ok(Self {
            authority,
            host,
            timeout: Duration::from_secs(30),
            // Idle connections are dropped after 2 s, before origins close them (Node's
            // keep-alive timeout is 5 s): reusing one the origin is closing at that moment
            // fails the request with a 502.
            client: Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(Duration::from_secs(2))
                .build_http(),
        })
    }

    /// How long to wait for the origin's response headers (default 30 s); past it, `504`.
    #[must_use]
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Every path and method forwarded to `origin`, through a response cache whose default rule
/// applies to all of them.
pub fn router(origin: Origin) -> Router {
    let cache = CacheLayer::builder().default_rule(CacheRule::new()).build();
    Router::new()
        .fallback(forward)
        .with_state(origin)
        .layer(cache)
}

/// Serves [`router`] on `listener` with rampart's server (header-read timeout, connection cap,
/// graceful shutdown) until `shutdown` completes.
///
/// # Errors
///
/// As [`rampart::server::Server::serve`].
pub async fn serve(
    listener: TcpListener,
    origin: Origin,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    rampart::server::Server::new()
        .serve(listener, router(origin), shutdown)
        .await
}

async fn forward(State(origin): State<Origin>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let Ok(uri) = Uri::builder()
        .scheme(Scheme::HTTP)
        .authority(origin.authority.clone())
        .path_and_query(path)
        .build()
    else {
        return Problem::new(StatusCode::BAD_REQUEST, "invalid_target")
            .with_detail("the request target cannot be forwarded")
            .into_response();
    };
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    hop::strip(&mut parts.headers);
    parts.headers.insert(header::HOST, origin.host.clone());
    let sent = origin.client.request(Request::from_parts(parts, body));
    match tokio::time::timeout(origin.timeout, sent).await {
        Ok(Ok(response)) => {
            let (mut parts, body) = response.into_parts();
            hop::strip(&mut parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Ok(Err(error)) => Problem::new(StatusCode::BAD_GATEWAY, "origin_unreachable")
            .with_detail(format!("the origin could not be reached: {error}"))
            .into_response(),
        Err(_) => Problem::new(StatusCode::GATEWAY_TIMEOUT, "origin_timeout")
            .with_detail(format!(
                "the origin did not answer within {:?}",
                origin.timeout
            ))
            .into_response(),
    }
}
