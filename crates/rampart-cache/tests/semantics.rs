//! RFC 9111 behaviour of the cache, one directive at a time, on tokio's paused clock.

mod support;

use rampart_cache::{CacheRule, OnlyIfCachedMiss};
use std::time::Duration;
use support::{Origin, cached, get, request, response, send};
use tokio::time::advance;
use tower::ServiceExt;

#[tokio::test(start_paused = true)]
async fn a_fresh_response_is_served_from_the_cache_with_its_age() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "hello"));
    let cache = cached(&origin, CacheRule::new());
    let first = send(&cache, get("/a", &[])).await;
    assert_eq!(
        first.cache_status(),
        "rampart; fwd=uri-miss; stored; ttl=60"
    );
    advance(Duration::from_secs(10)).await;
    let second = send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 1);
    assert_eq!(second.body, "hello");
    assert_eq!(second.header("age"), Some("10"));
    assert_eq!(second.cache_status(), "rampart; hit; ttl=50");
}

#[tokio::test(start_paused = true)]
async fn an_expired_response_goes_back_to_the_origin() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "hello"));
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    advance(Duration::from_secs(60)).await;
    let stale = send(&cache, get("/a", &[])).await;
    assert_eq!(stale.cache_status(), "rampart; fwd=stale; stored; ttl=60");
    assert_eq!(origin.calls(), 2);
    assert_eq!(stale.cache_status(), "rampart; fwd=stale; stored; ttl=60");
}

#[tokio::test(start_paused = true)]
async fn s_maxage_wins_over_max_age_and_expires_alone_gives_freshness() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=1, s-maxage=30")], "x"));
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    advance(Duration::from_secs(20)).await;
    send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 1);

    let expires = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    let origin = Origin::new(move |_| {
        let mut answer = response(&[], "x");
        answer
            .headers_mut()
            .insert("expires", expires.parse().expect("a date"));
        answer
    });
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    let hit = send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 1);
    assert!(hit.cache_status().starts_with("rampart; hit"));
}

#[tokio::test(start_paused = true)]
async fn what_must_not_be_stored_is_not_and_cache_status_says_why() {
    for (headers, detail) in [
        (
            vec![("cache-control", "no-store, max-age=60")],
            "not-storable",
        ),
        (
            vec![("cache-control", "private, max-age=60")],
            "not-storable",
        ),
        (
            vec![
                ("cache-control", "public, max-age=60"),
                ("set-cookie", "id=1"),
            ],
            "set-cookie",
        ),
        (
            vec![("cache-control", "max-age=60"), ("vary", "*")],
            "vary-star",
        ),
        (
            vec![("cache-control", "max-age=60"), ("vary", "authorization")],
            "vary-credentials",
        ),
        (vec![], "stale-at-once"),
    ] {
        let origin = Origin::new(move |_| response(&headers, "x"));
        let cache = cached(&origin, CacheRule::new());
        let first = send(&cache, get("/a", &[])).await;
        send(&cache, get("/a", &[])).await;
        assert_eq!(origin.calls(), 2, "{detail}");
        assert_eq!(
            first.cache_status(),
            format!("rampart; fwd=uri-miss; detail={detail}"),
        );
    }
}

#[tokio::test(start_paused = true)]
async fn authorized_requests_are_stored_only_when_the_response_says_public() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "mine"));
    let cache = cached(&origin, CacheRule::new());
    let auth = [("authorization", "Bearer alice")];
    send(&cache, get("/a", &auth)).await;
    send(&cache, get("/a", &auth)).await;
    assert_eq!(origin.calls(), 2);

    origin.answer(|_| response(&[("cache-control", "public, max-age=60")], "everyone's"));
    send(&cache, get("/b", &auth)).await;
    let hit = send(&cache, get("/b", &[("authorization", "Bearer bob")])).await;
    assert_eq!(origin.calls(), 3);
    assert_eq!(hit.body, "everyone's");
}

#[tokio::test(start_paused = true)]
async fn request_directives_are_obeyed() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "x"));
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    advance(Duration::from_secs(10)).await;

    let no_cache = send(&cache, get("/a", &[("cache-control", "no-cache")])).await;
    assert_eq!(
        no_cache.cache_status(),
        "rampart; fwd=request; stored; ttl=60"
    );
    assert_eq!(origin.calls(), 2);

    advance(Duration::from_secs(10)).await;
    let too_old = send(&cache, get("/a", &[("cache-control", "max-age=5")])).await;
    assert_eq!(
        too_old.cache_status(),
        "rampart; fwd=request; stored; ttl=60"
    );
    let young_enough = send(&cache, get("/a", &[("cache-control", "max-age=5")])).await;
    assert!(young_enough.cache_status().starts_with("rampart; hit"));

    let not_fresh_enough = send(&cache, get("/a", &[("cache-control", "min-fresh=90")])).await;
    assert!(
        not_fresh_enough
            .cache_status()
            .starts_with("rampart; fwd=request")
    );
    assert_eq!(origin.calls(), 4);

    let pragma = send(&cache, get("/a", &[("pragma", "no-cache")])).await;
    assert!(pragma.cache_status().starts_with("rampart; fwd=request"));
}

#[tokio::test(start_paused = true)]
async fn no_store_requests_are_answered_but_not_stored() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "x"));
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[("cache-control", "no-store")])).await;
    send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn max_stale_accepts_a_stale_entry_unless_it_must_revalidate() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=10")], "x"));
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    advance(Duration::from_secs(15)).await;
    let stale_ok = send(&cache, get("/a", &[("cache-control", "max-stale=10")])).await;
    assert_eq!(stale_ok.cache_status(), "rampart; hit; ttl=-5");
    let too_stale = send(&cache, get("/a", &[("cache-control", "max-stale=2")])).await;
    assert!(too_stale.cache_status().starts_with("rampart; fwd=stale"));

    let origin =
        Origin::new(|_| response(&[("cache-control", "max-age=10, must-revalidate")], "x"));
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    advance(Duration::from_secs(15)).await;
    send(&cache, get("/a", &[("cache-control", "max-stale")])).await;
    assert_eq!(origin.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn only_if_cached_without_an_entry_is_a_504_problem() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "x"));
    let cache = cached(&origin, CacheRule::new());
    let miss = send(&cache, get("/a", &[("cache-control", "only-if-cached")])).await;
    assert_eq!(miss.status, 504);
    assert_eq!(
        miss.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(origin.calls(), 0);
    send(&cache, get("/a", &[])).await;
    let hit = send(&cache, get("/a", &[("cache-control", "only-if-cached")])).await;
    assert_eq!(hit.status, 200);
}

#[tokio::test(start_paused = true)]
async fn an_only_if_cached_miss_carries_its_reason() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "x"));
    let cache = cached(&origin, CacheRule::new());
    let miss = cache
        .clone()
        .oneshot(get("/a", &[("cache-control", "only-if-cached")]))
        .await
        .expect("infallible");
    assert_eq!(miss.status(), 504);
    assert_eq!(
        miss.extensions().get::<OnlyIfCachedMiss>(),
        Some(&OnlyIfCachedMiss)
    );
}

#[tokio::test(start_paused = true)]
async fn routes_may_give_a_default_ttl_to_responses_without_caching_headers() {
    let origin = Origin::new(|_| response(&[], "x"));
    let cache = cached(
        &origin,
        CacheRule::new().default_ttl(Duration::from_secs(30)),
    );
    let first = send(&cache, get("/a", &[])).await;
    assert_eq!(
        first.header("cache-control"),
        None,
        "the default is not shown to clients"
    );
    send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 1);
    advance(Duration::from_secs(31)).await;
    send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 2);

    origin.answer(|_| response(&[("cache-control", "no-store")], "x"));
    send(&cache, get("/b", &[])).await;
    send(&cache, get("/b", &[])).await;
    assert_eq!(
        origin.calls(),
        4,
        "a response that speaks for itself is taken at its word"
    );
}

#[tokio::test(start_paused = true)]
async fn head_is_answered_from_a_stored_get() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "body"));
    let cache = cached(&origin, CacheRule::new());
    let head_miss = send(&cache, request("HEAD", "/a", &[])).await;
    assert_eq!(head_miss.cache_status(), "rampart; fwd=uri-miss");
    send(&cache, get("/a", &[])).await;
    let head = send(&cache, request("HEAD", "/a", &[])).await;
    assert_eq!(origin.calls(), 2);
    assert!(head.body.is_empty());
    assert!(head.cache_status().starts_with("rampart; hit"));
}

#[tokio::test(start_paused = true)]
async fn the_key_sorts_the_query_and_drops_ignored_parameters() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "x"));
    let cache = cached(&origin, CacheRule::new().ignore_query_param("utm_source"));
    send(&cache, get("/a?x=1&y=2", &[])).await;
    send(&cache, get("/a?y=2&utm_source=mail&x=1", &[])).await;
    assert_eq!(origin.calls(), 1);
    send(&cache, get("/a?x=1", &[])).await;
    assert_eq!(origin.calls(), 2);
    let other_host = get("/a?x=1", &[]);
    let (mut parts, body) = other_host.into_parts();
    parts
        .headers
        .insert("host", "other.test".parse().expect("a host"));
    send(&cache, http::Request::from_parts(parts, body)).await;
    assert_eq!(origin.calls(), 3, "hosts never share entries");
}

#[tokio::test(start_paused = true)]
async fn key_headers_keep_tenants_apart_even_without_vary() {
    let origin = Origin::new(|request| {
        let tenant = request
            .headers()
            .get("x-tenant")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let body: &'static str = if tenant.as_deref() == Some("a") {
            "tenant a"
        } else {
            "tenant b"
        };
        response(&[("cache-control", "max-age=60")], body)
    });
    let rule = CacheRule::new().key_header(http::HeaderName::from_static("x-tenant"));
    let cache = cached(&origin, rule);
    send(&cache, get("/a", &[("x-tenant", "a")])).await;
    let b = send(&cache, get("/a", &[("x-tenant", "b")])).await;
    assert_eq!(b.body, "tenant b");
    assert_eq!(origin.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn unsafe_methods_invalidate_their_uri() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], "x"));
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    let post = send(&cache, request("POST", "/a", &[])).await;
    assert_eq!(post.cache_status(), "rampart; fwd=bypass");
    send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 3);
    send(&cache, request("OPTIONS", "/a", &[])).await;
    send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 4, "a safe method invalidates nothing");
}
