use http::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tracing::Span;

use crate::body::TracedBody;
use crate::span;

pin_project! {
    /// Response future of [`Trace`](crate::Trace): polls the inner future inside the request
    /// span, and hands the span on to the body, so that it ends when the body does.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // `None` for a disabled span: nothing to enter on each poll.
        span: Option<Span>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, span: Span) -> Self {
        Self {
            inner,
            span: (!span.is_disabled()).then_some(span),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.span.as_ref().map(Span::enter);
            ready!(this.inner.poll(cx))
        };
        let span = this.span.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(span) = &span {
                    span::record_response(span, &response);
                }
                Ok(response.map(|body| TracedBody::new(body, span)))
            }
            Err(error) => {
                if let Some(span) = &span {
                    span::record_error(span);
                }
                Err(error)
            }
        })
    }
}
