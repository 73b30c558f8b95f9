use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rampart::common::Problem;

use crate::state::AppState;

/// The process is up.
pub(crate) async fn live() -> &'static str {
    "ok"
}

/// The process takes traffic: false once a graceful shutdown has begun.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    if state.is_ready() {
        "ready".into_response()
    } else {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
            .with_detail("the server is draining in-flight requests before it stops")
            .into_response()
    }
}
