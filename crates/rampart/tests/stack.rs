//! The composed stack: order of the layers, per-route policy, isolation of two stacks.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::{MethodRouter, get};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use rampart::{RoutePolicy, Stack, StackConfig};
use rampart_test_support::series;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tower::ServiceExt;

async fn panics() -> &'static str {
    panic!("bug")
}

fn router() -> Router {
    Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                "slow"
            }),
        )
        .route("/panic", get(panics))
        .route(
            "/big",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"k\":\"value\"}".repeat(500),
                )
            }),
        )
}

async fn get_path(app: &Router, path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    body.collect().await.unwrap();
    (parts.status, parts.headers)
}

/// Fails with the whole exposition when `line` is not in it.
fn assert_renders(stack: &Stack, line: &str) {
    let text = stack.prometheus().unwrap().render();
    assert!(text.contains(line), "missing `{line}` in:\n{text}");
}

fn count(stack: &Stack, route: &str, status: u16) -> bool {
    let status = status.to_string();
    series(
        &stack.prometheus().unwrap().render(),
        "http_server_request_duration_seconds_count",
        &[
            ("http_route", route),
            ("http_response_status_code", &status),
        ],
    ) == Some(1.0)
}

#[tokio::test(start_paused = true)]
async fn metrics_see_the_timeouts_made_inside_them() {
    let stack = Stack::builder().build();
    let app = stack.apply(router());
    let (status, headers) = get_path(&app, "/slow", &[]).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(
        count(&stack, "/slow", 504),
        "{}",
        stack.prometheus().unwrap().render()
    );
    assert_renders(&stack, "rampart_timeouts_total{http_route=\"/slow\"} 1");
}

#[tokio::test]
async fn metrics_see_panics_as_500s() {
    let stack = Stack::builder().build();
    let app = stack.apply(router());
    let (status, _) = get_path(&app, "/panic", &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        count(&stack, "/panic", 500),
        "{}",
        stack.prometheus().unwrap().render()
    );
    assert_renders(&stack, "rampart_panics_total{http_route=\"/panic\"} 1");
}

#[tokio::test(start_paused = true)]
async fn a_route_policy_overrides_the_default_deadline() {
    let stack = Stack::builder()
        .timeout(Duration::from_millis(100))
        .route("/slow", RoutePolicy::new().timeout(Duration::from_secs(3)))
        .build();
    let (status, _) = get_path(&stack.apply(router()), "/slow", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn the_config_drives_the_same_stack() {
    let config = StackConfig::from_toml_str(
        "[timeout]\ndefault = \"5s\"\n[routes.\"/slow\"]\ntimeout = \"1s\"\n",
    )
    .unwrap();
    let stack = Stack::from_config(&config).unwrap();
    let (status, _) = get_path(&stack.apply(router()), "/slow", &[]).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn compression_is_on_and_metrics_count_the_bytes_sent() {
    let stack = Stack::builder().build();
    let app = stack.apply(router());
    let (status, headers) = get_path(&app, "/big", &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let text = stack.prometheus().unwrap().render();
    let sent = series(
        &text,
        "http_server_response_body_size_bytes_sum",
        &[("http_route", "/big")],
    )
    .unwrap();
    assert!(
        sent > 0.0 && sent < 1000.0,
        "counted {sent} bytes for a gzip body"
    );
}

#[tokio::test]
async fn compression_can_be_switched_off() {
    let config = StackConfig::from_toml_str("[compression]\nenabled = false\n").unwrap();
    let stack = Stack::from_config(&config).unwrap();
    let (_, headers) = get_path(
        &stack.apply(router()),
        "/big",
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert!(!headers.contains_key(header::CONTENT_ENCODING));
}

#[tokio::test]
async fn unknown_paths_share_the_unmatched_label() {
    let stack = Stack::builder().build();
    let app = stack.apply(router());
    for path in ["/a", "/b/c", "/d?e=f"] {
        let (status, _) = get_path(&app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let text = stack.prometheus().unwrap().render();
    assert!(text.contains(
        "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"unmatched\",http_response_status_code=\"404\",url_scheme=\"http\",network_protocol_version=\"1.1\"} 3"
    ), "{text}");
}

#[tokio::test]
async fn two_stacks_in_one_process_keep_their_metrics_apart() {
    let first = Stack::builder().build();
    let second = Stack::builder().build();
    get_path(&first.apply(router()), "/big", &[]).await;
    assert!(first.prometheus().unwrap().render().contains("/big"));
    assert!(!second.prometheus().unwrap().render().contains("/big"));
}

#[tokio::test(start_paused = true)]
async fn the_breaker_sits_inside_the_timeout_and_counts_its_expiries() {
    use rampart::breaker::{BreakerConfig, Window};
    let breaker = BreakerConfig::default()
        .window(Window::Count(10))
        .minimum_calls(3)
        .wait_duration(Duration::from_secs(30));
    let stack = Stack::builder()
        .route("/slow", RoutePolicy::new().breaker(breaker))
        .build();
    let app = stack.apply(router());
    for _ in 0..3 {
        let (status, _) = get_path(&app, "/slow", &[]).await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    }
    let (status, headers) = get_path(&app, "/slow", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "30");
    // Routes without a breaker policy have no breaker.
    assert_eq!(stack.breakers().snapshot().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn rate_limits_answer_429_that_metrics_record_and_routes_can_opt_out() {
    use rampart::ratelimit::{KeySource, Policy, Quota};
    let stack = Stack::builder()
        .rate_limit(vec![Policy::new(
            "everyone",
            Quota::per_hour(2),
            KeySource::Global,
        )])
        .route("/panic", RoutePolicy::new().rate_limit(vec![]))
        .build();
    let app = stack.apply(router());
    for _ in 0..2 {
        let (status, headers) = get_path(&app, "/big", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.contains_key("ratelimit"));
    }
    let (status, headers) = get_path(&app, "/big", &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "1800");
    assert!(
        count(&stack, "/big", 429),
        "{}",
        stack.prometheus().unwrap().render()
    );
    // Unmatched paths share the default quota, which is spent.
    assert_eq!(
        get_path(&app, "/nope", &[]).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // /panic opted out: its requests reach the handler (and its 500).
    let (status, headers) = get_path(&app, "/panic", &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!headers.contains_key("ratelimit"));
}

/// A route group's routes share one quota of its own (an admin API: guessing is bounded across
/// all of its routes, not per route), and a group can exempt several routes in one place.
#[tokio::test(start_paused = true)]
async fn a_route_group_shares_one_quota_and_exempts_its_routes_in_one_place() {
    let config = StackConfig::from_toml_str(
        r#"
        [[ratelimit.policies]]
        name = "api"
        limit = 1
        period = "1h"
        key = "global"

        [route_groups.admin]
        routes = ["/admin/a", "/admin/b"]
        settings = { timeout = "10s", ratelimit = [{ name = "admin", limit = 2, period = "1h", key = "global" }] }

        [route_groups.operations]
        routes = ["/health", "/metrics"]
        settings = { ratelimit = [] }
        "#,
    )
    .unwrap();
    let stack = Stack::from_config(&config).unwrap();
    let app = stack.apply(
        Router::new()
            .route("/api", get(|| async { "api" }))
            .route("/admin/a", get(|| async { "a" }))
            .route(
                "/admin/b",
                get(|| async {
                    // Past the stack's 1 s deadline, within the group's 10 s.
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    "b"
                }),
            )
            .route("/health", get(|| async { "up" }))
            .route("/metrics", get(|| async { "metrics" })),
    );
    let status = |path: &'static str| {
        let app = app.clone();
        async move { get_path(&app, path, &[]).await.0 }
    };
    assert_eq!(status("/admin/a").await, StatusCode::OK);
    assert_eq!(status("/admin/b").await, StatusCode::OK);
    assert_eq!(status("/admin/a").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status("/admin/b").await, StatusCode::TOO_MANY_REQUESTS);
    // The admin quota is the group's own: the API's is untouched, then spent by one call.
    assert_eq!(status("/api").await, StatusCode::OK);
    assert_eq!(status("/api").await, StatusCode::TOO_MANY_REQUESTS);
    for _ in 0..5 {
        assert_eq!(status("/health").await, StatusCode::OK);
        assert_eq!(status("/metrics").await, StatusCode::OK);
    }
}

/// An API with its own error format gets every answer the stack makes in it, headers such as
/// `Retry-After` and `RateLimit` kept; the application's own answers are left alone.
#[tokio::test(start_paused = true)]
async fn the_stack_answers_in_the_applications_error_format() {
    use rampart::ProblemFormatLayer;
    use rampart::common::Problem;
    use rampart::ratelimit::{KeySource, Policy, Quota};
    let format = ProblemFormatLayer::new(|problem, parts| {
        parts.headers.insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        format!(
            r#"{{"error":{{"code":"{}","status":{}}}}}"#,
            problem.code(),
            problem.status().as_u16()
        )
        .into()
    });
    let stack = Stack::builder()
        .rate_limit(vec![Policy::new(
            "all",
            Quota::per_hour(3),
            KeySource::Global,
        )])
        .problem_format(format)
        .build();
    let app = stack.apply(router());
    let send = |path: &'static str| {
        let app = app.clone();
        async move {
            let response = app
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let (parts, body) = response.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            (parts, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (timed_out, body) = send("/slow").await;
    assert_eq!(timed_out.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(timed_out.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body, r#"{"error":{"code":"request_timeout","status":504}}"#);
    assert_eq!(
        timed_out.extensions.get::<Problem>().map(Problem::code),
        Some("request_timeout")
    );
    assert!(
        timed_out
            .extensions
            .get::<rampart::timeout::TimedOut>()
            .is_some()
    );

    let (panicked, body) = send("/panic").await;
    assert_eq!(panicked.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, r#"{"error":{"code":"internal_error","status":500}}"#);

    let (own, body) = send("/big").await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.headers[header::CONTENT_TYPE], "application/json");
    assert!(body.starts_with(r#"{"k":"value"}"#), "{body}");

    let (refused, body) = send("/big").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body, r#"{"error":{"code":"rate_limited","status":429}}"#);
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    assert!(refused.headers.contains_key("ratelimit"));
    assert_eq!(refused.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        count(&stack, "/big", 429),
        "metrics file the formatted answer by its status"
    );
}

/// `GET`, fresh for 1 s with `stale-if-error=300`; hangs for 30 s once the flag is set.
fn origin_that_can_hang() -> (Arc<AtomicBool>, MethodRouter) {
    let hang = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&hang);
    let origin = get(move || {
        let hang = flag.load(Ordering::SeqCst);
        async move {
            if hang {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            (
                [(header::CACHE_CONTROL, "max-age=1, stale-if-error=300")],
                "fresh",
            )
        }
    });
    (hang, origin)
}

#[tokio::test(start_paused = true)]
async fn a_cached_route_answers_stale_just_before_the_timeout() {
    let (hang, origin) = origin_that_can_hang();
    let stack = Stack::builder()
        .timeout(Duration::from_secs(2))
        .route(
            "/cached",
            RoutePolicy::new().cache(rampart::cache::CacheRule::new()),
        )
        .build();
    let app = stack.apply(
        Router::new()
            .route("/cached", origin.clone())
            .route("/uncached", origin),
    );
    assert_eq!(get_path(&app, "/cached", &[]).await.0, StatusCode::OK);
    assert_eq!(get_path(&app, "/uncached", &[]).await.0, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(5)).await;
    hang.store(true, Ordering::SeqCst);

    let started = tokio::time::Instant::now();
    let (status, headers) = get_path(&app, "/cached", &[]).await;
    assert_eq!(status, StatusCode::OK, "the stale entry answers");
    assert!(
        headers["cache-status"]
            .to_str()
            .unwrap()
            .contains("fwd=stale")
    );
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(
        get_path(&app, "/uncached", &[]).await.0,
        StatusCode::GATEWAY_TIMEOUT
    );
}

/// Timeout, cache and breaker together on a route whose origin hangs: the cache answers from
/// its stale entry at the deadline and drops the origin call, and the breaker counts that drop
/// as the timeout it is. After `minimum_calls` of them the breaker opens, and requests are
/// answered stale at once instead of each waiting out the deadline.
#[tokio::test(start_paused = true)]
async fn the_breaker_opens_on_a_cached_route_whose_origin_hangs() {
    use rampart::breaker::{BreakerConfig, BreakerState, Window};
    let (hang, origin) = origin_that_can_hang();
    let breaker = BreakerConfig::default()
        .window(Window::Count(10))
        .minimum_calls(3)
        .wait_duration(Duration::from_secs(30));
    let stack = Stack::builder()
        .timeout(Duration::from_secs(2))
        .route(
            "/cached",
            RoutePolicy::new()
                .cache(rampart::cache::CacheRule::new())
                .breaker(breaker),
        )
        .build();
    let app = stack.apply(Router::new().route("/cached", origin));
    assert_eq!(get_path(&app, "/cached", &[]).await.0, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(5)).await;
    hang.store(true, Ordering::SeqCst);

    // The first (fresh) call succeeded; two timeouts make 2 failures of 3 calls: open.
    for _ in 0..2 {
        let started = tokio::time::Instant::now();
        assert_eq!(get_path(&app, "/cached", &[]).await.0, StatusCode::OK);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(2),
            "waited out the deadline"
        );
    }
    let snapshot = stack.breakers().snapshot();
    assert_eq!(snapshot[0].state, BreakerState::Open, "{snapshot:?}");
    let started = tokio::time::Instant::now();
    let (status, headers) = get_path(&app, "/cached", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["cache-status"]
            .to_str()
            .unwrap()
            .contains("fwd-status=503"),
        "{headers:?}"
    );
    assert_eq!(started.elapsed(), Duration::ZERO, "answered at once");
}

/// The concurrency limit sits below the cache and the breaker: cache hits never take a slot
/// and are never refused, overload refusals never open the breaker, and a call the deadline
/// drops returns its slot.
#[tokio::test(start_paused = true)]
async fn overload_refuses_only_calls_that_reach_the_resource_and_never_opens_the_breaker() {
    let database = rampart::concurrency::Limit::fixed("database", 1);
    let breaker = rampart::breaker::BreakerConfig::default().minimum_calls(5);
    let stack = Stack::builder()
        .concurrency_retry_after(Duration::from_secs(3))
        .route(
            "/work",
            RoutePolicy::new()
                .concurrency(database.clone())
                .breaker(breaker.clone()),
        )
        .route(
            "/cached",
            RoutePolicy::new()
                .concurrency(database.clone())
                .cache(rampart::cache::CacheRule::new()),
        )
        .build();
    let query = || async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        ([(header::CACHE_CONTROL, "max-age=600")], "rows")
    };
    let app = stack.apply(
        Router::new()
            .route("/work", get(query))
            .route("/cached", get(query)),
    );
    assert_eq!(get_path(&app, "/cached", &[]).await.0, StatusCode::OK);

    let held = tokio::spawn({
        let app = app.clone();
        async move { get_path(&app, "/work", &[]).await.0 }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(database.in_flight(), 1);
    for _ in 0..20 {
        let (status, headers) = get_path(&app, "/work", &[]).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers["retry-after"], "3");
        // A hit, while the resource is full: answered from the cache.
        assert_eq!(get_path(&app, "/cached", &[]).await.0, StatusCode::OK);
    }
    assert_eq!(held.await.unwrap(), StatusCode::OK);
    let breakers = stack.breakers().snapshot();
    assert_eq!(breakers.len(), 1);
    assert_eq!(breakers[0].state, rampart::breaker::BreakerState::Closed);
    assert_eq!(
        breakers[0].calls, 1,
        "refusals counted as calls: {breakers:?}"
    );
    assert_renders(
        &stack,
        "rampart_concurrency_requests_total{limiter=\"database\",outcome=\"refused\"} 20",
    );
    assert_renders(
        &stack,
        "rampart_concurrency_requests_total{limiter=\"database\",outcome=\"admitted\"} 2",
    );

    // A call the 1 s deadline drops gives its slot back at once.
    let slow = Stack::builder()
        .route("/work", RoutePolicy::new().concurrency(database.clone()))
        .build()
        .apply(Router::new().route(
            "/work",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        ));
    assert_eq!(
        get_path(&slow, "/work", &[]).await.0,
        StatusCode::GATEWAY_TIMEOUT
    );
    assert_eq!(database.in_flight(), 0);
    assert_eq!(stack.concurrency_limits().len(), 1);
}

/// Every layer's service hands out what it wraps, as tower-http's do: down through the whole
/// stack to the handler's service, by reference, mutably and by value.
#[test]
fn every_layer_service_gives_back_the_service_it_wraps() {
    #[derive(Clone, Debug, PartialEq)]
    struct Handler(u32);
    let mut service = tower_layer::Layer::layer(&Stack::builder().build().layer(), Handler(7));
    let by_ref = service
        .get_ref() // metrics, with the request span
        .get_ref() // problem format
        .get_ref() // catch panic
        .get_ref() // timeout
        .get_ref() // rate limit
        .get_ref() // body limit
        .get_ref() // cache
        .get_ref() // breaker
        .get_ref() // concurrency
        .get_ref(); // compression
    assert_eq!(by_ref, &Handler(7));
    let handler = service.get_mut().get_mut().get_mut().get_mut().get_mut();
    handler.get_mut().get_mut().get_mut().get_mut().get_mut().0 = 8;
    let unwrapped = service
        .into_inner()
        .into_inner()
        .into_inner()
        .into_inner()
        .into_inner()
        .into_inner()
        .into_inner()
        .into_inner()
        .into_inner()
        .into_inner();
    assert_eq!(unwrapped, Handler(8));
}

#[tokio::test]
async fn the_configured_duration_buckets_are_the_ones_rendered() {
    let config =
        StackConfig::from_toml_str("[metrics]\nduration_buckets = [0.05, 0.3, 2.0]\n").unwrap();
    let stack = Stack::from_config(&config).unwrap();
    let app = stack.apply(router());
    assert_eq!(get_path(&app, "/big", &[]).await.0, StatusCode::OK);
    let text = stack.prometheus().unwrap().render();
    let buckets: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("http_server_request_duration_seconds_bucket{"))
        .filter(|line| line.contains("http_route=\"/big\""))
        .filter_map(|line| line.split("le=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(buckets, ["0.05", "0.3", "2", "+Inf"], "{text}");
}
