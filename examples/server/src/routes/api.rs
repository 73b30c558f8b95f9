use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rampart::common::Problem;
use serde::Deserialize;
use std::time::Duration;

use crate::report;
use crate::state::AppState;

/// Longest sleep `/api/slow` accepts.
const MAX_SLOW_MS: u64 = 60_000;

pub(crate) async fn hello() -> &'static str {
    "hello, world"
}

pub(crate) async fn item(Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return Problem::new(StatusCode::BAD_REQUEST, "invalid_item_id")
            .with_detail("the item id must be a non-negative integer")
            .into_response();
    };
    let body = report::item(id);
    let etag = report::etag(&body);
    let mut response = cacheable(
        &headers,
        "public, max-age=30, stale-while-revalidate=30, stale-if-error=300",
        &etag,
        "application/json",
        body,
    );
    // Lets an admin purge one item, or all of them, by tag.
    if let Ok(tags) = HeaderValue::from_str(&format!("items item-{id}")) {
        response.headers_mut().insert("cache-tag", tags);
    }
    response
}

/// A body written as it is produced, as a log tail or an export is: four lines of text, 100 ms
/// apart, from a stream that is not fused (as most hand-written streams are not).
pub(crate) async fn stream() -> Response {
    let lines = futures_util::stream::unfold(0u32, |n| async move {
        if n == STREAM_LINES {
            return None;
        }
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let line = format!(
            "line {n} of {STREAM_LINES}: {}\n",
            "streamed text ".repeat(30)
        );
        Some((Ok::<_, std::convert::Infallible>(line), n + 1))
    });
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from_stream(lines),
    )
        .into_response()
}

/// Lines `/api/stream` writes.
pub(crate) const STREAM_LINES: u32 = 4;

/// Reads a streamed body to its end, as an upload handler does, and says how long it was. The
/// stack's body limit (10 MiB here) is the only thing that bounds it.
pub(crate) async fn upload(body: Body) -> Response {
    let mut stream = body.into_data_stream();
    let mut bytes = 0usize;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => bytes += chunk.len(),
            Err(error) => {
                return Problem::new(StatusCode::BAD_REQUEST, "body_unreadable")
                    .with_detail(format!("the request body could not be read: {error}"))
                    .into_response();
            }
        }
    }
    axum::Json(serde_json::json!({ "bytes": bytes })).into_response()
}

pub(crate) async fn report(State(state): State<AppState>, headers: HeaderMap) -> Response {
    cacheable(
        &headers,
        "public, max-age=60, stale-if-error=300",
        &state.report_etag,
        "application/json",
        state.report.clone(),
    )
}

/// A 200 with validators, or a 304 when the client already holds this version.
fn cacheable(
    request: &HeaderMap,
    cache_control: &'static str,
    etag: &str,
    content_type: &'static str,
    body: Bytes,
) -> Response {
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| report::if_none_match(value, etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Ok(etag) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, etag);
    }
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct SlowParams {
    #[serde(default)]
    ms: u64,
}

pub(crate) async fn slow(params: Result<Query<SlowParams>, QueryRejection>) -> Response {
    let ms = match params {
        Ok(Query(SlowParams { ms })) if ms <= MAX_SLOW_MS => ms,
        Ok(_) | Err(_) => {
            return Problem::new(StatusCode::BAD_REQUEST, "invalid_query")
                .with_detail(format!("ms must be an integer from 0 to {MAX_SLOW_MS}"))
                .into_response();
        }
    };
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms").into_response()
}

pub(crate) async fn upstream(State(state): State<AppState>) -> Response {
    match state.chaos.call().await {
        Ok(()) => (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"upstream":"ok"}"#,
        )
            .into_response(),
        Err(()) => Problem::new(StatusCode::BAD_GATEWAY, "upstream_failed")
            .with_detail("the simulated dependency failed")
            .into_response(),
    }
}

/// One query on the simulated database (`[database]`, `/admin/chaos`).
pub(crate) async fn work(State(state): State<AppState>) -> Response {
    state.chaos.database.query().await;
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"work":"done"}"#,
    )
        .into_response()
}
