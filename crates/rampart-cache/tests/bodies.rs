//! Bodies: too big to store, failing mid-way, streamed untouched.

mod support;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use rampart_cache::{CacheLayer, CacheRule};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use support::{Origin, get, response, send};
use tower::{Layer, ServiceExt};

const BIG: &str = include_str!("../src/fetch.rs");

#[tokio::test(start_paused = true)]
async fn bodies_over_the_entry_limit_pass_through_and_are_not_stored() {
    let origin = Origin::new(|_| response(&[("cache-control", "max-age=60")], BIG));
    let cache = CacheLayer::builder()
        .default_rule(CacheRule::new())
        .max_entry_bytes(1024)
        .build()
        .layer(origin.service());
    for _ in 0..2 {
        let seen = send(&cache, get("/big", &[])).await;
        assert_eq!(seen.body, BIG);
        assert_eq!(
            seen.cache_status(),
            "rampart; fwd=uri-miss; detail=too-large"
        );
    }
    assert_eq!(origin.calls(), 2);

    let declared = Origin::new(|_| {
        let length = BIG.len().to_string();
        response(
            &[("cache-control", "max-age=60"), ("content-length", &length)],
            BIG,
        )
    });
    let cache = CacheLayer::builder()
        .default_rule(CacheRule::new())
        .max_entry_bytes(1024)
        .build()
        .layer(declared.service());
    let seen = send(&cache, get("/big", &[])).await;
    assert_eq!(seen.body, BIG);
}

/// One chunk, then an error.
struct Failing(u8);

impl Body for Failing {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0 += 1;
        Poll::Ready(Some(match self.0 {
            1 => Ok(Frame::data(Bytes::from_static(b"first part"))),
            _ => Err(std::io::Error::other("the origin died")),
        }))
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_that_fails_reaches_the_client_as_an_error_and_is_not_stored() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let origin = tower::service_fn(move |_: Request<axum::body::Body>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async {
            let mut response = Response::new(Failing(0));
            response
                .headers_mut()
                .insert("cache-control", "max-age=60".parse().expect("valid"));
            Ok::<_, Infallible>(response)
        }
    });
    let cache = CacheLayer::new().layer(origin);
    for _ in 0..2 {
        let response = cache
            .clone()
            .oneshot(get("/f", &[]))
            .await
            .expect("infallible");
        let mut body = response.into_body();
        let first = body.frame().await.expect("a frame").expect("data");
        assert_eq!(first.into_data().expect("data"), "first part");
        let error = body.frame().await.expect("a frame");
        assert!(error.is_err(), "the client sees the failure");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
