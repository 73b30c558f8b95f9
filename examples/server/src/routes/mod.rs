//! The example's routes. Everything rampart does is added in [`crate::app`], not here.

mod admin;
mod api;
mod health;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Every route on one listener.
pub(crate) fn router(state: AppState) -> Router {
    finish(api().merge(operations(&state)), state)
}

/// The API alone, for the public listener when operations have their own.
pub(crate) fn api_router(state: AppState) -> Router {
    finish(api(), state)
}

/// Health and admin alone, for the operations listener (`/metrics` is added with the stack).
pub(crate) fn operations_router(state: AppState) -> Router {
    finish(operations(&state), state)
}

fn api() -> Router<AppState> {
    Router::new()
        .route("/api/hello", get(api::hello))
        .route("/api/items/{id}", get(api::item))
        .route("/api/report", get(api::report))
        .route("/api/slow", get(api::slow))
        .route("/api/stream", get(api::stream))
        .route("/api/upload", post(api::upload))
        .route("/api/upstream", get(api::upstream))
        .route("/api/work", get(api::work))
}

fn operations(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .nest("/admin", admin::router(state))
}

fn finish(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(rampart::fallback::not_found)
        // Applies to the routes above; axum still adds the `Allow` header.
        .method_not_allowed_fallback(rampart::fallback::method_not_allowed)
        .with_state(state)
}
