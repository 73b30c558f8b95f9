//! How many bytes the request body carried.
//!
//! A body with a known length (`Content-Length`, or an exact size hint) is measured for free.
//! Only a chunked body of unknown length is wrapped to count the bytes the handler reads.

use axum::body::Body;
use bytes::Buf;
use http::{Request, header};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request body size, known up front or counted while the handler reads.
#[derive(Debug)]
pub(crate) enum RequestSize {
    Known(u64),
    Counted(Arc<AtomicU64>),
}

impl RequestSize {
    pub(crate) fn bytes(&self) -> u64 {
        match self {
            Self::Known(bytes) => *bytes,
            Self::Counted(counter) => counter.load(Ordering::Relaxed),
        }
    }
}

/// Converts the request to axum's body type (free when it already is one) and measures it.
pub(crate) fn observe<B>(request: Request<B>) -> (Request<Body>, RequestSize)
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let known = request.body().size_hint().exact().or_else(|| {
        request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
    });
    match known {
        Some(bytes) => (request.map(Body::new), RequestSize::Known(bytes)),
        None => {
            let counter = Arc::new(AtomicU64::new(0));
            let counted = Arc::clone(&counter);
            let request = request.map(|inner| Body::new(CountingBody { inner, counted }));
            (request, RequestSize::Counted(counter))
        }
    }
}

pin_project! {
    struct CountingBody<B> {
        #[pin]
        inner: B,
        counted: Arc<AtomicU64>,
    }
}

impl<B> http_body::Body for CountingBody<B>
where
    B: http_body::Body,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(data) = frame.as_ref().and_then(|f| f.as_ref().ok()?.data_ref()) {
            this.counted
                .fetch_add(data.remaining() as u64, Ordering::Relaxed);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
