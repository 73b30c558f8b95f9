//! Negotiation, predicate and validator handling of `CompressionLayer` in a router.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use rampart_compression::CompressionLayer;
use std::io::Read;
use tower::ServiceExt;

fn big() -> String {
    "{\"message\":\"compressible, very compressible\"}\n".repeat(200)
}

fn app() -> Router {
    Router::new()
        .route(
            "/json",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::ETAG, "\"v1\""),
                    ],
                    big(),
                )
            }),
        )
        .route("/small", get(|| async { "tiny" }))
        .route("/stream", get(|| async { streamed() }))
        .route(
            "/png",
            get(|| async { ([(header::CONTENT_TYPE, "image/png")], big()) }),
        )
        .route(
            "/no-transform",
            get(|| async { ([(header::CACHE_CONTROL, "public, no-transform")], big()) }),
        )
        .route(
            "/pre-encoded",
            get(|| async {
                (
                    [
                        (header::CONTENT_ENCODING, "gzip"),
                        (header::ETAG, "\"pre\""),
                    ],
                    gzip(big().as_bytes()),
                )
            }),
        )
        .layer(CompressionLayer::new())
}

/// One streamed line.
fn line(n: u32) -> String {
    format!("line {n}: {}\n", "streamed, ".repeat(40))
}

/// Four lines from a stream that is not fused, as handlers write them: polling it after its
/// end panics.
fn streamed() -> Body {
    Body::from_stream(futures_util::stream::unfold(0, |n| async move {
        if n == 4 {
            return None;
        }
        tokio::task::yield_now().await;
        Some((Ok::<_, std::convert::Infallible>(line(n)), n + 1))
    }))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        None => out.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("deflate") => {
            flate2::read::ZlibDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("zstd") => out = zstd::decode_all(body).unwrap(),
        Some(other) => panic!("unexpected encoding {other}"),
    }
    out
}

async fn fetch(path: &str, accept: Option<&str>) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = Request::get(path);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT_ENCODING, accept);
    }
    let response = app()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

fn encoding(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_ENCODING)
        .map(|value| value.to_str().unwrap())
}

/// tower-http's encoder polls its body once more after the end (tower-http #732): a stream
/// that is not fused panicked there, and the client lost the last chunk and the trailer.
#[tokio::test]
async fn a_stream_that_is_not_fused_arrives_whole_in_every_encoding() {
    let whole: String = (0..4).map(line).collect();
    for algorithm in ["gzip", "br", "zstd", "deflate"] {
        let (status, headers, body) = fetch("/stream", Some(algorithm)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(encoding(&headers), Some(algorithm));
        assert_eq!(
            decode(Some(algorithm), &body),
            whole.as_bytes(),
            "{algorithm}"
        );
    }
    let (_, headers, body) = fetch("/stream", None).await;
    assert_eq!(encoding(&headers), None);
    assert_eq!(body, whole.as_bytes());
}

#[tokio::test]
async fn every_algorithm_round_trips() {
    for algorithm in ["gzip", "br", "zstd", "deflate"] {
        let (status, headers, body) = fetch("/json", Some(algorithm)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(encoding(&headers), Some(algorithm));
        assert!(
            body.len() < big().len() / 5,
            "{algorithm} did not shrink the body"
        );
        assert_eq!(decode(Some(algorithm), &body), big().as_bytes());
        assert_eq!(headers[header::VARY], "accept-encoding");
        assert!(!headers.contains_key(header::CONTENT_LENGTH));
    }
}

#[tokio::test]
async fn q_values_pick_the_preferred_algorithm() {
    let cases = [
        ("gzip;q=0.5, br;q=0.9, zstd;q=0.1", Some("br")),
        ("br;q=0, gzip", Some("gzip")),
        ("deflate;q=1.0, gzip;q=0.2", Some("deflate")),
        ("zstd, gzip;q=0.8", Some("zstd")),
        ("identity", None),
        ("compress, x-unknown", None),
    ];
    for (accept, expected) in cases {
        let (status, headers, body) = fetch("/json", Some(accept)).await;
        assert_eq!(status, StatusCode::OK, "{accept}");
        assert_eq!(encoding(&headers), expected, "Accept-Encoding: {accept}");
        assert_eq!(decode(expected, &body), big().as_bytes());
    }
}

#[tokio::test]
async fn no_accept_encoding_means_identity() {
    let (_, headers, body) = fetch("/json", None).await;
    assert_eq!(encoding(&headers), None);
    assert_eq!(body, big());
}

#[tokio::test]
async fn the_predicate_skips_what_should_not_be_compressed() {
    for path in ["/small", "/png", "/no-transform"] {
        let (_, headers, _) = fetch(path, Some("gzip, br")).await;
        assert_eq!(encoding(&headers), None, "{path} was compressed");
    }
}

#[tokio::test]
async fn a_strong_etag_becomes_weak_only_when_this_layer_encodes() {
    let (_, headers, _) = fetch("/json", Some("gzip")).await;
    assert_eq!(headers[header::ETAG], "W/\"v1\"");
    let (_, headers, _) = fetch("/json", None).await;
    assert_eq!(headers[header::ETAG], "\"v1\"");
    // The inner service encoded this one itself: its validator is its own business.
    let (_, headers, body) = fetch("/pre-encoded", Some("gzip, br")).await;
    assert_eq!(encoding(&headers), Some("gzip"));
    assert_eq!(headers[header::ETAG], "\"pre\"");
    assert_eq!(decode(Some("gzip"), &body), big().as_bytes());
}
