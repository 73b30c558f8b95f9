use http::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tracing::Span;

use crate::body::TracedBody;
use crate::{TraceId, span};

pin_project! {
    /// Response future of [`Trace`](crate::Trace): polls the inner future inside the request
    /// span, and hands the span on to the body, so that it ends when the body does.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: F,
        // `None` for a disabled span: nothing to enter on each poll.
        pub(crate) traced: Option<Traced>,
    }
}

/// An enabled request span and the trace it belongs to.
#[derive(Debug)]
pub(crate) struct Traced {
    pub(crate) span: Span,
    pub(crate) trace_id: TraceId,
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.traced.as_ref().map(|traced| traced.span.enter());
            ready!(this.inner.poll(cx))
        };
        let Some(Traced { span, trace_id }) = this.traced.take() else {
            return Poll::Ready(
                result.map(|response| response.map(|body| TracedBody::new(body, None))),
            );
        };
        Poll::Ready(match result {
            Ok(mut response) => {
                span::record_response(&span, &response);
                // For an access log outside this layer, written once the response is known.
                response.extensions_mut().insert(trace_id);
                Ok(response.map(|body| TracedBody::new(body, Some(span))))
            }
            Err(error) => {
                span::record_error(&span);
                Err(error)
            }
        })
    }
}
