//! Placeholder (replaced by the scheduling branch at merge): the auto-scheduling run.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub struct RunOptions {
    pub clinic_ids: Option<Vec<Uuid>>,
    pub dry_run: bool,
    pub now: DateTime<Utc>,
}

#[derive(Debug, serde::Serialize)]
pub struct RunSummary {
    pub run_id: Option<Uuid>,
    pub status: String,
    pub clinics: usize,
    pub cases_processed: i64,
    pub emails_scheduled: i64,
    pub calls_scheduled: i64,
    pub skipped: i64,
    pub errors: i64,
    pub per_clinic: Vec<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
#[error("auto-scheduling is provided by the scheduling branch")]
pub struct NotProvided;

pub async fn run(_pool: &PgPool, _opts: &RunOptions) -> Result<RunSummary, NotProvided> {
    Err(NotProvided)
}
