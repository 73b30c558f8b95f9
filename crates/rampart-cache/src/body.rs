use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use rampart_core::ResponseBody;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::storing::Pending;

pin_project! {
    /// The body of a response that went through the cache: the inner body untouched, stored
    /// bytes (shared, never copied per hit), or frames the cache read ahead followed by the
    /// rest of the inner body.
    ///
    /// # Example
    ///
    /// ```
    /// use http_body::Body;
    /// use rampart_cache::CacheBody;
    ///
    /// let body = CacheBody::<String>::stored(bytes::Bytes::from_static(b"cached"));
    /// assert_eq!(body.size_hint().exact(), Some(6));
    /// ```
    pub struct CacheBody<B: Body> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B: Body> {
        // The inner body or stored bytes: what every rampart layer's body already does.
        Plain { #[pin] body: ResponseBody<B> },
        // Frames read while deciding whether to store, then the rest of the body, or the
        // error that stopped the reading.
        // Boxed: only responses the cache read ahead and then could not store take this path.
        ReadAhead {
            frames: VecDeque<Frame<Bytes>>,
            rest: Option<Pin<Box<B>>>,
            error: Option<B::Error>,
        },
        // The inner body, copied as it passes and stored when it ends; `None` once stored or
        // given up.
        Storing {
            #[pin]
            body: B,
            pending: Option<Box<Pending>>,
        },
    }
}

impl<B: Body> CacheBody<B> {
    /// The inner body, untouched.
    pub const fn inner(body: B) -> Self {
        Self {
            kind: Kind::Plain {
                body: ResponseBody::new(body),
            },
        }
    }

    /// Stored bytes.
    pub const fn stored(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Plain {
                body: ResponseBody::synthetic(bytes),
            },
        }
    }

    /// Frames already read, then `rest` (if the body had not ended) or `error`.
    pub(crate) const fn read_ahead(
        frames: VecDeque<Frame<Bytes>>,
        rest: Option<Pin<Box<B>>>,
        error: Option<B::Error>,
    ) -> Self {
        Self {
            kind: Kind::ReadAhead {
                frames,
                rest,
                error,
            },
        }
    }
}

impl<B: Body<Data = Bytes>> CacheBody<B> {
    /// The inner body, stored by `pending` once it has all passed.
    pub(crate) fn storing(body: B, pending: Pending) -> Self {
        if body.is_end_stream() {
            // Nothing will be polled: the (empty) body is complete now.
            pending.finish();
            return Self::inner(body);
        }
        Self {
            kind: Kind::Storing {
                body,
                pending: Some(Box::new(pending)),
            },
        }
    }
}

impl<B: Body> fmt::Debug for CacheBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Plain { .. } => "plain",
            Kind::ReadAhead { .. } => "read ahead",
            Kind::Storing { .. } => "storing",
        };
        f.debug_struct("CacheBody").field("kind", &kind).finish()
    }
}

impl<B> Body for CacheBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Plain { body } => body.poll_frame(cx),
            KindProj::ReadAhead {
                frames,
                rest,
                error,
            } => {
                if let Some(frame) = frames.pop_front() {
                    return Poll::Ready(Some(Ok(frame)));
                }
                if let Some(error) = error.take() {
                    return Poll::Ready(Some(Err(error)));
                }
                match rest {
                    Some(rest) => rest.as_mut().poll_frame(cx),
                    None => Poll::Ready(None),
                }
            }
            KindProj::Storing { mut body, pending } => {
                let polled = body.as_mut().poll_frame(cx);
                let Some(copying) = pending.as_mut() else {
                    return polled;
                };
                match &polled {
                    Poll::Pending => {}
                    Poll::Ready(None) => {
                        if let Some(pending) = pending.take() {
                            pending.finish();
                        }
                    }
                    Poll::Ready(Some(Ok(frame))) => {
                        let copied = frame.data_ref().is_some_and(|data| copying.copy(data));
                        if !copied {
                            // Over the limit, or trailers (which an entry does not keep).
                            if let Some(pending) = pending.take() {
                                pending.refuse();
                            }
                        } else if body.is_end_stream() {
                            // The server will not poll again for the end.
                            if let Some(pending) = pending.take() {
                                pending.finish();
                            }
                        }
                    }
                    Poll::Ready(Some(Err(_))) => {
                        if let Some(pending) = pending.take() {
                            pending.refuse();
                        }
                    }
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Plain { body } => body.is_end_stream(),
            Kind::ReadAhead {
                frames,
                rest,
                error,
            } => {
                frames.is_empty()
                    && error.is_none()
                    && rest.as_ref().is_none_or(|rest| rest.is_end_stream())
            }
            Kind::Storing { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Plain { body } => body.size_hint(),
            Kind::ReadAhead { frames, rest, .. } => {
                let read: u64 = frames
                    .iter()
                    .filter_map(Frame::data_ref)
                    .map(|data| data.len() as u64)
                    .sum();
                let hint = rest
                    .as_ref()
                    .map_or_else(|| SizeHint::with_exact(0), |rest| rest.size_hint());
                let upper = hint.upper().map(|upper| upper + read);
                let mut total = SizeHint::new();
                total.set_lower(hint.lower() + read);
                if let Some(upper) = upper {
                    total.set_upper(upper);
                }
                total
            }
            Kind::Storing { body, .. } => body.size_hint(),
        }
    }
}
