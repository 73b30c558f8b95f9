use tower_layer::Layer;

use crate::Trace;

/// Gives every request a span and a [`TraceContext`](crate::TraceContext), continuing the
/// caller's trace when it sent a valid `traceparent`.
///
/// Add it with `Router::layer` so that spans are named by the route template; outside a router
/// they are named by the method alone. A request that already has a `TraceContext` (an outer
/// `TraceLayer` made it) passes through untouched, so an application can put the layer further
/// out, around layers of its own that should run inside the request span, without a second
/// span.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart_trace::TraceLayer;
///
/// let app: Router = Router::new()
///     .route("/api/items/{id}", get(|| async { "item" }))
///     .layer(TraceLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct TraceLayer {
    _private: (),
}

impl TraceLayer {
    /// The layer. Spans are `INFO` spans of target `rampart_trace`; a subscriber's filter
    /// decides whether they are made.
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Trace { inner }
    }
}
