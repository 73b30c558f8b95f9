use http::{HeaderValue, Response, header};
use http_body::Body;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower_http::compression::CompressionBody;

use crate::CompressiblePredicate;
use crate::mark::{EncodedUpstream, MarkEncodedFuture};

type Inner<F> =
    tower_http::compression::ResponseFuture<MarkEncodedFuture<F>, CompressiblePredicate>;

pin_project! {
    /// Response future of [`Compression`](crate::Compression).
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: Inner<F>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<CompressionBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(self.project().inner.poll(cx))?;
        let encoded_here = response.headers().contains_key(header::CONTENT_ENCODING)
            && response
                .extensions_mut()
                .remove::<EncodedUpstream>()
                .is_none();
        if encoded_here {
            weaken_etag(response.headers_mut());
        }
        Poll::Ready(Ok(response))
    }
}

/// `"v1"` becomes `W/"v1"`; weak validators and garbage are left alone.
fn weaken_etag(headers: &mut http::HeaderMap) {
    let Some(etag) = headers.get(header::ETAG) else {
        return;
    };
    let bytes = etag.as_bytes();
    if bytes.first() != Some(&b'"') {
        return;
    }
    let mut weak = Vec::with_capacity(bytes.len() + 2);
    weak.extend_from_slice(b"W/");
    weak.extend_from_slice(bytes);
    if let Ok(value) = HeaderValue::from_bytes(&weak) {
        headers.insert(header::ETAG, value);
    }
}

#[cfg(test)]
mod tests {
    use super::weaken_etag;
    use http::{HeaderMap, HeaderValue, header};

    fn weakened(etag: &'static str) -> HeaderValue {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, HeaderValue::from_static(etag));
        weaken_etag(&mut headers);
        headers[header::ETAG].clone()
    }

    #[test]
    fn strong_becomes_weak_and_weak_stays() {
        assert_eq!(weakened("\"v1\""), "W/\"v1\"");
        assert_eq!(weakened("W/\"v1\""), "W/\"v1\"");
        assert_eq!(weakened("garbage"), "garbage");
    }
}
