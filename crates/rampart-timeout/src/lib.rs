//! A per-request deadline that answers `504 Gateway Timeout` with an RFC 9457 body.
//!
//! [`TimeoutLayer`] gives every request a deadline, the stack's default or its route's own.
//! When the deadline passes before the inner service has produced a response:
//!
//! - the inner future (the handler) is dropped at once, so its work stops;
//! - the client gets `504 Gateway Timeout`, `application/problem+json`, code
//!   `request_timeout`;
//! - `rampart_timeouts_total{http_route}` is incremented, with the route template as label.
//!
//! The deadline covers the time until the response *headers* are ready, which is what a
//! handler timeout means; a response body that streams for longer is not cut off.
//!
//! It bounds the server's work, not the client's upload speed: while the handler waits for the
//! client to send more of the request body, the deadline moves out by that wait (a 20 MB upload
//! at 5 MB/s completes under a 1 s deadline). The client's silence is bounded on its own: no
//! byte of the body for [`TimeoutLayer::body_timeout`] (30 s by default) and the request is
//! answered `408 Request Timeout`, code `request_body_timeout`, with `Connection: close`, and
//! `rampart_request_body_timeouts_total{http_route}` is incremented. A handler that never reads
//! the body is not waiting for it: its deadline runs as usual. This is nginx's
//! `client_body_timeout` and Envoy's stream idle timeout, with Envoy's rule that the route
//! timeout does not count the time the downstream takes to send the request.
//!
//! # Used on its own
//!
//! Outside the rampart `Stack`, the counter goes to the global `metrics` recorder (nothing keeps
//! it unless one is installed) unless the layer is given `.with_recorder(..)`. Add it with
//! `Router::layer` after the routes: routes added afterwards are not covered, and around the
//! whole router (from outside) requests carry no route template.
//!
//! # Why not tower-http's `TimeoutLayer`
//!
//! It answers with an empty body (`408`, or a status of your choosing), has one duration for
//! everything it wraps, and counts nothing. A per-route override cannot be built by nesting it
//! either: the outer, shorter deadline always fires first. This layer looks the deadline up by
//! route template per request instead.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use rampart_timeout::TimeoutLayer;
//! use std::time::Duration;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/slow", get(|| async {
//!         tokio::time::sleep(Duration::from_secs(5)).await;
//!         "done"
//!     }))
//!     .layer(TimeoutLayer::new(Duration::from_secs(1)));
//!
//! let response = app
//!     .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! # }
//! ```

mod body;
mod future;
mod layer;
mod reason;
mod service;

#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use layer::{DEFAULT_BODY_TIMEOUT, TimeoutLayer};
#[doc(inline)]
pub use reason::{BodyTimedOut, TimedOut};
#[doc(inline)]
pub use service::Timeout;
