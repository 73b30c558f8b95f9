//! The example's routes. Everything rampart does is added in [`crate::app`], not here.

mod admin;
mod api;
mod health;

use axum::Router;
use axum::routing::get;
use http::StatusCode;
use rampart::core::Problem;

use crate::state::AppState;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/hello", get(api::hello))
        .route("/api/items/{id}", get(api::item))
        .route("/api/report", get(api::report))
        .route("/api/slow", get(api::slow))
        .route("/api/upstream", get(api::upstream))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .nest("/admin", admin::router(&state))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found").with_detail("no route matches this path")
}
