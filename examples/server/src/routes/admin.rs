//! `/admin/*`: behind a bearer token, and absent (404) when no token is configured.

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use rampart::breaker::ForcedState;
use rampart::cache::Purge;
use rampart::common::Problem;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::chaos::ChaosUpdate;
use crate::state::AppState;

/// Admin requests carry small JSON documents; anything larger is refused before it is read.
const MAX_ADMIN_BODY: usize = 16 * 1024;

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    if state.admin_token.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/chaos", get(chaos).post(set_chaos))
        .route("/breakers", get(breakers).post(force_breaker))
        .route("/cache", get(cache_usage))
        .route("/cache/purge", post(purge_cache))
        .layer(DefaultBodyLimit::max(MAX_ADMIN_BODY))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let expected = state.admin_token.as_deref().unwrap_or_default();
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => {
            next.run(request).await
        }
        _ => {
            let mut response = Problem::new(StatusCode::UNAUTHORIZED, "unauthorized")
                .with_detail("admin routes need `Authorization: Bearer <token>`")
                .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rampart-admin\""),
            );
            response
        }
    }
}

/// Compares without an early exit, so response time says nothing about how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn chaos(State(state): State<AppState>) -> Response {
    Json(state.chaos.settings()).into_response()
}

/// Parses a small JSON request body, or says precisely what is wrong with it.
fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Problem> {
    let body = body.map_err(|rejection| {
        Problem::new(rejection.status(), "invalid_body").with_detail(rejection.body_text())
    })?;
    serde_json::from_slice(&body).map_err(|error| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_json").with_detail(error.to_string())
    })
}

async fn set_chaos(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let update: ChaosUpdate = match json_body(body) {
        Ok(update) => update,
        Err(problem) => return problem.into_response(),
    };
    match state.chaos.update(&update) {
        Ok(settings) => Json(settings).into_response(),
        Err(detail) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_chaos")
            .with_detail(detail)
            .into_response(),
    }
}

async fn breakers(State(state): State<AppState>) -> Response {
    Json(state.breakers.snapshot()).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForceBreaker {
    breaker: String,
    state: ForcedState,
}

async fn force_breaker(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request: ForceBreaker = match json_body(body) {
        Ok(request) => request,
        Err(problem) => return problem.into_response(),
    };
    if !state.breakers.force(&request.breaker, request.state) {
        return Problem::new(StatusCode::NOT_FOUND, "unknown_breaker")
            .with_detail(format!(
                "no breaker named `{}` has seen a call yet",
                request.breaker
            ))
            .into_response();
    }
    let snapshot = state
        .breakers
        .snapshot()
        .into_iter()
        .find(|snapshot| snapshot.name == request.breaker);
    Json(snapshot).into_response()
}

async fn cache_usage(State(state): State<AppState>) -> Response {
    Json(state.cache.usage()).into_response()
}

/// `{"key": "/api/items/7"}`, `{"prefix": "/api/"}`, `{"tag": "items"}` or `"all"`.
async fn purge_cache(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let purge: Purge = match json_body(body) {
        Ok(purge) => purge,
        Err(problem) => return problem.into_response(),
    };
    let job = state.cache.purge(purge.clone());
    let id = job.id();
    // The purge runs to completion either way; a large one answers 202 and finishes in the
    // background (its end is logged with its id).
    match tokio::time::timeout(PURGE_WAIT, job).await {
        Ok(Ok(report)) => Json(serde_json::json!({
            "purged": purge,
            "purge_id": id,
            "instances_notified": report.instances_notified,
            "shared_keys_removed": report.shared_keys_removed,
        }))
        .into_response(),
        Ok(Err(error)) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "cache_purge_incomplete")
            .with_detail(format!(
                "purged on this instance; the shared tier and other instances may still serve it: {error}"
            ))
            .into_response(),
        Err(_) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "purging": purge,
                "purge_id": id,
                "status": "running",
                "detail": "purged on this instance; the shared tier and other instances are being purged, and the end is logged with this purge_id",
            })),
        )
            .into_response(),
    }
}

/// How long a purge request waits for the purge before answering 202.
const PURGE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
