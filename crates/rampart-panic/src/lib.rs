//! Turns a panic in the inner service into `500 Internal Server Error` with an RFC 9457 body.
//!
//! [`CatchPanicLayer`] catches a panic raised while the inner service is called or while its
//! response future is polled, logs it with `tracing` (message and route template), increments
//! `rampart_panics_total{http_route}`, and answers `500` with code `internal_error`. The panic
//! message is never sent to the client.
//!
//! A panic while the response *body* streams is not caught: the headers are already sent by
//! then, and the connection is closed, as hyper does for any body error.
//!
//! # Used on its own
//!
//! Outside the rampart `Stack`, the counter goes to the global `metrics` recorder (nothing keeps
//! it unless one is installed) unless the layer is given `.with_recorder(..)`. Add it with
//! `Router::layer` after the routes: routes added afterwards are not covered, and around the
//! whole router (from outside) requests carry no route template.
//!
//! # Why not tower-http's `CatchPanicLayer`
//!
//! It boxes every response body (`UnsyncBoxBody`) to make room for its own answer: one
//! allocation per request, panic or not. This layer uses [`rampart_core::ResponseBody`], an
//! enum, and costs nothing on the path that does not panic.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use rampart_panic::CatchPanicLayer;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! async fn buggy() -> &'static str {
//!     panic!("index out of bounds")
//! }
//!
//! let app = Router::new()
//!     .route("/buggy", get(buggy))
//!     .layer(CatchPanicLayer::new());
//! let response = app
//!     .oneshot(Request::get("/buggy").body(Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! # }
//! ```

mod future;
mod layer;
mod reason;
mod service;

#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use layer::CatchPanicLayer;
#[doc(inline)]
pub use reason::PanicCaught;
#[doc(inline)]
pub use service::CatchPanic;
