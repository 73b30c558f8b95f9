//! What the timeout tests share: sending a request through a router and reading the answer.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Sends `request` through `app`: the status, the headers and the whole body as text.
pub(crate) async fn answer(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a whole body").to_bytes();
    let text = String::from_utf8(body.to_vec()).expect("a text body");
    (parts.status, parts.headers, text)
}
