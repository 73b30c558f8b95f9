//! Invalidation by key, prefix, tag and all; the tag header never reaches clients.

mod support;

use rampart_cache::{CacheLayer, CacheRule, Purge};
use support::{Origin, get, response, send};
use tower::Layer;

fn tagged(
    request: &http::Request<axum::body::Body>,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let tags = if request.uri().path().starts_with("/items") {
        "items, catalog"
    } else {
        "pages"
    };
    response(
        &[
            ("cache-control", "max-age=60"),
            ("cache-tag", tags),
            ("vary", "accept-encoding"),
        ],
        "x",
    )
}

const PATHS: [&str; 4] = ["/items/1?a=1&b=2", "/items/2", "/pages/1", "/pages/2"];

async fn warm(purge: Option<Purge>) -> Vec<bool> {
    let origin = Origin::new(tagged);
    let layer = CacheLayer::builder().default_rule(CacheRule::new()).build();
    let handle = layer.handle();
    let cache = layer.layer(origin.service());
    for path in PATHS {
        let first = send(&cache, get(path, &[("accept-encoding", "gzip")])).await;
        assert_eq!(
            first.header("cache-tag"),
            None,
            "tags are for the cache only"
        );
        send(&cache, get(path, &[])).await;
    }
    if let Some(purge) = purge {
        handle.purge(purge).await.expect("no shared tier to fail");
    }
    let mut still_cached = Vec::new();
    for path in PATHS {
        let seen = send(&cache, get(path, &[("accept-encoding", "gzip")])).await;
        still_cached.push(seen.cache_status().starts_with("rampart; hit"));
    }
    still_cached
}

#[tokio::test(start_paused = true)]
async fn nothing_purged_everything_hits() {
    assert_eq!(warm(None).await, [true, true, true, true]);
}

#[tokio::test(start_paused = true)]
async fn a_key_purge_removes_every_variant_whatever_the_query_order() {
    let purge = Purge::Key("/items/1?b=2&a=1".into());
    assert_eq!(warm(Some(purge)).await, [false, true, true, true]);
}

#[tokio::test(start_paused = true)]
async fn a_prefix_purge_removes_the_subtree() {
    assert_eq!(
        warm(Some(Purge::Prefix("/items/".into()))).await,
        [false, false, true, true]
    );
}

#[tokio::test(start_paused = true)]
async fn a_tag_purge_removes_what_the_origin_tagged() {
    assert_eq!(
        warm(Some(Purge::Tag("pages".into()))).await,
        [true, true, false, false]
    );
    assert_eq!(
        warm(Some(Purge::Tag("catalog".into()))).await,
        [false, false, true, true]
    );
}

#[tokio::test(start_paused = true)]
async fn purging_all_empties_the_cache() {
    assert_eq!(warm(Some(Purge::All)).await, [false, false, false, false]);
}
