//! What the local tier weighs is what it holds, counted by the allocator, not by the cache.
//!
//! Every request here arrives the way hyper hands it over: its path, its headers and a 64 KB
//! junk header are slices of one buffer. An entry that kept any slice of it would keep all of
//! it while weighing a few hundred bytes.

mod support;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use cap::Cap;
use http::{HeaderValue, Request, Uri};
use rampart_cache::{CacheLayer, CacheRule};
use std::alloc::System;
use support::{Origin, response, send};
use tower::Layer;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const LIMIT: u64 = 4 * 1024 * 1024;
const JUNK: usize = 64 * 1024;
const REQUESTS: u32 = 40_000;

/// A GET whose URI and every header value are slices of one buffer.
fn request_in_one_buffer(n: u32) -> Request<Body> {
    let path = format!("/flood/{n}?session={n}");
    let language = format!("lang-{}", n % 7);
    let mut head = BytesMut::with_capacity(path.len() + language.len() + JUNK);
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(language.as_bytes());
    head.resize(path.len() + language.len() + JUNK, b'x');
    let head: Bytes = head.freeze();
    let language_at = path.len()..path.len() + language.len();
    let header = |range| HeaderValue::from_maybe_shared(head.slice(range)).expect("valid value");
    let mut request = Request::new(Body::empty());
    *request.uri_mut() = Uri::from_maybe_shared(head.slice(..path.len())).expect("valid path");
    let headers = request.headers_mut();
    headers.insert("host", HeaderValue::from_static("example.test"));
    headers.insert("accept-language", header(language_at));
    headers.insert("x-junk", header(path.len() + language.len()..head.len()));
    request
}

#[tokio::test]
async fn live_memory_stays_within_the_byte_limit_when_requests_come_in_large_buffers() {
    let origin = Origin::new(|_| {
        response(
            &[
                ("cache-control", "public, max-age=600"),
                ("vary", "accept-language"),
                ("content-type", "application/json"),
            ],
            r#"{"id":1,"name":"an item","price":"9.99"}"#,
        )
    });
    let layer = CacheLayer::builder()
        .default_rule(CacheRule::new())
        .max_bytes(LIMIT)
        .build();
    let handle = layer.handle();
    let cache = layer.layer(origin.service());
    // Moka sizes some tables on first use: start counting after one request.
    send(&cache, request_in_one_buffer(u32::MAX)).await;
    let before = ALLOCATOR.allocated();
    for n in 0..REQUESTS {
        send(&cache, request_in_one_buffer(n)).await;
    }
    let usage = handle.usage();
    let live = ALLOCATOR.allocated().saturating_sub(before) as u64;
    eprintln!(
        "{live} bytes live for {} weighed in {} entries",
        usage.bytes, usage.entries
    );
    assert_eq!(origin.calls(), REQUESTS as usize + 1);
    assert!(
        usage.bytes > LIMIT / 2,
        "the cache was used: {} bytes",
        usage.bytes
    );
    assert!(usage.bytes <= LIMIT, "weighed {} bytes", usage.bytes);
    // Beyond the entries: the origin keeps the last request's headers (one 64 KB buffer),
    // moka its frequency sketch. Before entries kept request slices, this was 40x the limit.
    assert!(
        live <= LIMIT + LIMIT / 10,
        "{live} bytes live for {} weighed in {} entries",
        usage.bytes,
        usage.entries
    );
}
