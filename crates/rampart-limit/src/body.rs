use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use crate::BodyTooLarge;

/// What a body's reader gets back as its error.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// A request body of unknown length, counted as it is read. Past the limit it fails with
    /// [`BodyTooLarge`] and raises the flag the response future reads.
    pub(crate) struct CountedBody<B> {
        #[pin]
        inner: B,
        read: u64,
        limit: u64,
        exceeded: Arc<AtomicBool>,
    }
}

impl<B> CountedBody<B> {
    pub(crate) const fn new(inner: B, limit: u64, exceeded: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            read: 0,
            limit,
            exceeded,
        }
    }
}

impl<B> Body for CountedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if this.exceeded.load(Ordering::Relaxed) {
            // Already failed: the rest is never read.
            return Poll::Ready(None);
        }
        let frame = match ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return Poll::Ready(Some(Err(error.into()))),
            None => return Poll::Ready(None),
        };
        if let Some(data) = frame.data_ref() {
            *this.read = this.read.saturating_add(data.len() as u64);
            if *this.read > *this.limit {
                this.exceeded.store(true, Ordering::Relaxed);
                return Poll::Ready(Some(Err(BodyTooLarge::new(*this.limit).into())));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
