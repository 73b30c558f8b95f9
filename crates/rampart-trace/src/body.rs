use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::RequestSpan;

pin_project! {
    /// A response body that keeps the request span open until the body has been sent (or
    /// dropped), and is polled inside it: a streamed response's time is the request's.
    #[derive(Debug)]
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        span: RequestSpan,
    }
}

impl<B> TracedBody<B> {
    pub(crate) const fn new(inner: B, span: RequestSpan) -> Self {
        Self { inner, span }
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = {
            let _entered = this.span.enter();
            this.inner.poll_frame(cx)
        };
        match &frame {
            Poll::Ready(None) => *this.span = RequestSpan::default(),
            Poll::Ready(Some(Err(_))) => this.span.body_failed(),
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
