use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// The body of a layer that either passes its inner service's body through or answers with
    /// bytes of its own (a problem document).
    ///
    /// An enum instead of a boxed body, so that wrapping a service in a rampart layer costs no
    /// allocation per response.
    ///
    /// # Example
    ///
    /// ```
    /// use http_body::Body;
    /// use rampart_core::ResponseBody;
    ///
    /// let inner = ResponseBody::new(String::from("from the handler"));
    /// assert_eq!(inner.size_hint().exact(), Some(16));
    /// let own = ResponseBody::<String>::synthetic("from the layer".into());
    /// assert_eq!(own.size_hint().exact(), Some(14));
    /// ```
    #[derive(Debug)]
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Synthetic { bytes: Option<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    /// Passes the inner body through.
    pub const fn new(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    /// A body made by the layer itself.
    pub const fn synthetic(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Synthetic { bytes: Some(bytes) },
        }
    }
}

impl<B> Default for ResponseBody<B> {
    fn default() -> Self {
        Self::synthetic(Bytes::new())
    }
}

impl<B> Body for ResponseBody<B>
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
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Synthetic { bytes } => Poll::Ready(
                bytes
                    .take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Synthetic { bytes } => bytes.as_ref().is_none_or(Bytes::is_empty),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Synthetic { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn synthetic_body_yields_its_bytes_once() {
        let body = ResponseBody::<String>::synthetic(Bytes::from_static(b"abc"));
        assert!(!body.is_end_stream());
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected, "abc");
    }

    #[tokio::test]
    async fn inner_body_passes_through() {
        let body = ResponseBody::new(String::from("inner"));
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected, "inner");
    }

    #[test]
    fn empty_synthetic_body_is_at_end() {
        assert!(ResponseBody::<String>::default().is_end_stream());
    }
}
