use http::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::RequestSpan;
use crate::body::TracedBody;

pin_project! {
    /// Response future of [`Trace`](crate::Trace): polls the inner future inside the request
    /// span, and hands the span on to the body, so that it ends when the body does.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: F,
        pub(crate) span: RequestSpan,
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
            let _entered = this.span.enter();
            ready!(this.inner.poll(cx))
        };
        let span = std::mem::take(this.span);
        Poll::Ready(match result {
            Ok(mut response) => {
                span.answered(&mut response);
                Ok(response.map(|body| TracedBody::new(body, span)))
            }
            Err(error) => {
                span.failed();
                Err(error)
            }
        })
    }
}
