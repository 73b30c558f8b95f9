use rampart_core::RouteTable;
use std::sync::Arc;
use tower_layer::Layer;

use crate::RequestBodyLimit;

/// Limits request bodies, per route. Clones share their table.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::post};
/// use rampart_limit::RequestBodyLimitLayer;
///
/// let limits = RequestBodyLimitLayer::new(64 * 1024).route("/upload", 100 * 1024 * 1024);
/// assert_eq!(limits.limit_for("/upload"), 100 * 1024 * 1024);
/// assert_eq!(limits.limit_for("/api/items"), 64 * 1024);
/// let app: Router = Router::new()
///     .route("/upload", post(|body: String| async move { body.len().to_string() }))
///     .layer(limits);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestBodyLimitLayer {
    pub(crate) limits: Arc<RouteTable<u64>>,
}

impl RequestBodyLimitLayer {
    /// Every route's bodies limited to `bytes`.
    pub fn new(bytes: u64) -> Self {
        Self::from_table(RouteTable::new(bytes))
    }

    /// Limits chosen per route template, with the table's default for the rest.
    pub fn from_table(limits: RouteTable<u64>) -> Self {
        Self {
            limits: Arc::new(limits),
        }
    }

    /// The limit of one route, by its template (`/upload/{name}`).
    pub fn route(self, template: impl Into<Box<str>>, bytes: u64) -> Self {
        let limits = Arc::unwrap_or_clone(self.limits).with_route(template, bytes);
        Self::from_table(limits)
    }

    /// The limit that applies to the route `template`.
    pub fn limit_for(&self, template: &str) -> u64 {
        *self.limits.get_for_route(template)
    }
}

impl Default for RequestBodyLimitLayer {
    /// 2 MiB, axum's `DefaultBodyLimit`.
    fn default() -> Self {
        Self::new(crate::DEFAULT_LIMIT)
    }
}

impl<S> Layer<S> for RequestBodyLimitLayer {
    type Service = RequestBodyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestBodyLimit {
            inner,
            layer: self.clone(),
        }
    }
}
