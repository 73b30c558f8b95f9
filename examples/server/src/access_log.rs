//! The access log: one line per request, once its response is known, naming the request id,
//! the route and the trace.

use axum::extract::MatchedPath;
use http::{Request, Response};
use rampart::common::{codes, semconv};
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
        let status = response.status().as_u16();
        let trace_id = response
            .extensions()
            .get::<TraceId>()
            .map(tracing::field::display);
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: ACCESS_LOG,
                    status,
                    latency = ?latency,
                    trace_id,
                    "finished processing request"
                )
            };
        }
        match Severity::of(response) {
            Severity::Fault => line!(warn),
            Severity::Answer => line!(info),
            Severity::ClientsChoice => line!(debug),
        }
    }
}

/// How loud a response's access line is. Only a failure nobody chose is a warning: a refusal a
/// rampart layer made (an open breaker, an overload, Redis down and quotas failing closed) is
/// that layer working, and it logs its own change of state once; a 5xx the client asked for
/// (`only-if-cached` with nothing stored) is not a failure at all, and at WARN any client could
/// fill the log at its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    Fault,
    Answer,
    ClientsChoice,
}

impl Severity {
    pub(crate) fn of<B>(response: &Response<B>) -> Self {
        if !response.status().is_server_error() {
            return Self::Answer;
        }
        match semconv::problem_code(response) {
            Some(code) if codes::CLIENT_CHOSEN.contains(&code) => Self::ClientsChoice,
            Some(code) if REFUSALS.contains(&code) => Self::Answer,
            _ => Self::Fault,
        }
    }
}

/// The 5xx refusals of rampart's layers, each counted in its own metric and logged by its
/// layer when its state changes.
const REFUSALS: &[&str] = &[
    codes::CIRCUIT_OPEN,
    codes::OVERLOADED,
    codes::RATE_LIMIT_UNAVAILABLE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use rampart::common::Problem;

    fn problem(status: StatusCode, code: &'static str) -> Response<()> {
        Problem::new(status, code)
            .into_http_response::<()>()
            .map(|_| ())
    }

    #[test]
    fn only_a_failure_nobody_chose_is_a_warning() {
        let plain = |status| Response::builder().status(status).body(()).unwrap();
        assert_eq!(
            Severity::of(&plain(StatusCode::BAD_GATEWAY)),
            Severity::Fault
        );
        assert_eq!(Severity::of(&plain(StatusCode::OK)), Severity::Answer);
        let timeout = problem(StatusCode::GATEWAY_TIMEOUT, codes::REQUEST_TIMEOUT);
        assert_eq!(Severity::of(&timeout), Severity::Fault);
        let open = problem(StatusCode::SERVICE_UNAVAILABLE, codes::CIRCUIT_OPEN);
        assert_eq!(Severity::of(&open), Severity::Answer);
        let cold = problem(StatusCode::GATEWAY_TIMEOUT, codes::CACHE_ONLY_IF_CACHED);
        assert_eq!(Severity::of(&cold), Severity::ClientsChoice);
    }
}
