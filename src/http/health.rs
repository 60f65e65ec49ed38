//! `/healthz` (the process is up) and `/readyz` (the database answers and the schema is current).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::db;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let unavailable = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "reason": reason})),
        )
            .into_response()
    };
    if let Err(e) = db::ping(&state.pool).await {
        return unavailable(format!("database not answering: {e}"));
    }
    match db::pending_migrations(&state.pool).await {
        Err(e) => return unavailable(format!("cannot read migration state: {e}")),
        Ok(p) if !p.is_empty() => {
            return unavailable(format!("{} migration(s) pending: {p:?}", p.len()))
        }
        Ok(_) => {}
    }
    match queue_health(&state).await {
        Ok(Some(queue)) => (
            StatusCode::OK,
            Json(json!({"status": "ready", "queue": queue})),
        )
            .into_response(),
        Ok(None) => unavailable("job queue tables (schema apalis) are not set up".into()),
        Err(e) => unavailable(format!("cannot read the job queue: {e}")),
    }
}

/// The queue's health for operators: backlog, age of the oldest due job, dead jobs, live
/// workers, and the inbox's retry backlog. Reported, not judged: a backlog is load to work off,
/// and taking the instance out of rotation for it would only make it worse.
async fn queue_health(state: &AppState) -> Result<Option<serde_json::Value>, sqlx::Error> {
    let Some(q) = db::queue::health(&state.pool).await? else {
        return Ok(None);
    };
    let inbox_retry = db::webhook_events::retry_backlog(&state.pool).await?;
    Ok(Some(json!({
        "pending": q.pending,
        "running": q.running,
        "dead": q.dead,
        "oldest_due_seconds": q.oldest_due_seconds,
        "live_workers": q.live_workers,
        "inbox_failed_or_pending": inbox_retry,
    })))
}
