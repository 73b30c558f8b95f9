//! Limits by route: a group shares its slots, a route of its own does not, a route without a
//! limit and a critical route are never refused.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use rampart_concurrency::{ConcurrencyLimitLayer, Limit, Overloaded, RouteLimit};
use rampart_core::RouteTable;
use rampart_core::shed::Shed;
use std::time::Duration;
use tokio::task::JoinHandle;
use tower::ServiceExt;

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(1)).await;
    "done"
}

fn app(layer: ConcurrencyLimitLayer) -> Router {
    ["/a", "/b", "/own", "/free", "/health"]
        .into_iter()
        .fold(Router::new(), |router, path| router.route(path, get(slow)))
        .layer(layer)
}

fn start(app: &Router, path: &str) -> JoinHandle<StatusCode> {
    let call = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap());
    tokio::spawn(async move { call.await.unwrap().status() })
}

async fn status(app: &Router, path: &str) -> StatusCode {
    let handle = start(app, path);
    tokio::time::sleep(Duration::from_millis(1)).await;
    if handle.is_finished() {
        handle.await.unwrap()
    } else {
        // Admitted: it is running. Let it finish in its own time.
        StatusCode::ACCEPTED
    }
}

#[tokio::test(start_paused = true)]
async fn a_group_shares_its_slots_and_other_routes_keep_theirs() {
    let database = Limit::fixed("database", 2);
    let own = Limit::fixed("/own", 1);
    let routes = RouteTable::new(None)
        .with_route("/a", Some(RouteLimit::new(database.clone())))
        .with_route("/b", Some(RouteLimit::new(database.clone())))
        .with_route("/own", Some(RouteLimit::new(own.clone())))
        .with_route(
            "/health",
            Some(RouteLimit::new(database.clone()).critical(true)),
        );
    let layer = ConcurrencyLimitLayer::from_table(routes);
    let names: Vec<String> = layer.limits().iter().map(|l| l.name().to_owned()).collect();
    assert_eq!(names, ["/own", "database"]);
    let app = app(layer);

    assert_eq!(status(&app, "/a").await, StatusCode::ACCEPTED);
    assert_eq!(status(&app, "/b").await, StatusCode::ACCEPTED);
    assert_eq!(database.in_flight(), 2);
    // The group is full from either route.
    assert_eq!(status(&app, "/a").await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(status(&app, "/b").await, StatusCode::SERVICE_UNAVAILABLE);
    // A route of its own, and a route without a limit, do not see it.
    assert_eq!(status(&app, "/own").await, StatusCode::ACCEPTED);
    assert_eq!(status(&app, "/own").await, StatusCode::SERVICE_UNAVAILABLE);
    for _ in 0..10 {
        assert_eq!(status(&app, "/free").await, StatusCode::ACCEPTED);
    }
    // A critical route is never refused, and counts: the API sees the load it adds.
    for _ in 0..3 {
        assert_eq!(status(&app, "/health").await, StatusCode::ACCEPTED);
    }
    assert_eq!(database.in_flight(), 5);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!((database.in_flight(), own.in_flight()), (0, 0));
    assert_eq!(status(&app, "/a").await, StatusCode::ACCEPTED);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_names_its_limit_and_is_marked_shed() {
    let layer = ConcurrencyLimitLayer::new(Limit::fixed("database", 1));
    let app = app(layer);
    let _held = start(&app, "/a");
    tokio::time::sleep(Duration::from_millis(1)).await;
    let refused = app
        .clone()
        .oneshot(Request::get("/b").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(Shed::is_shed(&refused), "a breaker above would count it");
    assert_eq!(
        refused.extensions().get::<Overloaded>().unwrap().limiter(),
        "database"
    );
    assert_eq!(refused.headers()["cache-control"], "no-store");
}
