//! Compression negotiation over TCP, for every algorithm.

#![allow(clippy::unwrap_used)]

use rampart_tests::{client, decode, start};
use reqwest::StatusCode;

#[tokio::test]
async fn every_algorithm_is_negotiated_and_decodes_to_the_same_report() {
    let server = start("").await;
    let client = client();
    let plain = client
        .get(server.url("/api/report"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    for (accept, expected) in [
        ("gzip", Some("gzip")),
        ("br", Some("br")),
        ("zstd", Some("zstd")),
        ("deflate", Some("deflate")),
        ("gzip;q=0.2, br;q=0.8, zstd;q=0.5", Some("br")),
        ("br;q=0, zstd;q=0, gzip", Some("gzip")),
        ("identity", None),
    ] {
        let response = client
            .get(server.url("/api/report"))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{accept}");
        let encoding = response
            .headers()
            .get("content-encoding")
            .map(|value| value.to_str().unwrap().to_owned());
        assert_eq!(encoding.as_deref(), expected, "Accept-Encoding: {accept}");
        assert_eq!(response.headers()["vary"], "accept-encoding");
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(etag.starts_with("W/"), expected.is_some(), "{etag}");
        let body = response.bytes().await.unwrap();
        if expected.is_some() {
            assert!(
                body.len() < plain.len() / 4,
                "{accept}: {} bytes",
                body.len()
            );
        }
        assert_eq!(decode(expected, &body), plain, "{accept}");
    }
}

#[tokio::test]
async fn small_responses_are_not_compressed() {
    let server = start("").await;
    let response = client()
        .get(server.url("/api/items/1"))
        .header("accept-encoding", "gzip, br, zstd")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn the_minimum_size_comes_from_the_config() {
    let server = start("[stack.compression]\nmin_size = 10\n").await;
    let response = client()
        .get(server.url("/api/items/1"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

/// A streamed body from a stream that is not fused, in every encoding, over TCP: every line and
/// the encoder's trailer arrive (tower-http #732 cut the last chunk and panicked the task).
#[tokio::test]
async fn a_streamed_body_arrives_whole_in_every_encoding() {
    let server = start("").await;
    let client = client();
    let plain = client
        .get(server.url("/api/stream"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(plain.lines().count(), 4, "{plain}");
    assert!(plain.ends_with("\n"));
    for accept in ["gzip", "br", "zstd", "deflate"] {
        let response = client
            .get(server.url("/api/stream"))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], accept);
        let body = response.bytes().await.unwrap();
        assert_eq!(decode(Some(accept), &body), plain.as_bytes(), "{accept}");
    }
}
