//! The example server's routes behind the middleware users assemble today from separate
//! crates, configured as their READMEs show: the "peer" of `scripts/bench-load.sh`.
//!
//! Outermost first: axum-prometheus, tower-http's timeout (1 s, 504), tower_governor (peer-IP
//! key, a quota too high to refuse), tower-http's compression, a tower-resilience circuit
//! breaker (5xx are failures) behind axum's `HandleErrorLayer`, and axum-response-cache (60 s,
//! keyed on method and URI). [`Variant::Tuned`] moves the cache outside compression and keys it
//! on `Accept-Encoding` too, so it stores compressed bytes as rampart does.

pub mod overload;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::response::{IntoResponse, Response};
use axum_prometheus::PrometheusMetricLayer;
use axum_response_cache::CacheLayer;
use futures_util::future::BoxFuture;
use http::{Request, StatusCode};
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service, ServiceBuilder};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_resilience::circuitbreaker::{
    CircuitBreakerError, CircuitBreakerLayer, FailureClassifier,
};

/// Where the peer's cache sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Cache inside compression, keyed on method and URI: every hit is compressed again.
    Usual,
    /// Cache outside compression, keyed on method, URI and `Accept-Encoding`.
    Tuned,
}

/// The peer application. Installs axum-prometheus's global recorder: call once per process.
///
/// # Panics
///
/// When the breaker or governor configuration is rejected (constants here), or the global
/// recorder is already installed.
pub fn app(variant: Variant) -> Router {
    let (metrics, handle) = PrometheusMetricLayer::pair();
    let routes = example_server::handlers(&example_server::ServerConfig::default()).route(
        "/metrics",
        axum::routing::get(move || async move { handle.render() }),
    );
    let governor = GovernorConfigBuilder::default()
        .per_nanosecond(1)
        .burst_size(u32::MAX)
        .finish()
        .expect("a valid governor quota");
    let breaker = CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .minimum_number_of_calls(20)
        .wait_duration_in_open(Duration::from_secs(5))
        .failure_classifier_type(ServerErrors)
        .build()
        .expect("a valid breaker");
    let breaker = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(circuit_open))
        .layer(breaker);
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, Duration::from_secs(1));
    let routes = match variant {
        Variant::Usual => routes
            .layer(CachedPaths::new(CacheLayer::with_lifespan(
                Duration::from_secs(60),
            )))
            .layer(breaker)
            .layer(CompressionLayer::new()),
        Variant::Tuned => routes
            .layer(CompressionLayer::new())
            .layer(CachedPaths::new(CacheLayer::with_lifespan_and_keyer(
                Duration::from_secs(60),
                |request: &Request<axum::body::Body>| {
                    let encoding = request
                        .headers()
                        .get(http::header::ACCEPT_ENCODING)
                        .map(|value| value.as_bytes().to_vec());
                    (request.method().clone(), request.uri().clone(), encoding)
                },
            )))
            .layer(breaker),
    };
    routes
        .layer(GovernorLayer::new(governor))
        .layer(timeout)
        .layer(metrics)
}

/// axum-response-cache stores every 2xx of whatever it wraps for its whole lifespan; a user
/// puts it on the routes meant to be cached (here, as rampart's example: `/api/items/{id}` and
/// `/api/report`). Other requests skip it.
#[derive(Debug, Clone)]
struct CachedPaths<L>(L);

impl<L> CachedPaths<L> {
    const fn new(layer: L) -> Self {
        Self(layer)
    }
}

impl<L: Layer<S>, S: Clone> Layer<S> for CachedPaths<L> {
    type Service = Steer<L::Service, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Steer {
            cached: self.0.layer(inner.clone()),
            direct: inner,
        }
    }
}

/// Sends cacheable paths through the cache, the rest straight on.
#[derive(Debug, Clone)]
pub struct Steer<C, D> {
    cached: C,
    direct: D,
}

impl<C, D, B> Service<Request<B>> for Steer<C, D>
where
    C: Service<Request<B>, Response = Response, Error = Infallible>,
    C::Future: Send + 'static,
    D: Service<Request<B>, Response = Response, Error = Infallible>,
    D::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both are axum routes or wrap them: always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        if path.starts_with("/api/items/") || path == "/api/report" {
            Box::pin(self.cached.call(request))
        } else {
            Box::pin(self.direct.call(request))
        }
    }
}

/// 5xx answers are failures (an axum router never returns an error).
#[derive(Debug, Clone, Copy)]
struct ServerErrors;

impl FailureClassifier<Response, Infallible> for ServerErrors {
    fn classify(&self, result: &Result<Response, Infallible>) -> bool {
        result
            .as_ref()
            .is_ok_and(|response| response.status().is_server_error())
    }
}

async fn circuit_open(error: CircuitBreakerError<Infallible>) -> Response {
    match error {
        CircuitBreakerError::OpenCircuit => {
            (StatusCode::SERVICE_UNAVAILABLE, "circuit open").into_response()
        }
        CircuitBreakerError::Inner(never) => match never {},
    }
}
