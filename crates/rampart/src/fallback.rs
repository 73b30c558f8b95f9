//! Problem+json answers for the requests a router itself refuses, so that every answer a client
//! gets from the stack's side of the service has one format.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app: Router = Router::new()
//!     .route("/api/items", get(|| async { "items" }))
//!     .fallback(rampart::fallback::not_found)
//!     // Applies to the routes above; axum still adds the `Allow` header.
//!     .method_not_allowed_fallback(rampart::fallback::method_not_allowed);
//!
//! let missing = app.clone().oneshot(Request::get("/nope").body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(missing.status(), StatusCode::NOT_FOUND);
//! assert_eq!(missing.headers()["content-type"], "application/problem+json");
//!
//! let post = app.oneshot(Request::post("/api/items").body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
//! assert_eq!(post.headers()["allow"], "GET,HEAD");
//! assert_eq!(post.headers()["content-type"], "application/problem+json");
//! # }
//! ```

use http::StatusCode;
use rampart_core::{Problem, codes};

/// `404 Not Found`, code `not_found`: for `Router::fallback`.
pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, codes::NOT_FOUND).with_detail("no route matches this path")
}

/// `405 Method Not Allowed`, code `method_not_allowed`: for
/// `Router::method_not_allowed_fallback` (axum adds `Allow`).
pub async fn method_not_allowed() -> Problem {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED, codes::METHOD_NOT_ALLOWED)
        .with_detail("this route does not answer that method; see the Allow header")
}
