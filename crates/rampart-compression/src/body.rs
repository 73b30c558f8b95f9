use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower_http::compression::CompressionBody;

use crate::fuse::Fused;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// Response body of [`Compression`](crate::Compression): the inner body untouched, or
    /// tower-http's encoding body, boxed.
    ///
    /// tower-http's `CompressionBody` holds every encoder's state inline (about 6 KB), and every
    /// layer above moves the response it is part of. Boxing it, and skipping it entirely when
    /// the client accepts no encoding, keeps the response small for every layer above.
    pub struct CompressedBody<B>
    where
        B: Body,
    {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B>
    where
        B: Body,
    {
        Plain { #[pin] body: B },
        Encoded { body: Pin<Box<CompressionBody<Fused<B>>>> },
    }
}

impl<B: Body> CompressedBody<B> {
    pub(crate) const fn plain(body: B) -> Self {
        Self {
            kind: Kind::Plain { body },
        }
    }

    pub(crate) fn encoded(body: CompressionBody<Fused<B>>) -> Self {
        Self {
            kind: Kind::Encoded {
                body: Box::pin(body),
            },
        }
    }
}

impl<B: Body> fmt::Debug for CompressedBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Plain { .. } => "plain",
            Kind::Encoded { .. } => "encoded",
        };
        f.debug_struct("CompressedBody")
            .field("kind", &kind)
            .finish()
    }
}

impl<B> Body for CompressedBody<B>
where
    B: Body,
    B::Data: Buf,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Plain { body } => {
                let frame = ready!(body.poll_frame(cx));
                Poll::Ready(frame.map(|frame| {
                    frame
                        .map(|frame| {
                            frame.map_data(|mut data| data.copy_to_bytes(data.remaining()))
                        })
                        .map_err(Into::into)
                }))
            }
            KindProj::Encoded { body } => body.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Plain { body } => body.is_end_stream(),
            Kind::Encoded { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Plain { body } => body.size_hint(),
            Kind::Encoded { body } => body.size_hint(),
        }
    }
}
