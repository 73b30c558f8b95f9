//! The request span and its OpenTelemetry HTTP server attributes.

use axum::extract::{ConnectInfo, MatchedPath};
use http::{Request, Response};
use rampart_core::semconv::{self, ErrorType};
use std::net::SocketAddr;
use tracing::Span;
use tracing::field::Empty;

/// The span of one request, named `METHOD /route/template` for OpenTelemetry (`otel.name`),
/// with the attributes of the HTTP server span conventions. Fields that a subscriber does not
/// want are never computed: below `INFO` for target `rampart_trace`, this costs one check.
pub(crate) fn request_span<B>(request: &Request<B>) -> Span {
    // Looked up inside the macro, which evaluates fields only for an enabled span.
    let route = || {
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str)
    };
    let method = || semconv::method(request.method());
    tracing::info_span!(
        target: "rampart_trace",
        "request",
        otel.name = %SpanName { method: method(), route: route() },
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method(),
        http.route = route(),
        url.path = request.uri().path(),
        url.scheme = semconv::url_scheme(request),
        network.protocol.version = semconv::protocol_version(request.version()),
        client.address = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| tracing::field::display(peer.ip())),
        http.response.status_code = Empty,
        error.type = Empty,
        trace_id = Empty,
    )
}

/// Records how the request was answered: the status, and for an error (a 5xx, or an answer a
/// rampart layer made itself) its `error.type`: the layer's problem code, else the status.
pub(crate) fn record_response<B>(span: &Span, response: &Response<B>) {
    let status = response.status();
    // As i64: OpenTelemetry has no unsigned integers, and tracing-opentelemetry writes a u64 as text.
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if let Some(error) = ErrorType::of_answer(status, semconv::problem_code(response)) {
        span.record("error.type", error.as_str());
    }
    // A 4xx is the client's error, not the server span's (semantic conventions, status).
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
}

/// Records a request the service failed with an error instead of a response.
pub(crate) fn record_error(span: &Span) {
    span.record("error.type", ErrorType::Other.as_str());
    span.record("otel.status_code", "error");
}

/// `{method} {route}`, or `HTTP` for a made-up method, or just the method without a route
/// (never the raw path: it would give every URL a span name of its own).
struct SpanName<'a> {
    method: &'static str,
    route: Option<&'a str>,
}

impl std::fmt::Display for SpanName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let method = if self.method == "_OTHER" {
            "HTTP"
        } else {
            self.method
        };
        match self.route {
            Some(route) => write!(f, "{method} {route}"),
            None => f.write_str(method),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_names_never_hold_a_raw_path_or_a_made_up_method() {
        let name = |method, route| SpanName { method, route }.to_string();
        assert_eq!(name("GET", Some("/api/items/{id}")), "GET /api/items/{id}");
        assert_eq!(name("POST", None), "POST");
        assert_eq!(
            name(
                semconv::method(&http::Method::from_bytes(b"BREW").unwrap()),
                None
            ),
            "HTTP"
        );
    }
}
