//! Nested services the stack can see.
//!
//! `Router::nest_service("/static", ServeDir::new(..))` strips the prefix and calls the service
//! without a route template: the stack's layers see no `MatchedPath`, so its requests are
//! labelled `unmatched` (mixed with the 404s) and no route policy can target them.
//! [`nest_service`] mounts the service as the route `/static/{*path}` instead (plus `/static`
//! itself), stripping the prefix the same way: its requests carry that template, and a policy
//! keyed `"/static/{*path}"` applies to them.

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use http::uri::PathAndQuery;
use http::{Request, Uri};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// Mounts `service` under `prefix` as `Router::nest_service` does, as routes with a template
/// (`{prefix}/{*path}` and `{prefix}`), so the stack's route policies and labels apply to it.
///
/// # Example
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let files = tower::service_fn(|request: Request<Body>| async move {
///     Ok::<_, std::convert::Infallible>(format!("file {}", request.uri().path()))
/// });
/// let app: Router = rampart::nest_service(Router::new(), "/static", files);
/// let response = app
///     .oneshot(Request::get("/static/css/site.css").body(Body::empty()).unwrap())
///     .await
///     .unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
/// assert_eq!(body, "file /css/site.css"); // the prefix is stripped, as nest_service does
/// # }
/// ```
pub fn nest_service<S, T>(router: Router<S>, prefix: &str, service: T) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    T: Service<Request<Body>, Error = Infallible> + Clone + Send + Sync + 'static,
    T::Response: IntoResponse,
    T::Future: Send + 'static,
{
    let prefix = prefix.trim_end_matches('/');
    let stripped = StripPrefix {
        prefix: Arc::from(prefix),
        inner: service,
    };
    let mount = if prefix.is_empty() { "/" } else { prefix };
    router
        .route_service(&format!("{prefix}/{{*path}}"), stripped.clone())
        .route_service(mount, stripped)
}

/// Calls `inner` with the request's path less `prefix` (`/static/a.css` → `/a.css`).
#[derive(Clone)]
struct StripPrefix<T> {
    prefix: Arc<str>,
    inner: T,
}

impl<T> Service<Request<Body>> for StripPrefix<T>
where
    T: Service<Request<Body>>,
{
    type Response = T::Response;
    type Error = T::Error;
    type Future = T::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        if let Some(uri) = strip(request.uri(), &self.prefix) {
            *request.uri_mut() = uri;
        }
        self.inner.call(request)
    }
}

/// `uri` without `prefix` at the start of its path; `None` when it does not start with it.
fn strip(uri: &Uri, prefix: &str) -> Option<Uri> {
    let rest = uri.path().strip_prefix(prefix)?;
    let path = if rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_stripped_and_the_query_kept() {
        let uri: Uri = "/static/css/site.css?v=2".parse().unwrap_or_default();
        assert_eq!(
            strip(&uri, "/static").map(|uri| uri.to_string()),
            Some("/css/site.css?v=2".to_owned())
        );
        let bare: Uri = "/static".parse().unwrap_or_default();
        assert_eq!(
            strip(&bare, "/static").map(|uri| uri.to_string()),
            Some("/".to_owned())
        );
    }
}
