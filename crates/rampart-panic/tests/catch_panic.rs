//! Panics in `call` and in the response future become 500 problem+json, counted per route.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use rampart_metrics::Prometheus;
use rampart_panic::CatchPanicLayer;
use std::convert::Infallible;
use std::task::{Context, Poll};
use tower::{Service, ServiceExt};

async fn panics_when_polled() -> &'static str {
    panic!("secret internal detail")
}

#[tokio::test]
async fn a_panicking_handler_gets_500_problem_json_without_the_message() {
    let prometheus = Prometheus::new();
    let app = Router::new()
        .route("/items/{id}", get(panics_when_polled))
        .route("/fine", get(|| async { "fine" }))
        .layer(CatchPanicLayer::new().with_recorder(prometheus.recorder()));

    let request = Request::get("/items/3").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.extensions().get::<rampart_panic::PanicCaught>(),
        Some(&rampart_panic::PanicCaught)
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "internal_error");
    assert_eq!(problem["status"], 500);
    assert!(!String::from_utf8_lossy(&body).contains("secret"));
    assert!(
        prometheus
            .render()
            .contains(r#"rampart_panics_total{http_route="/items/{id}"} 1"#)
    );

    // The router keeps serving after the panic.
    let request = Request::get("/fine").body(Body::empty()).unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// A service that panics in `call` itself, before any future exists.
#[derive(Clone)]
struct PanicsInCall;

impl Service<Request<Body>> for PanicsInCall {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        panic!("bug in call")
    }
}

#[tokio::test]
async fn a_panic_in_call_is_caught_too() {
    let prometheus = Prometheus::new();
    let service = tower::ServiceBuilder::new()
        .layer(CatchPanicLayer::new().with_recorder(prometheus.recorder()))
        .service(PanicsInCall);
    let response = service
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        prometheus
            .render()
            .contains(r#"rampart_panics_total{http_route="unmatched"} 1"#)
    );
}
