//! A circuit breaker for Tower services, with resilience4j's semantics and a lock-free
//! admission path.
//!
//! [`CircuitBreakerLayer`] keeps one breaker per route template (or per host, per header value,
//! or one for everything: [`BreakerScope`]). Each breaker:
//!
//! - **Closed**: lets calls through and keeps their outcomes in a sliding window that really
//!   slides: the last N calls ([`Window::Count`]), or the calls of the last N seconds in
//!   per-second buckets that age out ([`Window::Time`]).
//! - **Opens** as soon as the window holds `minimum_calls` and the failure rate or the slow-call
//!   rate (calls longer than `slow_call_duration`) reaches its threshold; it does not wait for
//!   a full window, and old outcomes leave the window as new ones come.
//! - **Open**: answers `503 Service Unavailable` at once, RFC 9457 problem+json with code
//!   `circuit_open` and `Retry-After` set to the time left open. After `wait_duration`
//!   (optionally growing on repeated trips, capped) it becomes
//! - **Half-open**: exactly `permitted_calls_in_half_open` probes go through, however many
//!   callers race for them; other callers get 503 with `Retry-After: 1`. When the probes have
//!   answered, their failure and slow rates close the breaker or open it again.
//! - **Forced open** and **disabled** are set by an operator through [`Breakers::force`].
//!
//! # What counts as a failure
//!
//! A [`Classifier`] decides; [`DefaultClassifier`] counts 5xx responses and service errors as
//! failures and 4xx as successes. A closure works too.
//!
//! An answer marked [`rampart_core::shed::Shed`] (a concurrency limit below refused the call to
//! shed load) is not counted at all, whatever the classifier: the dependency was never asked.
//!
//! # Timeouts
//!
//! A call that a rampart timeout layer above gives up on counts as a failure (the timeout layer
//! flags the drop through [`rampart_core::deadline`]). A call whose future is dropped for any
//! other reason (the client went away) is not counted at all, and a half-open probe dropped that
//! way goes back to the pool, so the half-open state cannot starve.
//!
//! # Client side
//!
//! The layer is generic over any `tower::Service<http::Request<_>, Response = http::Response<_>>`,
//! so it protects outbound calls as well: wrap a hyper-util client with
//! `BreakerScope::Host` (see `examples/server/examples/outbound_breaker.rs`).
//!
//! # Metrics
//!
//! `rampart_breaker_state{breaker}` (0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled;
//! one series per breaker, set on every transition),
//! `rampart_breaker_calls_total{breaker, outcome="success|failure|slow|rejected"}` and
//! `rampart_breaker_transitions_total{breaker, from, to}`. Every transition is logged.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use rampart_breaker::{BreakerConfig, CircuitBreakerLayer, Window};
//! use std::time::Duration;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/flaky", get(|| async { StatusCode::BAD_GATEWAY }))
//!     .layer(CircuitBreakerLayer::new(
//!         BreakerConfig::default()
//!             .window(Window::Count(10))
//!             .minimum_calls(5)
//!             .wait_duration(Duration::from_secs(5)),
//!     ));
//!
//! let call = || app.clone().oneshot(Request::get("/flaky").body(Body::empty()).unwrap());
//! for _ in 0..5 {
//!     assert_eq!(call().await.unwrap().status(), StatusCode::BAD_GATEWAY);
//! }
//! // Five failures out of five: open.
//! let rejected = call().await.unwrap();
//! assert_eq!(rejected.status(), StatusCode::SERVICE_UNAVAILABLE);
//! assert_eq!(rejected.headers()["retry-after"], "5");
//! # }
//! ```

mod breaker;
mod classify;
mod config;
mod future;
mod layer;
mod registry;
mod rejection;
mod scope;
mod state;
mod telemetry;
mod window;

#[doc(inline)]
pub use breaker::BreakerSnapshot;
#[doc(inline)]
pub use classify::{Classifier, DefaultClassifier};
#[doc(inline)]
pub use config::{BreakerConfig, Window};
#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use layer::{CircuitBreakerLayer, Fallback};
#[doc(inline)]
pub use registry::{Breakers, OVERFLOW_BREAKER};
#[doc(inline)]
pub use rejection::CircuitOpen;
#[doc(inline)]
pub use scope::BreakerScope;
#[doc(inline)]
pub use service::CircuitBreaker;
#[doc(inline)]
pub use state::{BreakerState, ForcedState};

mod service;
