//! `/healthz` (the process is up) and `/readyz` (the database answers and the schema is current).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;

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
    if let Err(e) = sqlx::query("SELECT 1").execute(&state.pool).await {
        return unavailable(format!("database not answering: {e}"));
    }
    match crate::db::pending_migrations(&state.pool).await {
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
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('apalis.jobs') IS NOT NULL")
        .fetch_one(&state.pool)
        .await?;
    if !exists {
        return Ok(None);
    }
    let (pending, running, dead, oldest_due): (i64, i64, i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status IN ('Pending', 'Queued')),
                count(*) FILTER (WHERE status = 'Running'),
                count(*) FILTER (WHERE status IN ('Failed', 'Killed') AND attempts >= max_attempts
                                 OR status = 'Killed'),
                extract(epoch FROM now() - min(run_at) FILTER (WHERE status IN ('Pending', 'Queued') AND run_at <= now()))::float8
         FROM apalis.jobs",
    )
    .fetch_one(&state.pool)
    .await?;
    let workers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.workers WHERE last_seen > now() - interval '1 minute'",
    )
    .fetch_one(&state.pool)
    .await?;
    let inbox_retry: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_events WHERE status IN ('failed', 'pending')",
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(Some(json!({
        "pending": pending,
        "running": running,
        "dead": dead,
        "oldest_due_seconds": oldest_due.unwrap_or(0.0),
        "live_workers": workers,
        "inbox_failed_or_pending": inbox_retry,
    })))
}
