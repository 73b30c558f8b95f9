//! A 304 answers the cache's own conditional request; a client that asked for nothing
//! conditional never sees one (RFC 9111 4.3.3, 4.3.4).

mod support;

use rampart_cache::CacheRule;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::{Origin, cached, get, response, send};

/// An origin that answers `304` (with `not_modified` headers) to a conditional request, and the
/// full response, ETag `"v1"`, to any other.
fn origin(not_modified: &'static [(&'static str, &'static str)]) -> Origin {
    Origin::new(move |request| {
        if request.headers().contains_key("if-none-match") {
            let mut answer = response(not_modified, "");
            *answer.status_mut() = http::StatusCode::NOT_MODIFIED;
            answer
        } else {
            response(
                &[("cache-control", "no-cache"), ("etag", "\"v1\"")],
                "the body",
            )
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_304_without_validators_selects_the_entry_the_cache_asked_about() {
    let origin = origin(&[]);
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    let revalidated = send(&cache, get("/a", &[])).await;
    assert_eq!(origin.calls(), 2);
    assert_eq!(
        origin.last_header("if-none-match").as_deref(),
        Some("\"v1\"")
    );
    assert_eq!(
        revalidated.status, 200,
        "the client asked for nothing conditional"
    );
    assert_eq!(revalidated.body, "the body");
}

#[tokio::test(start_paused = true)]
async fn a_304_about_another_version_sends_the_cache_back_for_the_whole_response() {
    let origin = origin(&[("etag", "\"v2\"")]);
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    let answer = send(&cache, get("/a", &[])).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "the body");
    assert_eq!(
        origin.calls(),
        3,
        "the 304 selected nothing: asked again, unconditionally"
    );
    assert_eq!(origin.last_header("if-none-match"), None);
}

#[tokio::test(start_paused = true)]
async fn a_client_conditional_request_still_gets_its_304() {
    let answered_304 = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&answered_304);
    let origin = Origin::new(move |request| {
        if request.headers().contains_key("if-none-match") {
            seen.store(true, Ordering::SeqCst);
            let mut answer = response(&[("etag", "\"v1\"")], "");
            *answer.status_mut() = http::StatusCode::NOT_MODIFIED;
            answer
        } else {
            response(
                &[("cache-control", "no-cache"), ("etag", "\"v1\"")],
                "the body",
            )
        }
    });
    let cache = cached(&origin, CacheRule::new());
    send(&cache, get("/a", &[])).await;
    let answer = send(&cache, get("/a", &[("if-none-match", "\"v1\"")])).await;
    assert!(answered_304.load(Ordering::SeqCst));
    assert_eq!(answer.status, 304);
}
