//! The rate limit layer in a router: 429s, headers, keys, proxies, metrics.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use rampart_core::RouteTable;
use rampart_metrics::Prometheus;
use rampart_ratelimit::{
    ClientIp, ClientIpHeader, KeyMissing, KeySource, OnMissingKey, Policy, PolicySet, Quota,
    RateLimitLayer,
};
use std::net::SocketAddr;
use std::time::Duration;
use tower::ServiceExt;

fn per_ip(quota: Quota, client_ip: ClientIp) -> Policy {
    Policy::new("per_ip", quota, KeySource::ClientIp(client_ip))
}

fn app_with(layer: RateLimitLayer) -> Router {
    Router::new()
        .route("/api", get(|| async { "ok" }))
        .route("/health", get(|| async { "up" }))
        .layer(layer)
}

async fn send(
    app: &Router,
    path: &str,
    peer: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test(start_paused = true)]
async fn over_quota_is_429_problem_with_retry_after_rounded_up() {
    // 10 per second, burst 2: after two, the next is allowed in 100 ms: Retry-After 1.
    let layer = RateLimitLayer::try_new(vec![per_ip(
        Quota::per_second(10).with_burst(2),
        ClientIp::default(),
    )])
    .unwrap();
    let app = app_with(layer);
    for remaining in ["1", "0"] {
        let (status, headers, _) = send(&app, "/api", "192.0.2.1:1000", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["ratelimit-policy"], "\"per_ip\";q=10;w=1");
        assert_eq!(
            headers["ratelimit"],
            format!("\"per_ip\";r={remaining};t=1")
        );
    }
    let (status, headers, body) = send(&app, "/api", "192.0.2.1:1000", &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["ratelimit"], "\"per_ip\";r=0;t=1");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(problem["status"], 429);

    // Another client is not affected; and 100 ms later this one may go again.
    assert_eq!(
        send(&app, "/api", "192.0.2.2:1000", &[]).await.0,
        StatusCode::OK
    );
    tokio::time::advance(Duration::from_millis(100)).await;
    assert_eq!(
        send(&app, "/api", "192.0.2.1:1000", &[]).await.0,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let layer =
        RateLimitLayer::try_new(vec![per_ip(Quota::per_hour(2), ClientIp::default())]).unwrap();
    let app = app_with(layer);
    for i in 0..2 {
        let spoof = format!("10.9.9.{i}");
        let (status, ..) = send(
            &app,
            "/api",
            "203.0.113.5:1",
            &[("x-forwarded-for", &spoof)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, ..) = send(
        &app,
        "/api",
        "203.0.113.5:1",
        &[("x-forwarded-for", "10.9.9.77")],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(start_paused = true)]
async fn behind_a_trusted_proxy_each_client_has_its_own_quota() {
    let proxy = ClientIp::default()
        .trust("10.0.0.0/8".parse().unwrap())
        .header(ClientIpHeader::XForwardedFor);
    let layer = RateLimitLayer::try_new(vec![per_ip(Quota::per_hour(1), proxy)]).unwrap();
    let app = app_with(layer);
    let via = |client: &'static str| [("x-forwarded-for", client)];
    assert_eq!(
        send(&app, "/api", "10.0.0.1:1", &via("198.51.100.1"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, "/api", "10.0.0.1:1", &via("198.51.100.2"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, "/api", "10.0.0.2:1", &via("198.51.100.1"))
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_api_key_is_refused_or_falls_back() {
    let api_key = Policy::new(
        "per_key",
        Quota::per_hour(1),
        KeySource::Header("x-api-key".parse().unwrap()),
    )
    .on_missing_key(OnMissingKey::Reject(StatusCode::UNAUTHORIZED));
    let app = app_with(RateLimitLayer::try_new(vec![api_key]).unwrap());
    let (status, headers, body) = send(&app, "/api", "192.0.2.1:1", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(body.contains("rate_limit_key_missing"));
    let mut request = Request::get("/api").body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo("192.0.2.1:1".parse::<SocketAddr>().unwrap()));
    let refused = app.clone().oneshot(request).await.unwrap();
    assert_eq!(
        refused
            .extensions()
            .get::<KeyMissing>()
            .map(KeyMissing::policy),
        Some("per_key")
    );
    assert_eq!(
        send(&app, "/api", "192.0.2.1:1", &[("x-api-key", "k1")])
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, "/api", "192.0.2.1:1", &[("x-api-key", "k1")])
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );

    let fallback = Policy::new(
        "per_key",
        Quota::per_hour(1),
        KeySource::Header("x-api-key".parse().unwrap()),
    )
    .on_missing_key(OnMissingKey::Fallback(Box::new(KeySource::ClientIp(
        ClientIp::default(),
    ))));
    let by_ip = app_with(RateLimitLayer::try_new(vec![fallback]).unwrap());
    assert_eq!(
        send(&by_ip, "/api", "192.0.2.1:1", &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&by_ip, "/api", "192.0.2.1:1", &[]).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send(&by_ip, "/api", "192.0.2.2:1", &[]).await.0,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn routes_without_policies_are_not_limited_and_metrics_count() {
    let prometheus = Prometheus::new();
    let table = RouteTable::new(Some(vec![per_ip(Quota::per_hour(1), ClientIp::default())]))
        .with_route("/health", None);
    let layer = RateLimitLayer::try_from_table(table)
        .unwrap()
        .with_recorder(prometheus.recorder());
    let app = app_with(layer);
    for _ in 0..5 {
        let (status, headers, _) = send(&app, "/health", "192.0.2.1:1", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get("ratelimit").is_none());
    }
    send(&app, "/api", "192.0.2.1:1", &[]).await;
    send(&app, "/api", "192.0.2.1:1", &[]).await;
    let text = prometheus.render();
    assert!(
        text.contains("rampart_ratelimit_requests_total{policy=\"per_ip\",outcome=\"allowed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rampart_ratelimit_requests_total{policy=\"per_ip\",outcome=\"limited\"} 1")
    );
}

#[test]
fn quotas_that_admit_nothing_and_bad_names_are_refused() {
    assert!(
        RateLimitLayer::try_new(vec![Policy::new(
            "p",
            Quota::per_second(0),
            KeySource::Global
        )])
        .is_err()
    );
    assert!(
        RateLimitLayer::try_new(vec![Policy::new(
            "p\"q",
            Quota::per_second(1),
            KeySource::Global
        )])
        .is_err()
    );
}

/// A server started without `ConnectInfo` (plain `axum::serve(listener, app)`) gives a
/// client-address policy no address: every client then shares one quota. It still answers, and
/// says so: a counter per request and an ERROR log line once.
#[tokio::test(start_paused = true)]
async fn requests_without_a_client_address_are_counted_as_sharing_one_key() {
    let prometheus = Prometheus::new();
    let layer = RateLimitLayer::try_from_table(RouteTable::new(Some(vec![per_ip(
        Quota::per_hour(2),
        ClientIp::default(),
    )])))
    .unwrap()
    .with_recorder(prometheus.recorder());
    let app = app_with(layer);
    let without_address = || {
        app.clone()
            .oneshot(Request::get("/api").body(Body::empty()).unwrap())
    };
    assert_eq!(without_address().await.unwrap().status(), StatusCode::OK);
    assert_eq!(without_address().await.unwrap().status(), StatusCode::OK);
    // Two "clients" spent one shared quota.
    assert_eq!(
        without_address().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let text = prometheus.render();
    assert!(
        text.contains("rampart_ratelimit_key_fallbacks_total{policy=\"per_ip\"} 3"),
        "{text}"
    );
    // With an address, no fallback is counted.
    send(&app, "/api", "192.0.2.9:1", &[]).await;
    assert!(
        prometheus
            .render()
            .contains("rampart_ratelimit_key_fallbacks_total{policy=\"per_ip\"} 3")
    );
}

/// The authenticated user, as an authentication middleware would insert it.
#[derive(Clone)]
struct UserId(u32);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "user-{}", self.0)
    }
}

async fn authenticate(
    mut request: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    request.extensions_mut().insert(UserId(7));
    next.run(request).await
}

/// A per-user key with the authentication added by `route_layer` (the usual way to guard some
/// routes): it runs after the rate limiter, so every request is refused; the answer says why and
/// what to do. Added with `Router::layer` after the limiter, it runs first and the key is found.
#[tokio::test(start_paused = true)]
async fn a_missing_extension_key_says_which_extension_and_how_to_set_it() {
    let per_user = || {
        RateLimitLayer::try_new(vec![Policy::new(
            "per_user",
            Quota::per_second(10),
            KeySource::extension::<UserId>(),
        )])
        .unwrap()
    };
    let guarded = Router::new()
        .route("/api", get(|| async { "ok" }))
        .route_layer(axum::middleware::from_fn(authenticate))
        .layer(per_user());
    let (status, _, body) = send(&guarded, "/api", "192.0.2.1:1000", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "rate_limit_key_missing");
    let detail = problem["detail"].as_str().unwrap();
    for said in ["`per_user`", "`UserId` extension", "`Router::route_layer`"] {
        assert!(detail.contains(said), "{said} missing from: {detail}");
    }
    assert!(!detail.contains("layer::"), "no module path: {detail}");

    let fixed = Router::new()
        .route("/api", get(|| async { "ok" }))
        .layer(per_user())
        .layer(axum::middleware::from_fn(authenticate));
    let (status, headers, _) = send(&fixed, "/api", "192.0.2.1:1000", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["ratelimit"], "\"per_user\";r=9;t=1");
}

#[tokio::test(start_paused = true)]
async fn a_missing_header_key_names_the_header() {
    let layer = RateLimitLayer::try_new(vec![Policy::new(
        "per_key",
        Quota::per_second(10),
        KeySource::Header(http::HeaderName::from_static("x-api-key")),
    )])
    .unwrap();
    let (status, _, body) = send(&app_with(layer), "/api", "192.0.2.1:1000", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("`x-api-key` header"), "{detail}");
}

fn preflight(path: &str) -> Request<Body> {
    let mut request = Request::options(path)
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let peer: SocketAddr = "192.0.2.9:1000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// CORS preflights answered by a CORS layer cost the client nothing (a browser sends one before
/// each cross-origin call); a request shaped like a preflight that a handler answers is charged,
/// so the shape is no way around the quota. `limit_preflights(true)` counts them all.
#[tokio::test(start_paused = true)]
async fn preflights_a_cors_layer_answers_are_free_and_others_are_charged() {
    let limited = |limit_preflights: bool| {
        RateLimitLayer::try_new(vec![per_ip(Quota::per_minute(2), ClientIp::default())])
            .unwrap()
            .limit_preflights(limit_preflights)
    };
    let with_cors = Router::new()
        .route("/api", get(|| async { "ok" }).post(|| async { "posted" }))
        .layer(tower_http::cors::CorsLayer::permissive())
        .layer(limited(false));
    for _ in 0..10 {
        let response = with_cors.clone().oneshot(preflight("/api")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response
                .headers()
                .contains_key("access-control-allow-origin")
        );
    }
    for _ in 0..2 {
        let (status, _, _) = send(&with_cors, "/api", "192.0.2.9:1000", &[]).await;
        assert_eq!(status, StatusCode::OK, "the preflights cost nothing");
    }

    let handled = Router::new()
        .route("/api", axum::routing::any(|| async { "work done" }))
        .layer(limited(false));
    for _ in 0..2 {
        let response = handled.clone().oneshot(preflight("/api")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (status, _, _) = send(&handled, "/api", "192.0.2.9:1000", &[]).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "preflights a handler answered were charged"
    );
    let response = handled.clone().oneshot(preflight("/api")).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a spent quota refuses the preflight shape too"
    );

    let counted = Router::new()
        .route("/api", get(|| async { "ok" }))
        .layer(tower_http::cors::CorsLayer::permissive())
        .layer(limited(true));
    for _ in 0..2 {
        let response = counted.clone().oneshot(preflight("/api")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = counted.clone().oneshot(preflight("/api")).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Routes given clones of one `PolicySet` count against one quota, also after `with_recorder`
/// (which rebuilds the layer's entries); a route with its own policies keeps its own state.
#[tokio::test(start_paused = true)]
async fn routes_sharing_a_policy_set_share_one_quota() {
    let set = PolicySet::try_new(vec![per_ip(Quota::per_hour(1), ClientIp::default())]).unwrap();
    let own = PolicySet::try_new(vec![per_ip(Quota::per_hour(1), ClientIp::default())]).unwrap();
    let layer = RateLimitLayer::from_sets(
        RouteTable::new(None)
            .with_route("/admin/a", Some(set.clone()))
            .with_route("/admin/b", Some(set))
            .with_route("/api", Some(own)),
    )
    .with_recorder(Prometheus::new().recorder());
    let app = Router::new()
        .route("/admin/a", get(|| async { "a" }))
        .route("/admin/b", get(|| async { "b" }))
        .route("/api", get(|| async { "api" }))
        .route("/health", get(|| async { "up" }))
        .layer(layer);
    let status = |path: &'static str| {
        let app = app.clone();
        async move { send(&app, path, "192.0.2.1:1", &[]).await.0 }
    };
    assert_eq!(status("/admin/a").await, StatusCode::OK);
    assert_eq!(status("/admin/b").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status("/api").await, StatusCode::OK);
    assert_eq!(status("/health").await, StatusCode::OK);
    assert_eq!(status("/health").await, StatusCode::OK);
}

/// The layers below see the client the policy resolved, not the proxy: the concurrency
/// limit's reserve tells clients apart by it.
#[tokio::test(start_paused = true)]
async fn the_resolved_client_is_handed_to_the_layers_below() {
    use rampart_core::address::ClientAddress;
    let proxy = ClientIp::default()
        .trust("10.0.0.0/8".parse().unwrap())
        .header(ClientIpHeader::XForwardedFor);
    let layer = RateLimitLayer::try_new(vec![per_ip(Quota::per_hour(10), proxy)]).unwrap();
    let app =
        Router::new()
            .route(
                "/api",
                get(|request: Request<Body>| async move {
                    format!("{:?}", ClientAddress::of(&request))
                }),
            )
            .layer(layer);
    let (_, _, behind_proxy) = send(
        &app,
        "/api",
        "10.0.0.1:1",
        &[("x-forwarded-for", "198.51.100.7")],
    )
    .await;
    assert_eq!(behind_proxy, "Some(198.51.100.7)");
    // Straight from the client: its own address, with no extension to allocate.
    let (_, _, direct) = send(&app, "/api", "203.0.113.9:1", &[]).await;
    assert_eq!(direct, "Some(203.0.113.9)");
}
