use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use rampart_core::deadline::BodyWait;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pin_project! {
    /// A request body that marks the time the service spends waiting for the client to send
    /// more of it: the deadline moves out by it, and a wait longer than the body timeout is
    /// answered `408`.
    pub(crate) struct WatchedBody<B> {
        #[pin]
        body: B,
        wait: Waiting,
    }
}

/// Ends a wait in progress when the body is dropped: a handler that gives up on the body stops
/// moving the deadline.
struct Waiting(Arc<BodyWait>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.stop();
    }
}

impl<B> WatchedBody<B> {
    pub(crate) const fn new(body: B, wait: Arc<BodyWait>) -> Self {
        Self {
            body,
            wait: Waiting(wait),
        }
    }
}

impl<B: Body<Data = Bytes>> Body for WatchedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let polled = this.body.poll_frame(cx);
        if polled.is_pending() {
            this.wait.0.start();
        } else {
            this.wait.0.stop();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
