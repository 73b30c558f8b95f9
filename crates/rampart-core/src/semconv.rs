//! The values of OpenTelemetry's HTTP server attributes, as both the request span
//! (`rampart-trace`) and the request metrics (`rampart-metrics`) write them.
//!
//! Every function returns one of a small, fixed set of `'static` strings, whatever the client
//! sent: a metric label made from them cannot grow with the requests, and a span or log line
//! never carries a made-up method or scheme.
//!
//! # Example
//!
//! ```
//! use http::{Method, Request, Response, StatusCode, Version};
//! use rampart_core::semconv::{self, ErrorType};
//! use rampart_core::{Problem, codes};
//!
//! assert_eq!(semconv::method(&Method::PATCH), "PATCH");
//! assert_eq!(semconv::method(&Method::from_bytes(b"BREW").unwrap()), "_OTHER");
//! assert_eq!(semconv::METHODS[semconv::method_index(&Method::GET)], "GET");
//! assert_eq!(semconv::protocol_version(Version::HTTP_2), "2");
//! assert_eq!(semconv::PROTOCOL_VERSIONS[semconv::protocol_version_index(Version::HTTP_10)], "1.0");
//!
//! let request = Request::get("/").body(()).unwrap();
//! assert_eq!(semconv::url_scheme(&request), "http");
//! // The request line's scheme is the client's word: not read.
//! let request = Request::get("https://example.com/").body(()).unwrap();
//! assert_eq!(semconv::url_scheme(&request), "http");
//! let mut request = Request::get("/").body(()).unwrap();
//! request.extensions_mut().insert(semconv::ConnectionScheme::Https);
//! assert_eq!(semconv::url_scheme(&request), "https");
//! assert_eq!(semconv::URL_SCHEMES[semconv::url_scheme_index(&request)], "https");
//!
//! let refused = Problem::new(StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED).into_http_response::<()>();
//! let code = semconv::problem_code(&refused);
//! assert_eq!(code, Some("rate_limited"));
//! let refusal = ErrorType::of_answer(StatusCode::TOO_MANY_REQUESTS, code).unwrap();
//! assert_eq!(refusal, ErrorType::Problem("rate_limited"));
//! assert_eq!(refusal.as_str(), "rate_limited");
//! let failed = ErrorType::of_answer(StatusCode::BAD_GATEWAY, None).unwrap();
//! assert_eq!(failed.as_str(), "502");
//! assert_eq!(ErrorType::of_answer(StatusCode::NOT_FOUND, None), None);
//! assert_eq!(ErrorType::ResponseBody.as_str(), "response_body");
//! assert_eq!(ErrorType::Other.as_str(), "_OTHER");
//! let ok = Response::new(());
//! assert_eq!(semconv::problem_code(&ok), None);
//! ```

use http::{Method, Request, Response, StatusCode, Version};

use crate::Problem;

/// The method labels: RFC 9110's eight, PATCH, and `_OTHER` for any other.
pub const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER",
];

/// The index of a method's label in [`METHODS`]; unknown methods fold into `_OTHER`, so a
/// client inventing methods cannot invent labels or span names.
pub fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}

/// `http.request.method`: the method, or `_OTHER`.
pub fn method(method: &Method) -> &'static str {
    METHODS[method_index(method)]
}

/// The `network.protocol.version` values.
pub const PROTOCOL_VERSIONS: [&str; 5] = ["1.1", "2", "1.0", "3", "0.9"];

/// The index of a version's name in [`PROTOCOL_VERSIONS`].
pub const fn protocol_version_index(version: Version) -> usize {
    match version {
        Version::HTTP_2 => 1,
        Version::HTTP_10 => 2,
        Version::HTTP_3 => 3,
        Version::HTTP_09 => 4,
        _ => 0,
    }
}

/// `network.protocol.version`: `1.1`, `2`, `1.0`, `3` or `0.9`.
pub const fn protocol_version(version: Version) -> &'static str {
    PROTOCOL_VERSIONS[protocol_version_index(version)]
}

/// The `url.scheme` values.
pub const URL_SCHEMES: [&str; 2] = ["http", "https"];

/// How the connection a request came on was made, as the server that accepted it knows: a
/// request extension. A TLS acceptor inserts [`ConnectionScheme::Https`]; a request without one
/// came over plain TCP. The request line is never read for it: an HTTP/1 client can write
/// `GET https://host/ HTTP/1.1` (absolute form) and an HTTP/2 client any `:scheme` it likes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ConnectionScheme {
    /// Plain TCP.
    #[default]
    Http,
    /// TLS.
    Https,
}

/// The index of a request's scheme in [`URL_SCHEMES`]: `https` when its
/// [`ConnectionScheme`] extension says so, else `http` (a proxy's `X-Forwarded-Proto` is the
/// client's word, not taken).
pub fn url_scheme_index<B>(request: &Request<B>) -> usize {
    match request.extensions().get::<ConnectionScheme>() {
        Some(ConnectionScheme::Https) => 1,
        _ => 0,
    }
}

/// `url.scheme`: `http` or `https`, as [`url_scheme_index`] decides.
pub fn url_scheme<B>(request: &Request<B>) -> &'static str {
    URL_SCHEMES[url_scheme_index(request)]
}

/// The `code` of the problem a rampart layer answered with itself, if it did.
pub fn problem_code<B>(response: &Response<B>) -> Option<&'static str> {
    response.extensions().get::<Problem>().map(Problem::code)
}

/// `error.type`: why a request failed, from a fixed set of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorType {
    /// A rampart layer answered itself: its problem code (`rate_limited`, `circuit_open`).
    Problem(&'static str),
    /// The service answered with this 5xx status.
    Status(StatusCode),
    /// The response body failed after its head was sent: `response_body`.
    ResponseBody,
    /// The service failed with an error instead of a response: `_OTHER`.
    Other,
}

impl ErrorType {
    /// The error type of an answer: the problem code when a layer answered itself (a 429
    /// `rate_limited` too: which layer refused is what a reader needs), else the status of a
    /// 5xx, else none (a 4xx a handler made is the client's error, not the server's).
    pub fn of_answer(status: StatusCode, problem: Option<&'static str>) -> Option<Self> {
        match problem {
            Some(code) => Some(Self::Problem(code)),
            None if status.is_server_error() => Some(Self::Status(status)),
            None => None,
        }
    }

    /// The attribute's (and label's) value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Problem(code) => code,
            Self::Status(status) => status.as_str(),
            Self::ResponseBody => "response_body",
            Self::Other => "_OTHER",
        }
    }
}
