//! Which level per algorithm suits a server: time to compress a 64 KiB JSON report through
//! the layer, and the size it comes out at (printed once per level).
//!
//! Run with `cargo bench -p rampart-benches --bench compression_levels`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{Request, header};
use http_body_util::BodyExt;
use rampart_compression::{CompressionLayer, CompressionLevel};
use std::time::Duration;
use tower::ServiceExt;

/// About 64 KiB of JSON shaped like an API listing: repetitive keys, varied values.
fn report() -> String {
    let rows: Vec<String> = (0..560)
        .map(|i| {
            format!(
                r#"{{"id":{i},"sku":"SKU-{:06}","name":"Item number {i}","price_cents":{},"in_stock":{},"tags":["tag-{}","tag-{}"]}}"#,
                i * 7919 % 1_000_000,
                (i * 37) % 10_000,
                i % 3 == 0,
                i % 11,
                i % 17
            )
        })
        .collect();
    format!(r#"{{"items":[{}]}}"#, rows.join(","))
}

fn app(level: i32) -> Router {
    let body = report();
    Router::new()
        .route(
            "/report",
            get(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(level)))
}

async fn compressed_size(app: Router, encoding: &str) -> usize {
    let request = Request::get("/report")
        .header(header::ACCEPT_ENCODING, encoding)
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.headers()[header::CONTENT_ENCODING], encoding);
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .len()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plain = report().len();
    let cases: [(&str, &[i32]); 4] = [
        ("gzip", &[1, 4, 6, 9]),
        ("br", &[1, 4, 5, 6, 11]),
        ("zstd", &[1, 3, 6, 12]),
        ("deflate", &[1, 6, 9]),
    ];
    for (encoding, levels) in cases {
        let mut group = c.benchmark_group(format!("compress_64k_json/{encoding}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(2));
        group.warm_up_time(Duration::from_millis(500));
        for &level in levels {
            let app = app(level);
            let size = runtime.block_on(compressed_size(app.clone(), encoding));
            eprintln!(
                "{encoding} level {level}: {plain} -> {size} bytes ({:.1}%)",
                size as f64 * 100.0 / plain as f64
            );
            group.bench_with_input(BenchmarkId::from_parameter(level), &app, |b, app| {
                b.to_async(&runtime)
                    .iter(|| compressed_size(app.clone(), encoding));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
