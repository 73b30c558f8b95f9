//! The body tower-http's encoder reads: never polled again once it has ended.
//!
//! tower-http 0.7's `BodyIntoStream` polls its body once more after the body returned `None`
//! (tower-http issue #732; the fix, PR #734, is not merged). A body over a stream that is not
//! fused, such as axum's `Body::from_stream(futures::stream::unfold(..))`, then panics while the
//! response streams: the panic layer cannot catch it, the connection is cut, and the last chunk
//! and the encoder's trailer never reach the client. http-body-util's `Fuse` does the same for
//! `Unpin` bodies only; this one takes any body without boxing it.

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

pin_project! {
    /// `body`, answering `None` without polling it once it has ended or failed.
    #[derive(Debug)]
    pub(crate) struct Fused<B> {
        #[pin]
        body: B,
        ended: bool,
    }
}

impl<B> Fused<B> {
    pub(crate) const fn new(body: B) -> Self {
        Self { body, ended: false }
    }
}

impl<B: Body> Body for Fused<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        let frame = ready!(this.body.poll_frame(cx));
        *this.ended = !matches!(frame, Some(Ok(_)));
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.ended {
            SizeHint::with_exact(0)
        } else {
            self.body.size_hint()
        }
    }
}
