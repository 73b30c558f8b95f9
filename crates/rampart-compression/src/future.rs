use http::{HeaderValue, Response, header};
use http_body::Body;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower_http::compression::Predicate;

use crate::mark::{EncodedUpstream, MarkEncodedFuture};
use crate::{CompressedBody, CompressiblePredicate};

type Encoding<F> =
    tower_http::compression::ResponseFuture<MarkEncodedFuture<F>, CompressiblePredicate>;

pin_project! {
    /// Response future of [`Compression`](crate::Compression).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        // The client accepts no encoding: tower-http is not involved at all.
        Plain { #[pin] inner: F, predicate: CompressiblePredicate },
        Encoded { #[pin] inner: Encoding<F> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn plain(inner: F, predicate: CompressiblePredicate) -> Self {
        Self {
            kind: Kind::Plain { inner, predicate },
        }
    }

    pub(crate) const fn encoded(inner: Encoding<F>) -> Self {
        Self {
            kind: Kind::Encoded { inner },
        }
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
    type Output = Result<Response<CompressedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Plain { inner, predicate } => {
                let mut response = ready!(inner.poll(cx))?;
                // Caches must still learn that this response has encoded siblings.
                if !response.headers().contains_key(header::CONTENT_ENCODING)
                    && predicate.should_compress(&response)
                    && !varies_on_accept_encoding(response.headers())
                {
                    response
                        .headers_mut()
                        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
                }
                Poll::Ready(Ok(response.map(CompressedBody::plain)))
            }
            KindProj::Encoded { inner } => {
                let mut response = ready!(inner.poll(cx))?;
                let encoded_here = response.headers().contains_key(header::CONTENT_ENCODING)
                    && response
                        .extensions_mut()
                        .remove::<EncodedUpstream>()
                        .is_none();
                if encoded_here {
                    weaken_etag(response.headers_mut());
                }
                Poll::Ready(Ok(response.map(CompressedBody::encoded)))
            }
        }
    }
}

fn varies_on_accept_encoding(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|name| {
            let name = name.trim();
            name == "*" || name.eq_ignore_ascii_case("accept-encoding")
        })
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
