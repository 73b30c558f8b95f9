//! The access log: one line per request, once its response is known, naming the request id,
//! the route and the trace.

use axum::extract::MatchedPath;
use http::{Request, Response};
use rampart::trace::TraceId;
use std::time::Duration;
use tower_http::trace::OnResponse;
use tracing::Span;

use crate::request_id::X_REQUEST_ID;

/// The target of the access log's span and lines.
pub const ACCESS_LOG: &str = "example_server::access";

/// The access-log span, around the stack (and so around its request span): what a client's
/// request was, so that every line written while serving it says so.
pub(crate) fn span<B>(request: &Request<B>) -> Span {
    // Looked up inside the macro, which evaluates fields only when the span is enabled: below
    // `info` a request pays nothing for them.
    tracing::info_span!(
        target: ACCESS_LOG,
        "access",
        request_id = %request
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(|id| id.to_str().ok())
            .unwrap_or_default(),
        http.route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    )
}

/// The line written when the response's head is ready: its status, the time taken, and the
/// trace, which the stack's request span (inside this layer) put in the response's extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccessLine;

impl<B> OnResponse<B> for AccessLine {
    fn on_response(self, response: &Response<B>, latency: Duration, _: &Span) {
        tracing::info!(
            target: ACCESS_LOG,
            status = response.status().as_u16(),
            latency = ?latency,
            trace_id = response.extensions().get::<TraceId>().map(tracing::field::display),
            "finished processing request"
        );
    }
}
