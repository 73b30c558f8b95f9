use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use std::borrow::Cow;
use std::time::Duration;

use crate::ResponseBody;

/// The media type of an RFC 9457 problem details body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details response that a layer sends on its own.
///
/// The body carries `type` (always `about:blank`, so `title` is the status's reason phrase as
/// the RFC asks), `title`, `status`, `detail`, and one extension member, `code`: a stable,
/// machine-readable name for *why* rampart answered (`request_timeout`, `rate_limited`, ...),
/// because two different layers may answer with the same status.
///
/// Every problem response also says `Cache-Control: no-store`: a synthetic error must never be
/// kept by a cache in front of the service.
///
/// # Example
///
/// ```
/// use http::StatusCode;
/// use rampart_core::Problem;
///
/// let response = Problem::new(StatusCode::GATEWAY_TIMEOUT, "request_timeout")
///     .with_detail("the request did not complete within 1s")
///     .into_http_response::<String>();
/// assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// assert_eq!(response.headers()["cache-control"], "no-store");
///
/// let busy = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded")
///     .with_retry_after(std::time::Duration::from_millis(1500));
/// assert_eq!(busy.retry_after(), Some(std::time::Duration::from_millis(1500)));
/// let response = busy.into_http_response::<String>();
/// assert_eq!(response.headers()["retry-after"], "2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: Option<Cow<'static, str>>,
    retry_after: Option<Duration>,
}

#[derive(Serialize)]
struct ProblemDocument<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    code: &'a str,
}

impl Problem {
    /// A problem with the given status and stable machine-readable `code`.
    #[must_use]
    pub const fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            detail: None,
            retry_after: None,
        }
    }

    /// Tells the client when to try again: `Retry-After` in whole seconds, rounded up, at
    /// least 1 (RFC 9110 10.2.3; a client told `0` would retry at once).
    #[must_use]
    pub const fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// When the client is told to try again, if it is.
    pub const fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Sets the human-readable explanation specific to this occurrence.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The HTTP status of the problem.
    pub const fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable machine-readable code of the problem.
    pub const fn code(&self) -> &'static str {
        self.code
    }

    /// The detail, if one was set.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The JSON document of the problem.
    pub fn to_json(&self) -> Bytes {
        let document = ProblemDocument {
            kind: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Unknown Status"),
            status: self.status.as_u16(),
            detail: self.detail.as_deref(),
            code: self.code,
        };
        // Serializing a struct of strings and an integer into memory cannot fail.
        serde_json::to_vec(&document).map_or_else(|_| Bytes::new(), Bytes::from)
    }

    /// The problem as a response whose body type fits any layer over an inner body `B`. The
    /// `Problem` itself rides along in the response's extensions.
    ///
    /// Handlers can return the `Problem` itself instead: it implements axum's `IntoResponse`.
    pub fn into_http_response<B>(self) -> Response<ResponseBody<B>> {
        let mut response = Response::new(ResponseBody::synthetic(self.to_json()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(wait) = self.retry_after {
            let seconds = crate::whole_seconds_up(wait).max(1);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // For whoever writes these answers in another format (`rampart::ProblemFormatLayer`).
        response.extensions_mut().insert(self);
        response
    }
}

impl Problem {
    /// `408 Request Timeout` for a request body that stopped coming, or came too slowly:
    /// `detail` is `reason`'s text, the connection closes with the rest of the body unread
    /// (RFC 9110 15.5.9), and `reason`, the deciding layer's own type, rides in the
    /// extensions. The server's minimum body rate and the timeout layer's body timeout answer
    /// with it.
    ///
    /// ```
    /// use rampart_core::Problem;
    ///
    /// let response = Problem::request_body_timeout::<String, _>("request_body_timeout", "no byte in 30s");
    /// assert_eq!(response.status(), 408);
    /// assert_eq!(response.headers()["connection"], "close");
    /// assert_eq!(response.extensions().get::<&str>(), Some(&"no byte in 30s"));
    /// ```
    pub fn request_body_timeout<B, R>(code: &'static str, reason: R) -> Response<ResponseBody<B>>
    where
        R: std::fmt::Display + Clone + Send + Sync + 'static,
    {
        let mut response = Self::new(StatusCode::REQUEST_TIMEOUT, code)
            .with_detail(reason.to_string())
            .into_http_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response.extensions_mut().insert(reason);
        response
    }
}

/// Lets a handler return a `Problem` directly.
///
/// ```
/// use axum::{Router, routing::get};
/// use http::StatusCode;
/// use rampart_core::Problem;
///
/// async fn handler() -> Result<&'static str, Problem> {
///     Err(Problem::new(StatusCode::BAD_REQUEST, "bad_request").with_detail("id must be a number"))
/// }
/// let app: Router = Router::new().route("/", get(handler));
/// ```
impl axum::response::IntoResponse for Problem {
    fn into_response(self) -> axum::response::Response {
        self.into_http_response::<axum::body::Body>()
            .map(axum::body::Body::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn body_is_an_rfc_9457_document() {
        let response = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            .with_detail("quota of 10 per second exceeded")
            .into_http_response::<String>();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "about:blank",
                "title": "Too Many Requests",
                "status": 429,
                "detail": "quota of 10 per second exceeded",
                "code": "rate_limited",
            })
        );
    }

    #[test]
    fn detail_is_omitted_when_absent() {
        let json = Problem::new(StatusCode::BAD_REQUEST, "bad_request").to_json();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert!(value.get("detail").is_none());
    }

    #[test]
    fn detail_is_escaped() {
        let json = Problem::new(StatusCode::BAD_REQUEST, "bad_request")
            .with_detail("a \"quoted\"\nvalue")
            .to_json();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["detail"], "a \"quoted\"\nvalue");
    }
}
