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
        Err(e) => unavailable(format!("cannot read migration state: {e}")),
        Ok(p) if !p.is_empty() => unavailable(format!("{} migration(s) pending: {p:?}", p.len())),
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ready"}))).into_response(),
    }
}
