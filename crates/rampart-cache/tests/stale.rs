//! stale-while-revalidate and stale-if-error (RFC 5861).

mod support;

use rampart_cache::CacheRule;
use rampart_core::deadline::Deadline;
use std::time::Duration;
use support::{Origin, cached, get, response, send};
use tokio::time::{Instant, advance};

#[tokio::test(start_paused = true)]
async fn stale_while_revalidate_answers_at_once_and_refreshes_once() {
    let origin = Origin::new(|_| {
        response(
            &[("cache-control", "max-age=10, stale-while-revalidate=30")],
            "v1",
        )
    });
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/s", &[])).await;
    advance(Duration::from_secs(15)).await;
    origin.answer(|_| {
        response(
            &[("cache-control", "max-age=10, stale-while-revalidate=30")],
            "v2",
        )
    });
    origin.delay(Duration::from_secs(1));
    for _ in 0..5 {
        let stale = send(&cache, get("/s", &[])).await;
        assert_eq!(stale.body, "v1");
        assert_eq!(stale.cache_status(), "rampart; hit; ttl=-5");
    }
    // A sleep, not `advance`: the background refresh must get to run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        origin.calls(),
        2,
        "one background refresh for five stale answers"
    );
    let fresh = send(&cache, get("/s", &[])).await;
    assert_eq!(fresh.body, "v2");
    assert!(fresh.cache_status().starts_with("rampart; hit"));
}

#[tokio::test(start_paused = true)]
async fn past_the_window_the_client_waits_for_the_origin() {
    let origin = Origin::new(|_| {
        response(
            &[("cache-control", "max-age=10, stale-while-revalidate=5")],
            "v1",
        )
    });
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/s", &[])).await;
    advance(Duration::from_secs(16)).await;
    let miss = send(&cache, get("/s", &[])).await;
    assert!(
        miss.cache_status()
            .starts_with("rampart; fwd=stale; stored")
    );
}

fn fragile(
    _: &http::Request<axum::body::Body>,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    response(
        &[("cache-control", "max-age=10, stale-if-error=60")],
        "good",
    )
}

fn failing(
    _: &http::Request<axum::body::Body>,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let mut answer = response(&[], "broken");
    *answer.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    answer
}

#[tokio::test(start_paused = true)]
async fn stale_if_error_answers_instead_of_a_5xx_within_its_window() {
    let origin = Origin::new(fragile);
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/e", &[])).await;
    advance(Duration::from_secs(20)).await;
    origin.answer(failing);
    let rescued = send(&cache, get("/e", &[])).await;
    assert_eq!(rescued.status, 200);
    assert_eq!(rescued.body, "good");
    assert_eq!(
        rescued.cache_status(),
        "rampart; fwd=stale; fwd-status=503; ttl=-10"
    );
    advance(Duration::from_secs(60)).await;
    let too_late = send(&cache, get("/e", &[])).await;
    assert_eq!(too_late.status, 503);
}

#[tokio::test(start_paused = true)]
async fn stale_if_error_answers_before_the_request_deadline() {
    let origin = Origin::new(fragile);
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/e", &[])).await;
    advance(Duration::from_secs(20)).await;
    origin.delay(Duration::from_secs(30));
    let mut request = get("/e", &[]);
    let deadline = Instant::now() + Duration::from_secs(1);
    request.extensions_mut().insert(Deadline::new(deadline));
    let rescued = send(&cache, request).await;
    assert_eq!(
        Instant::now(),
        deadline,
        "answered at the deadline, not after the origin"
    );
    assert_eq!(rescued.body, "good");
    assert_eq!(
        rescued.cache_status(),
        "rampart; fwd=stale; fwd-status=504; ttl=-11"
    );
}

#[tokio::test(start_paused = true)]
async fn must_revalidate_never_serves_stale_on_error() {
    let origin = Origin::new(|_| {
        response(
            &[(
                "cache-control",
                "max-age=10, stale-if-error=60, must-revalidate",
            )],
            "good",
        )
    });
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/e", &[])).await;
    advance(Duration::from_secs(20)).await;
    origin.answer(failing);
    assert_eq!(send(&cache, get("/e", &[])).await.status, 503);
}
