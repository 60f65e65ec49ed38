//! `job_ticks`: one row per catalogue tick, so each tick runs once across processes.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

// --- catalogue (jobs/catalogue, jobs/sweep) ---

/// Claims tick `tick_at` of entry `name` for `claimer`: the primary key lets exactly one
/// insert succeed, so true for exactly one caller per tick.
pub async fn claim(
    ex: impl PgExecutor<'_>,
    name: &str,
    tick_at: DateTime<Utc>,
    claimer: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO job_ticks (name, tick_at, claimed_by) VALUES ($1, $2, $3) \
         ON CONFLICT (name, tick_at) DO NOTHING",
    )
    .bind(name)
    .bind(tick_at)
    .bind(claimer)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes ticks older than a week (they only guard ticks that are long past); returns how many.
pub async fn prune_older_than_a_week(ex: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM job_ticks WHERE tick_at < now() - interval '7 days'")
        .execute(ex)
        .await
        .map(|r| r.rows_affected())
}
