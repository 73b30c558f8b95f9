use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::future::InFlight;
use crate::handles::AnswerSlot;

/// What is recorded when the response body ends or is dropped, whichever comes first.
pub(crate) struct Completion {
    pub(crate) in_flight: InFlight,
    pub(crate) answer: AnswerSlot,
    pub(crate) body_failed: bool,
    pub(crate) response_bytes: u64,
}

impl Drop for Completion {
    fn drop(&mut self) {
        let in_flight = &self.in_flight;
        in_flight.handles.record(
            self.answer,
            self.body_failed,
            in_flight.start.elapsed().as_secs_f64(),
            in_flight.request_size.bytes(),
            self.response_bytes,
        );
    }
}

pin_project! {
    /// Response body of [`Metrics`](crate::Metrics): counts the bytes it streams and records the
    /// request when it ends.
    pub struct MetricsBody<B> {
        #[pin]
        inner: B,
        completion: Option<Completion>,
    }
}

impl<B> MetricsBody<B> {
    pub(crate) const fn new(inner: B, completion: Option<Completion>) -> Self {
        Self { inner, completion }
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for MetricsBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B> Body for MetricsBody<B>
where
    B: Body,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = {
            let _entered = this
                .completion
                .as_ref()
                .and_then(|c| c.in_flight.span.enter());
            ready!(this.inner.as_mut().poll_frame(cx))
        };
        match &frame {
            Some(Ok(frame)) => {
                if let (Some(data), Some(completion)) = (frame.data_ref(), this.completion.as_mut())
                {
                    completion.response_bytes += data.remaining() as u64;
                }
                if this.inner.is_end_stream() {
                    this.completion.take();
                }
            }
            // The end of the body, or an error that ends it: record now, not at drop.
            None => {
                this.completion.take();
            }
            Some(Err(_)) => {
                if let Some(mut completion) = this.completion.take() {
                    completion.in_flight.span.body_failed();
                    completion.body_failed = true;
                }
            }
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
