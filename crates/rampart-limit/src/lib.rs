//! A request body size limit: `Content-Length` over the limit refused before the handler runs,
//! bodies of unknown length counted on the bytes actually read, `413` problem+json either way.
//!
//! axum's `DefaultBodyLimit` covers its extractors only: a handler that reads the `Body` stream
//! (uploads, proxies) has no limit at all. [`RequestBodyLimitLayer`] limits every request that
//! reaches the routes it wraps, per route template:
//!
//! - a `Content-Length` over the limit is answered `413` at once; the handler is never called
//!   and the body never read (a client sending `Expect: 100-continue` sends nothing). A body
//!   within its declared length is not wrapped: the server already holds it to that length.
//! - a body without a length (chunked, HTTP/2 streams) is counted frame by frame. Past the
//!   limit the handler's next read fails with [`BodyTooLarge`], and whatever the handler makes
//!   of that (axum's extractors a `400`, a hand-written handler perhaps a `500`) is replaced by
//!   the `413`: the answer says what happened.
//!
//! The answer is `413 Content Too Large` (RFC 9110 15.5.14), an RFC 9457 problem document with
//! code `body_too_large`, `Cache-Control: no-store`, and [`BodyTooLarge`] in its extensions.
//!
//! # Why not tower-http's `RequestBodyLimitLayer`
//!
//! It does both checks too, but answers `413` with a plain-text body, has one limit for every
//! route, and a body that passes the limit mid-stream only fails the read: the handler decides
//! what the client sees. It also wraps every body, bodiless `GET`s included, in `Limited`, which
//! axum's router then boxes once more per request. This layer keeps the requests without a body
//! or with a declared length as they are.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use http::{Request, StatusCode};
//! use rampart_limit::{BodyTooLarge, RequestBodyLimitLayer};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/notes", post(|body: String| async move { body.len().to_string() }))
//!     .layer(RequestBodyLimitLayer::new(16));
//!
//! let small = Request::post("/notes").body(Body::from("a short note")).unwrap();
//! assert_eq!(app.clone().oneshot(small).await.unwrap().status(), StatusCode::OK);
//!
//! // Declared too long: refused before the handler runs.
//! let declared = Request::post("/notes")
//!     .header("content-length", "1000")
//!     .body(Body::from("x".repeat(1000)))
//!     .unwrap();
//! let response = app.clone().oneshot(declared).await.unwrap();
//! assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! assert_eq!(response.extensions().get::<BodyTooLarge>().map(BodyTooLarge::limit), Some(16));
//!
//! // No length: counted as it is read, and the handler's answer replaced.
//! let chunks = futures_util::stream::iter(["0123456789", "0123456789"].map(Ok::<_, std::io::Error>));
//! let streamed = Request::post("/notes").body(Body::from_stream(chunks)).unwrap();
//! let response = app.oneshot(streamed).await.unwrap();
//! assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
//! assert_eq!(rampart_core::codes::BODY_TOO_LARGE, "body_too_large");
//! assert_eq!(rampart_limit::DEFAULT_LIMIT, 2 * 1024 * 1024);
//! # }
//! ```

mod body;
mod error;
mod future;
mod layer;
mod service;

#[doc(inline)]
pub use error::BodyTooLarge;
#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use layer::RequestBodyLimitLayer;
#[doc(inline)]
pub use service::RequestBodyLimit;

/// The limit of [`RequestBodyLimitLayer::default`]: 2 MiB, as axum's `DefaultBodyLimit`.
pub const DEFAULT_LIMIT: u64 = 2 * 1024 * 1024;
