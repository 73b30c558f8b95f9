use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};
use tracing::Span;

pin_project! {
    /// A response body that keeps the request span open until the body has been sent (or
    /// dropped), and is polled inside it: a streamed response's time is the request's.
    #[derive(Debug)]
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        span: Option<Span>,
    }
}

impl<B> TracedBody<B> {
    pub(crate) const fn new(inner: B, span: Option<Span>) -> Self {
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
            let _entered = this.span.as_ref().map(Span::enter);
            this.inner.poll_frame(cx)
        };
        match &frame {
            Poll::Ready(None) => *this.span = None,
            Poll::Ready(Some(Err(_))) => {
                if let Some(span) = this.span.take() {
                    // The client got a cut-off body: the request failed after its status.
                    span.record("error.type", "response_body");
                    span.record("otel.status_code", "error");
                }
            }
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
