//! A cache hit for a 64 KiB body, against the same response made by a bare service.
//!
//! Run with `cargo bench -p rampart-benches --bench cache_hit`.
//! Target (issue 4): a hit under 2 µs, with no copy of the body per hit.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use rampart_cache::{CacheLayer, CacheRule};
use std::convert::Infallible;
use std::hint::black_box;
use tower::{Layer, Service, ServiceExt};

fn report() -> Bytes {
    Bytes::from(vec![b'x'; 64 * 1024])
}

fn origin(
    body: Bytes,
) -> impl Service<
    Request<axum::body::Body>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |_: Request<axum::body::Body>| {
        let body = body.clone();
        async move {
            let mut response = Response::new(Full::new(body));
            response.headers_mut().insert(
                "cache-control",
                "public, max-age=3600".parse().expect("valid"),
            );
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().expect("valid"));
            response
                .headers_mut()
                .insert("content-encoding", "br".parse().expect("valid"));
            response
                .headers_mut()
                .insert("vary", "accept-encoding".parse().expect("valid"));
            Ok(response)
        }
    })
}

fn request() -> Request<axum::body::Body> {
    Request::get("/api/report")
        .header("host", "bench.test")
        .header("accept-encoding", "br")
        .body(axum::body::Body::empty())
        .expect("valid request")
}

/// Calls the service, then takes the body's one frame (a `Bytes` handle on the stored body,
/// not a copy): what serving the answer costs before the socket write.
fn serve<S, B>(service: &mut S, request: Request<axum::body::Body>) -> usize
where
    S: Service<Request<axum::body::Body>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    let response = service
        .call(request)
        .now_or_never()
        .expect("answers at once")
        .expect("infallible");
    let mut body = response.into_body();
    let frame = body.frame().now_or_never().flatten();
    frame.map_or(0, |frame| {
        frame.expect("no error").into_data().map_or(0, |d| d.len())
    })
}

fn hit(c: &mut Criterion) {
    let body = report();
    let mut group = c.benchmark_group("cache_hit_64KiB");
    let mut bare = origin(body.clone());
    // Requests are built outside the timed part: they cost the same with or without a cache.
    group.bench_function("bare service", |b| {
        b.iter_batched(
            request,
            |r| black_box(serve(&mut bare, r)),
            BatchSize::SmallInput,
        );
    });

    let mut cached = CacheLayer::builder()
        .default_rule(CacheRule::new())
        .build()
        .layer(origin(body));
    let warm = cached
        .ready()
        .now_or_never()
        .expect("ready")
        .expect("infallible");
    assert_eq!(serve(warm, request()), 64 * 1024);
    group.bench_function("cache hit", |b| {
        b.iter_batched(
            request,
            |r| black_box(serve(&mut cached, r)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, hit);
criterion_main!(benches);
