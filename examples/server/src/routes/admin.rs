//! `/admin/*`: behind a bearer token, and absent (404) when no token is configured.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use rampart::breaker::{BreakerSnapshot, ForcedState};
use rampart::cache::{CacheUsage, Purge};
use rampart::common::Problem;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::chaos::{ChaosSettings, ChaosUpdate};
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

async fn chaos(State(state): State<AppState>) -> Json<ChaosSettings> {
    Json(state.chaos.settings())
}

/// A small JSON request body; rejected with a problem that says precisely what is wrong with
/// it, so every admin handler answers errors the one way.
struct JsonBody<T>(T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                Problem::new(rejection.status(), "invalid_body").with_detail(rejection.body_text())
            })?;
        serde_json::from_slice(&body).map(Self).map_err(|error| {
            Problem::new(StatusCode::BAD_REQUEST, "invalid_json").with_detail(error.to_string())
        })
    }
}

async fn set_chaos(
    State(state): State<AppState>,
    JsonBody(update): JsonBody<ChaosUpdate>,
) -> Result<Json<ChaosSettings>, Problem> {
    state.chaos.update(&update).map(Json).map_err(|detail| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_chaos").with_detail(detail)
    })
}

async fn breakers(State(state): State<AppState>) -> Json<Vec<BreakerSnapshot>> {
    Json(state.breakers.snapshot())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForceBreaker {
    breaker: String,
    state: ForcedState,
}

async fn force_breaker(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ForceBreaker>,
) -> Result<Json<Option<BreakerSnapshot>>, Problem> {
    if !state.breakers.force(&request.breaker, request.state) {
        return Err(
            Problem::new(StatusCode::NOT_FOUND, "unknown_breaker").with_detail(format!(
                "no breaker named `{}` has seen a call yet",
                request.breaker
            )),
        );
    }
    let snapshot = state
        .breakers
        .snapshot()
        .into_iter()
        .find(|snapshot| snapshot.name == request.breaker);
    Ok(Json(snapshot))
}

async fn cache_usage(State(state): State<AppState>) -> Json<CacheUsage> {
    Json(state.cache.usage())
}

/// `{"key": "/api/items/7"}`, `{"prefix": "/api/"}`, `{"tag": "items"}` or `"all"`.
async fn purge_cache(
    State(state): State<AppState>,
    JsonBody(purge): JsonBody<Purge>,
) -> Result<Response, Problem> {
    let job = state.cache.purge(purge.clone());
    let id = job.id();
    // The purge runs to completion either way; a large one answers 202 and finishes in the
    // background (its end is logged with its id).
    match tokio::time::timeout(PURGE_WAIT, job).await {
        Ok(Ok(report)) => Ok(Json(serde_json::json!({
            "purged": purge,
            "purge_id": id,
            "instances_notified": report.instances_notified,
            "shared_keys_removed": report.shared_keys_removed,
        }))
        .into_response()),
        Ok(Err(error)) => Err(
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "cache_purge_incomplete").with_detail(
                format!(
                    "purged on this instance; the shared tier and other instances may still serve it: {error}"
                ),
            ),
        ),
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "purging": purge,
                "purge_id": id,
                "status": "running",
                "detail": "purged on this instance; the shared tier and other instances are being purged, and the end is logged with this purge_id",
            })),
        )
            .into_response()),
    }
}

/// How long a purge request waits for the purge before answering 202.
const PURGE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
