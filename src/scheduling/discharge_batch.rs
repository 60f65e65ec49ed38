//! Placeholder (replaced by the scheduling branch at merge): discharge batch processing.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, serde::Serialize)]
pub struct BatchOutcome {
    pub batch_id: Uuid,
    pub status: String,
    pub processed: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub cancelled: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("discharge batch processing is provided by the scheduling branch")]
pub struct NotProvided;

pub async fn process(
    _pool: &PgPool,
    _batch_id: Uuid,
    _now: DateTime<Utc>,
) -> Result<BatchOutcome, NotProvided> {
    Err(NotProvided)
}

pub async fn due_batches(_pool: &PgPool) -> Result<Vec<Uuid>, NotProvided> {
    Ok(Vec::new())
}
