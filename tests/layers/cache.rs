//! The response cache over TCP: encoded hits, 304s, tags, admin purges, metrics.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, decode, metrics_text, series, start};
use reqwest::StatusCode;

const ADMIN: &str = "[server]\nadmin_token = \"s3cret-admin-token-for-tests\"\n";

#[tokio::test]
async fn the_report_is_stored_encoded_and_hit_per_encoding() {
    let server = start("").await;
    let client = client();
    let get = |encoding: &'static str| {
        client
            .get(server.url("/api/report"))
            .header("accept-encoding", encoding)
            .send()
    };
    let first = get("br").await.unwrap();
    assert_eq!(first.headers()["content-encoding"], "br");
    assert_eq!(
        first.headers()["cache-status"],
        "rampart; fwd=uri-miss; stored; ttl=60"
    );
    let first_body = decode(Some("br"), &first.bytes().await.unwrap());

    let hit = get("br").await.unwrap();
    assert!(
        hit.headers()["cache-status"]
            .to_str()
            .unwrap()
            .starts_with("rampart; hit; ttl=")
    );
    assert_eq!(hit.headers()["content-encoding"], "br");
    assert!(hit.headers().contains_key("age"));
    assert_eq!(decode(Some("br"), &hit.bytes().await.unwrap()), first_body);

    let gzip = get("gzip").await.unwrap();
    assert_eq!(
        gzip.headers()["cache-status"],
        "rampart; fwd=vary-miss; stored; ttl=60"
    );
    assert_eq!(
        decode(Some("gzip"), &gzip.bytes().await.unwrap()),
        first_body
    );
    let gzip_again = get("gzip;q=1.0").await.unwrap();
    assert!(
        gzip_again.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("hit")
    );
}

#[tokio::test]
async fn a_hit_answers_if_none_match_with_304() {
    let server = start("").await;
    let client = client();
    let first = client.get(server.url("/api/items/7")).send().await.unwrap();
    assert!(
        first.headers().get("cache-tag").is_none(),
        "tags are for the cache only"
    );
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = client
        .get(server.url("/api/items/7"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(
        again.headers()["cache-status"]
            .to_str()
            .unwrap()
            .starts_with("rampart; hit")
    );
}

#[tokio::test]
async fn routes_without_a_rule_are_untouched() {
    let server = start("").await;
    let response = client().get(server.url("/api/hello")).send().await.unwrap();
    assert!(response.headers().get("cache-status").is_none());
}

#[tokio::test]
async fn admins_purge_by_tag_key_and_prefix_and_read_the_size() {
    let server = start(ADMIN).await;
    let client = client();
    let status_of = |path: &'static str| {
        let request = client.get(server.url(path));
        async move {
            let response = request.send().await.unwrap();
            response.headers()["cache-status"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let purge = |body: &'static str| {
        client
            .post(server.ops_url("/admin/cache/purge"))
            .bearer_auth("s3cret-admin-token-for-tests")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for path in ["/api/items/1", "/api/items/2", "/api/report"] {
        status_of(path).await;
    }
    let usage: serde_json::Value = client
        .get(server.ops_url("/admin/cache"))
        .bearer_auth("s3cret-admin-token-for-tests")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(usage["entries"].as_u64().unwrap() >= 3, "{usage}");
    assert!(usage["bytes"].as_u64().unwrap() > 64 * 1024, "{usage}");

    assert_eq!(
        purge(r#"{"tag": "item-1"}"#).await.unwrap().status(),
        StatusCode::OK
    );
    assert!(status_of("/api/items/1").await.contains("fwd=uri-miss"));
    assert!(status_of("/api/items/2").await.contains("hit"));

    assert_eq!(
        purge(r#"{"key": "/api/report"}"#).await.unwrap().status(),
        StatusCode::OK
    );
    assert!(status_of("/api/report").await.contains("fwd=uri-miss"));

    assert_eq!(
        purge(r#"{"prefix": "/api/items/"}"#)
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert!(status_of("/api/items/2").await.contains("fwd=uri-miss"));

    assert_eq!(purge(r#""all""#).await.unwrap().status(), StatusCode::OK);
    assert!(status_of("/api/report").await.contains("fwd=uri-miss"));

    let bad = purge(r#"{"everything": true}"#).await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let anonymous = client
        .post(server.ops_url("/admin/cache/purge"))
        .body("\"all\"")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_a_token_the_cache_admin_does_not_exist() {
    let server = start("").await;
    let response = client()
        .post(server.ops_url("/admin/cache/purge"))
        .body("\"all\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_cache_reports_its_work_in_metrics() {
    let server = start("").await;
    let client = client();
    for _ in 0..3 {
        client.get(server.url("/api/items/5")).send().await.unwrap();
    }
    let text = metrics_text(&server).await;
    assert_eq!(
        series(&text, "rampart_cache_requests_total", &[("result", "miss")]),
        Some(1.0)
    );
    assert_eq!(
        series(&text, "rampart_cache_requests_total", &[("result", "hit")]),
        Some(2.0)
    );
    assert!(series(&text, "rampart_cache_size_bytes", &[]).unwrap() > 0.0);
    assert!(series(&text, "rampart_cache_entries", &[]).unwrap() >= 1.0);
    assert!(text.contains("rampart_cache_evictions_total"), "{text}");
}

#[tokio::test]
async fn hostile_headers_on_cached_routes_get_ordinary_answers() {
    let server = start("").await;
    let client = client();
    let hostile: [(&str, &[u8]); 7] = [
        ("accept-encoding", &[b'x'; 8000]),
        ("accept-encoding", b"gzip;q=abc, br;q=2, zstd;q=-1"),
        (
            "cache-control",
            b"max-age=abc, max-stale=-1, min-fresh=99999999999999999999",
        ),
        ("if-none-match", b"\"unterminated, W/, *,,"),
        ("if-modified-since", b"yesterday at noon"),
        ("host", b"evil.test#x-tenant=a|accept-encoding=br"),
        ("x-forwarded-host", b"\xff\xfe"),
    ];
    for (name, value) in hostile {
        for path in ["/api/report", "/api/items/1"] {
            for _ in 0..2 {
                let response = client
                    .get(server.url(path))
                    .header(
                        name,
                        reqwest::header::HeaderValue::from_bytes(value).unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                assert!(
                    status == StatusCode::OK || status == StatusCode::NOT_MODIFIED,
                    "{path} with {name}: {status}"
                );
            }
        }
    }
    // None of that was stored where an ordinary request finds it: a client that accepts no
    // encoding gets the plain report.
    let plain = client.get(server.url("/api/report")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let body: serde_json::Value = plain.json().await.unwrap();
    assert!(body.is_object() || body.is_array());
}

#[tokio::test]
async fn random_accept_encoding_weights_share_one_variant_per_coding() {
    let server = start("").await;
    let client = client();
    let mut stored = 0;
    for n in 0..100u32 {
        let weights = format!(
            "gzip;q=0.{:03}, br;q=0.{:03}, zstd;q=0.{:03}, deflate;q=0.{:03}",
            (n * 7) % 1000 + 1,
            (n * 13) % 1000,
            (n * 29) % 1000,
            (n * 31) % 1000,
        );
        let response = client
            .get(server.url("/api/report"))
            .header("accept-encoding", &weights)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let encoding = response.headers()["content-encoding"]
            .to_str()
            .unwrap()
            .to_owned();
        if response.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("stored")
        {
            stored += 1;
        }
        // The body is whole and in the coding the headers say.
        assert!(!decode(Some(&encoding), &response.bytes().await.unwrap()).is_empty());
    }
    assert!(stored <= 4, "{stored} variants stored for one URL");
}

/// RFC 9110 §9.3.2: a HEAD answered from the cache carries the length a GET of the same variant
/// is sent with (it said `content-length: 0`).
#[tokio::test]
async fn a_head_from_the_cache_has_the_length_of_the_get() {
    let server = start("").await;
    let client = client();
    for encoding in ["gzip", "identity"] {
        let get = client
            .get(server.url("/api/report"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        let length = get.bytes().await.unwrap().len();
        let hit = client
            .get(server.url("/api/report"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(hit.headers()["content-length"], length.to_string().as_str());

        let head = client
            .head(server.url("/api/report"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        let status = head.headers()["cache-status"].to_str().unwrap();
        assert!(status.starts_with("rampart; hit"), "{status}");
        assert_eq!(
            head.headers()["content-length"],
            length.to_string().as_str(),
            "{encoding}"
        );
        assert!(head.bytes().await.unwrap().is_empty());
    }
}

/// A cached route whose handler streams: the answer starts before the body ends, outlives the
/// route's deadline, arrives whole, and is stored once it has all passed (the cache used to read
/// the body before answering, so the client waited and the deadline turned it into a 504).
#[tokio::test]
async fn a_streamed_body_on_a_cached_route_streams_and_is_stored() {
    let toml = r#"
[stack.routes."/api/stream"]
timeout = "150ms"
[stack.routes."/api/stream".cache]
default_ttl = "60s"
"#;
    let server = start(toml).await;
    let client = client();
    let mut miss = client.get(server.url("/api/stream")).send().await.unwrap();
    assert_eq!(miss.status(), StatusCode::OK);
    assert!(
        miss.headers()["cache-status"]
            .to_str()
            .unwrap()
            .starts_with("rampart; fwd=uri-miss"),
    );
    let first = miss.chunk().await.unwrap().expect("a first chunk");
    assert!(first.starts_with(b"line 0 of 4"));
    let mut body = first.to_vec();
    while let Some(chunk) = miss.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8(body).unwrap();
    assert_eq!(body.lines().count(), 4, "{body}");

    let hit = client.get(server.url("/api/stream")).send().await.unwrap();
    assert!(
        hit.headers()["cache-status"]
            .to_str()
            .unwrap()
            .starts_with("rampart; hit"),
        "stored once streamed: {:?}",
        hit.headers()["cache-status"]
    );
    assert_eq!(hit.text().await.unwrap(), body);
}

/// A stored response answers one byte range itself (`206`), as a download resumes; `If-Range`
/// naming another version gets the whole response.
#[tokio::test]
async fn a_hit_answers_a_byte_range_with_206() {
    let server = start("").await;
    let client = client();
    let whole = client
        .get(server.url("/api/report"))
        .header("accept-encoding", "identity")
        .send()
        .await
        .unwrap();
    let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
    let whole = whole.bytes().await.unwrap();
    let ranged = |range: &'static str, if_range: &str| {
        client
            .get(server.url("/api/report"))
            .header("accept-encoding", "identity")
            .header("range", range)
            .header("if-range", if_range)
            .send()
    };
    let part = ranged("bytes=10-19", &etag).await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{}", whole.len()).as_str()
    );
    assert!(
        part.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("hit")
    );
    assert_eq!(part.bytes().await.unwrap(), whole.slice(10..20));
    let tail = ranged("bytes=-5", &etag).await.unwrap();
    assert_eq!(tail.bytes().await.unwrap(), whole.slice(whole.len() - 5..));
    let other = ranged("bytes=10-19", "\"another-version\"").await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(other.bytes().await.unwrap(), whole);
}
