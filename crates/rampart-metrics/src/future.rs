use http::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::time::Instant;

use rampart_core::semconv::{self, ErrorType};
use rampart_core::upgrade::UpgradeGuard;
use rampart_trace::RequestSpan;

use crate::body::{Completion, MetricsBody};
use crate::handles::{Answer, RouteHandles};
use crate::request_size::RequestSize;

/// A request between its arrival and the end of its response body.
///
/// Dropping it, wherever it is (the response future dropped by a disconnecting client, or the
/// body dropped half-sent), takes the request out of the in-flight gauge.
pub(crate) struct InFlight {
    pub(crate) handles: Arc<RouteHandles>,
    pub(crate) start: Instant,
    pub(crate) request_size: RequestSize,
    // Empty unless `MetricsLayer::request_span`; it ends with the request.
    pub(crate) span: RequestSpan,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.handles.active.decrement(1.0);
    }
}

pin_project! {
    /// Response future of [`Metrics`](crate::Metrics).
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: F,
        pub(crate) in_flight: Option<InFlight>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<MetricsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this
                .in_flight
                .as_ref()
                .and_then(|in_flight| in_flight.span.enter());
            ready!(this.inner.poll(cx))
        };
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(in_flight) = this.in_flight.as_ref() {
                    in_flight.span.failed();
                }
                return Poll::Ready(Err(error));
            }
        };
        let status = response.status();
        let error = ErrorType::of_answer(status, semconv::problem_code(&response));
        let status = status.as_u16();
        let completion = this.in_flight.take().map(|in_flight| {
            let answer = in_flight.handles.slot(Answer { status, error });
            in_flight.span.answered(&mut response);
            in_flight.handles.check_routed(status);
            if status == 101 {
                // The exchange ends here; the socket lives on. The server keeps this guard
                // until it closes.
                let open = in_flight.handles.upgraded();
                response.extensions_mut().insert(UpgradeGuard::new(open));
            }
            Completion {
                in_flight,
                answer,
                body_failed: false,
                response_bytes: 0,
            }
        });
        Poll::Ready(Ok(response.map(|body| MetricsBody::new(body, completion))))
    }
}
