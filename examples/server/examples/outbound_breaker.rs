//! The circuit breaker on the client side: a hyper-util client calling a dependency, with one
//! breaker per upstream host.
//!
//! Run with `cargo run -p example-server --example outbound_breaker`.
//!
//! It starts a flaky dependency on a free loopback port, calls it until the breaker opens,
//! shows that calls are then refused without touching the network, lets the dependency
//! recover, and shows the half-open probes closing the breaker. It checks each step and exits
//! non-zero if the breaker misbehaves, so CI runs it too.

#![allow(clippy::print_stdout)]

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rampart::breaker::{BreakerConfig, BreakerScope, CircuitBreakerLayer, CircuitOpen, Window};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tower::{Service, ServiceBuilder, ServiceExt};

#[derive(Clone, Default)]
struct Dependency {
    healthy: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
}

async fn start_dependency(dependency: Dependency) -> std::io::Result<String> {
    let app = Router::new().route(
        "/price",
        get(move || {
            let dependency = dependency.clone();
            async move {
                dependency.calls.fetch_add(1, Ordering::SeqCst);
                if dependency.healthy.load(Ordering::SeqCst) {
                    (StatusCode::OK, "42")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "down")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/price", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dependency = Dependency::default();
    let url = start_dependency(dependency.clone()).await?;

    let breaker = CircuitBreakerLayer::new(
        BreakerConfig::default()
            .window(Window::Count(10))
            .minimum_calls(5)
            .wait_duration(Duration::from_millis(500))
            .permitted_calls_in_half_open(2),
    )
    .scope(BreakerScope::Host);
    let breakers = breaker.breakers();
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut guarded = ServiceBuilder::new().layer(breaker).service(client);

    let mut call = async || -> Result<(StatusCode, bool), Box<dyn std::error::Error>> {
        let request = Request::get(url.as_str()).body(Empty::new())?;
        let response = guarded.ready().await?.call(request).await?;
        let refused = response.extensions().get::<CircuitOpen>().is_some();
        let status = response.status();
        response.into_body().collect().await?;
        Ok((status, refused))
    };

    println!("dependency down:");
    for _ in 0..5 {
        let (status, refused) = call().await?;
        println!("  {status} (refused by breaker: {refused})");
        assert!(!refused && status == StatusCode::SERVICE_UNAVAILABLE);
    }
    let before = dependency.calls.load(Ordering::SeqCst);
    for _ in 0..20 {
        let (status, refused) = call().await?;
        assert!(refused && status == StatusCode::SERVICE_UNAVAILABLE);
    }
    let reached = dependency.calls.load(Ordering::SeqCst) - before;
    println!("breaker open: 20 calls refused, {reached} reached the dependency");
    assert_eq!(reached, 0);
    println!("breakers: {:?}", breakers.snapshot());

    dependency.healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(550)).await;
    println!("dependency back, wait over:");
    for _ in 0..2 {
        let (status, refused) = call().await?;
        println!("  probe: {status}");
        assert!(!refused && status == StatusCode::OK);
    }
    let state = breakers.snapshot()[0].state;
    println!("breaker after two good probes: {state}");
    assert_eq!(state.as_str(), "closed");
    Ok(())
}
