//! A flood of distinct URLs: the local tier stays under its byte limit.

mod support;

use rampart_cache::{CacheLayer, CacheRule};
use support::{Origin, get, response, send};
use tower::Layer;

const LIMIT: u64 = 4 * 1024 * 1024;
const BODY: &str = include_str!("../src/key.rs");

#[tokio::test]
async fn a_million_distinct_urls_stay_under_the_byte_limit() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=600")], BODY));
    let layer = CacheLayer::builder()
        .default_rule(CacheRule::new())
        .max_bytes(LIMIT)
        .build();
    let handle = layer.handle();
    let cache = layer.layer(origin.service());
    let mut peak = 0;
    for n in 0..1_000_000u32 {
        send(&cache, get(&format!("/flood/{n}"), &[])).await;
        if n % 50_000 == 49_999 {
            let usage = handle.usage();
            assert!(usage.bytes <= LIMIT, "{} bytes after {n} URLs", usage.bytes);
            peak = peak.max(usage.bytes);
        }
    }
    assert_eq!(origin.calls(), 1_000_000);
    assert!(peak > LIMIT / 2, "the cache was used: peak {peak} bytes");
}
