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

/// Deletes at most `batch` ticks older than `older_than_secs`; returns how many (jobs/prune).
pub async fn prune_batch(
    ex: impl PgExecutor<'_>,
    older_than_secs: f64,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM job_ticks WHERE (name, tick_at) IN (SELECT name, tick_at FROM job_ticks \
         WHERE tick_at < now() - make_interval(secs => $1) LIMIT $2)",
    )
    .bind(older_than_secs)
    .bind(batch)
    .execute(ex)
    .await
    .map(|r| r.rows_affected())
}

/// The latest claimed tick of each entry (`odis-worker jobs` compares it with the schedule).
pub async fn latest_per_entry(
    ex: impl PgExecutor<'_>,
) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as("SELECT name, max(tick_at) FROM job_ticks GROUP BY name")
        .fetch_all(ex)
        .await
}

/// Records what tick `tick_at` of `name` did: its JSON result, or its error.
pub async fn record_result(
    ex: impl PgExecutor<'_>,
    name: &str,
    tick_at: DateTime<Utc>,
    outcome: Result<&serde_json::Value, &str>,
) -> Result<(), sqlx::Error> {
    let (result, error) = match outcome {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(crate::domain::text::storable(e))),
    };
    sqlx::query(
        "UPDATE job_ticks SET finished_at = now(), result = $3, error = $4 \
         WHERE name = $1 AND tick_at = $2",
    )
    .bind(name)
    .bind(tick_at)
    .bind(result)
    .bind(error)
    .execute(ex)
    .await
    .map(|_| ())
}

// --- reads for operators (http/ops) ---

/// One tick as the console lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TickRow {
    pub name: String,
    pub tick_at: DateTime<Utc>,
    pub claimed_by: String,
    pub finished_at: Option<DateTime<Utc>>,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// The last `per_entry` ticks of every entry, newest first within each.
pub async fn recent(ex: impl PgExecutor<'_>, per_entry: i64) -> Result<Vec<TickRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, tick_at, claimed_by, finished_at, result, error FROM ( \
           SELECT *, row_number() OVER (PARTITION BY name ORDER BY tick_at DESC) AS n \
           FROM job_ticks) t \
         WHERE n <= $1 ORDER BY name, tick_at DESC",
    )
    .bind(per_entry)
    .fetch_all(ex)
    .await
}
