//! Vary, Accept-Encoding normalisation, conditional requests and revalidation.

mod support;

use rampart_cache::CacheRule;
use std::time::Duration;
use support::{Origin, cached, get, response, send};
use tokio::time::advance;

fn by_encoding(
    request: &http::Request<axum::body::Body>,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let accept = request
        .headers()
        .get("accept-encoding")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    let body = if accept.starts_with("br") {
        "brotli bytes"
    } else {
        "plain bytes"
    };
    response(
        &[("cache-control", "max-age=60"), ("vary", "Accept-Encoding")],
        body,
    )
}

#[tokio::test(start_paused = true)]
async fn each_encoding_is_its_own_variant_and_equivalent_headers_share_one() {
    let origin = Origin::new(by_encoding);
    let cache = cached(&origin, CacheRule::new());
    let br = send(&cache, get("/r", &[("accept-encoding", "gzip, br")])).await;
    assert_eq!(br.body, "brotli bytes");
    // The origin (the encoder) is asked for the one coding the variant is keyed on.
    assert_eq!(origin.last_header("accept-encoding").as_deref(), Some("br"));
    let plain = send(&cache, get("/r", &[])).await;
    assert_eq!(plain.body, "plain bytes");
    assert_eq!(
        plain.cache_status(),
        "rampart; fwd=vary-miss; stored; ttl=60"
    );
    let same_as_br = send(&cache, get("/r", &[("accept-encoding", "br;q=1.0,GZIP")])).await;
    assert_eq!(same_as_br.body, "brotli bytes");
    assert!(same_as_br.cache_status().starts_with("rampart; hit"));
    assert_eq!(origin.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn random_weights_make_at_most_one_variant_per_coding() {
    let origin = Origin::new(|request| {
        let coding = request
            .headers()
            .get("accept-encoding")
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        let mut answer = response(
            &[("cache-control", "max-age=60"), ("vary", "Accept-Encoding")],
            "bytes",
        );
        if !coding.is_empty() {
            let value = http::HeaderValue::from_str(&coding).expect("one coding");
            answer.headers_mut().insert("content-encoding", value);
        }
        answer
    });
    let cache = cached(&origin, CacheRule::new());
    for n in 0..500u32 {
        let weights = format!(
            "gzip;q=0.{:03}, br;q=0.{:03}, zstd;q=0.{:03}, deflate;q=0.{:03}, sdch;q=0.{}",
            (n * 7) % 1000,
            (n * 13) % 1000,
            (n * 29) % 1000,
            (n * 31) % 1000,
            n % 10,
        );
        let seen = send(&cache, get("/r", &[("accept-encoding", &weights)])).await;
        assert_eq!(seen.status, 200);
    }
    // Four codings and the unencoded form (all weights zero): five variants at most.
    assert!(origin.calls() <= 5, "{} variants", origin.calls());
}

#[tokio::test(start_paused = true)]
async fn other_vary_headers_select_variants_too() {
    let origin = Origin::new(|request| {
        let english = request
            .headers()
            .get("accept-language")
            .is_some_and(|v| v == "en");
        let body = if english { "hello" } else { "bonjour" };
        response(
            &[("cache-control", "max-age=60"), ("vary", "accept-language")],
            body,
        )
    });
    let cache = cached(&origin, CacheRule::new());
    assert_eq!(
        send(&cache, get("/g", &[("accept-language", "en")]))
            .await
            .body,
        "hello"
    );
    assert_eq!(
        send(&cache, get("/g", &[("accept-language", "fr")]))
            .await
            .body,
        "bonjour"
    );
    assert_eq!(
        send(&cache, get("/g", &[("accept-language", "en")]))
            .await
            .body,
        "hello"
    );
    assert_eq!(origin.calls(), 2);
}

fn tagged(
    _: &http::Request<axum::body::Body>,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    response(
        &[
            ("cache-control", "max-age=60"),
            ("etag", "\"v1\""),
            ("last-modified", "Sun, 01 Nov 2026 00:00:00 GMT"),
        ],
        "body",
    )
}

#[tokio::test(start_paused = true)]
async fn a_hit_answers_matching_validators_with_304() {
    let origin = Origin::new(tagged);
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/i", &[])).await;
    let etag = send(&cache, get("/i", &[("if-none-match", "W/\"v1\"")])).await;
    assert_eq!(etag.status, 304);
    assert!(etag.body.is_empty());
    assert_eq!(etag.header("etag"), Some("\"v1\""));
    assert_eq!(etag.header("cache-control"), Some("max-age=60"));
    assert!(etag.cache_status().starts_with("rampart; hit"));
    let date = send(
        &cache,
        get(
            "/i",
            &[("if-modified-since", "Mon, 02 Nov 2026 00:00:00 GMT")],
        ),
    )
    .await;
    assert_eq!(date.status, 304);
    let changed = send(&cache, get("/i", &[("if-none-match", "\"v0\"")])).await;
    assert_eq!(changed.status, 200);
    assert_eq!(origin.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_miss_with_validators_fills_the_cache_and_still_answers_304() {
    let origin = Origin::new(tagged);
    let cache = cached(&origin, CacheRule::new());
    let first = send(&cache, get("/i", &[("if-none-match", "\"v1\"")])).await;
    assert_eq!(first.status, 304);
    assert_eq!(
        origin.last_header("if-none-match"),
        None,
        "the origin is asked for the full body"
    );
    assert_eq!(send(&cache, get("/i", &[])).await.body, "body");
    assert_eq!(origin.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stale_entry_is_revalidated_and_a_304_refreshes_it_without_a_body() {
    let origin = Origin::new(tagged);
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/i", &[])).await;
    advance(Duration::from_secs(61)).await;
    origin.answer(|request| {
        assert_eq!(
            request.headers().get("if-none-match").map(|v| v.as_bytes()),
            Some(&b"\"v1\""[..])
        );
        let mut answer = response(&[("cache-control", "max-age=120"), ("etag", "\"v1\"")], "");
        *answer.status_mut() = http::StatusCode::NOT_MODIFIED;
        answer
    });
    let revalidated = send(&cache, get("/i", &[])).await;
    assert_eq!(revalidated.status, 200);
    assert_eq!(revalidated.body, "body");
    assert_eq!(
        revalidated.cache_status(),
        "rampart; fwd=stale; fwd-status=304; ttl=120"
    );
    assert_eq!(revalidated.header("cache-control"), Some("max-age=120"));
    advance(Duration::from_secs(100)).await;
    let hit = send(&cache, get("/i", &[])).await;
    assert!(hit.cache_status().starts_with("rampart; hit"));
    assert_eq!(origin.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_changed_resource_replaces_the_stale_entry() {
    let origin = Origin::new(tagged);
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/i", &[])).await;
    advance(Duration::from_secs(61)).await;
    origin.answer(|_| {
        response(
            &[("cache-control", "max-age=60"), ("etag", "\"v2\"")],
            "new body",
        )
    });
    let replaced = send(&cache, get("/i", &[])).await;
    assert_eq!(replaced.body, "new body");
    assert_eq!(
        replaced.cache_status(),
        "rampart; fwd=stale; stored; ttl=60"
    );
    assert_eq!(
        send(&cache, get("/i", &[])).await.header("etag"),
        Some("\"v2\"")
    );
}

#[tokio::test(start_paused = true)]
async fn an_unsafe_method_invalidates_every_encoding_variant() {
    let origin = Origin::new(by_encoding);
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/r", &[("accept-encoding", "br")])).await;
    send(&cache, get("/r", &[("accept-encoding", "gzip")])).await;
    send(&cache, support::request("PUT", "/r", &[])).await;
    let br = send(&cache, get("/r", &[("accept-encoding", "br")])).await;
    let gzip = send(&cache, get("/r", &[("accept-encoding", "gzip")])).await;
    assert!(
        br.cache_status().starts_with("rampart; fwd="),
        "{}",
        br.cache_status()
    );
    assert!(
        gzip.cache_status().starts_with("rampart; fwd="),
        "{}",
        gzip.cache_status()
    );
    assert_eq!(origin.calls(), 5);
}
