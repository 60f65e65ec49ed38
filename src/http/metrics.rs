//! `GET /metrics`: refreshes the gauges that describe database state (they are right even with
//! several processes), then renders the process's recorder in Prometheus text format.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::db;
use crate::metrics::handle;
use crate::state::AppState;

/// `GET /metrics`: refreshes the database-derived gauges, then renders the text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed\n",
        )
            .into_response();
    };
    if let Err(e) = refresh_db_gauges(&state).await {
        tracing::warn!(error = %e, "could not refresh database gauges");
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

async fn refresh_db_gauges(state: &AppState) -> Result<(), sqlx::Error> {
    for (status, n) in db::webhook_events::count_by_status(&state.pool).await? {
        metrics::gauge!("odis_inbox_events", "status" => status.as_str()).set(n as f64);
    }
    if let Some((depth, oldest)) = db::queue::depth(&state.pool).await? {
        for (kind, n) in depth {
            metrics::gauge!("odis_queue_depth", "kind" => kind).set(n as f64);
        }
        metrics::gauge!("odis_queue_oldest_due_seconds").set(oldest);
    }
    Ok(())
}
