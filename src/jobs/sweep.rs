//! The `sweep-due` catalogue entry: finds work whose time has come and enqueues it.
//!
//! * `queued`, unclaimed calls/emails whose `scheduled_for` (and retry time) has passed and that
//!   have no live job yet → `DispatchCall` / `DispatchEmail`. "Live job" is read from
//!   `apalis.jobs` (pending, queued, running, or failed with attempts left), so a backlog does
//!   not grow one duplicate job per sweep; a duplicate would be harmless anyway (the claim).
//! * `scheduling::discharge_batch::due_batches` without a live job → `ProcessDischargeBatch`.
//! * Claims left by a crashed worker (older than [`STALE_CLAIM`]): an email, or a call whose
//!   request was never sent, is released; a call that may have reached VAPI is failed with
//!   `dispatch_ambiguous` (never placed twice).
//! * `job_ticks` rows older than a week are pruned.

use serde::Serialize;
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use super::{AppState, DispatchCall, DispatchEmail, Job, JobError, ProcessDischargeBatch};

/// Most rows enqueued per table per sweep; the next sweep takes the rest.
pub const SWEEP_LIMIT: i64 = 500;
/// A claim older than this belongs to a dead worker (a live one finishes in seconds).
pub const STALE_CLAIM: &str = "10 minutes";

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SweepSummary {
    pub calls_enqueued: u64,
    pub emails_enqueued: u64,
    pub batches_enqueued: u64,
    pub stale_claims_released: u64,
    pub stale_calls_failed: u64,
    pub ticks_pruned: u64,
}

/// Ids in `apalis.jobs` of `queue` that are still to run, read from the job's JSON field `key`.
fn live_jobs_sql(key: &str) -> String {
    format!(
        "SELECT convert_from(j.job, 'UTF8')::jsonb->>'{key}' FROM apalis.jobs j \
         WHERE j.job_type = $1 AND (j.status IN ('Pending', 'Queued', 'Running') \
           OR (j.status = 'Failed' AND j.attempts < j.max_attempts))"
    )
}

async fn due_rows(
    pool: &PgPool,
    table: &str,
    queue: &str,
    key: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let provider_id = if table == "outbound_calls" {
        "vapi_call_id"
    } else {
        "resend_email_id"
    };
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT t.id FROM {table} t \
         WHERE t.status = 'queued' AND t.{provider_id} IS NULL \
           AND (t.scheduled_for IS NULL OR t.scheduled_for <= now()) \
           AND NOT (coalesce(t.metadata, '{{}}'::jsonb) ? 'dispatch_claimed_at') \
           AND (t.metadata->>'dispatch_retry_at' IS NULL OR (t.metadata->>'dispatch_retry_at')::timestamptz <= now()) \
           AND t.id::text NOT IN (SELECT x FROM ({live}) AS live(x) WHERE x IS NOT NULL) \
         ORDER BY t.scheduled_for NULLS FIRST LIMIT $2",
        live = live_jobs_sql(key),
    )))
    .bind(queue)
    .bind(SWEEP_LIMIT)
    .fetch_all(pool)
    .await
}

pub async fn run(ctx: &AppState) -> Result<SweepSummary, JobError> {
    let pool = &ctx.pool;
    let mut summary = SweepSummary::default();

    // Stale claims first, so released rows are enqueued by this same sweep.
    let released_calls = sqlx::query(AssertSqlSafe(format!(
        "UPDATE outbound_calls SET metadata = metadata - 'dispatch_claimed_at' - 'dispatch_claimed_by' \
         WHERE status = 'queued' AND vapi_call_id IS NULL AND metadata ? 'dispatch_claimed_at' \
           AND NOT (metadata ? 'dispatch_sending_at') \
           AND (metadata->>'dispatch_claimed_at')::timestamptz < now() - interval '{STALE_CLAIM}'"
    )))
    .execute(pool)
    .await?
    .rows_affected();
    let failed_calls: Vec<Uuid> = sqlx::query_scalar(AssertSqlSafe(format!(
        "UPDATE outbound_calls SET status = 'failed', metadata = metadata || jsonb_build_object( \
           'dispatch_ambiguous', true, 'failed_at', now(), \
           'error', 'worker stopped while the VAPI request was in flight; outcome unknown') \
         WHERE status = 'queued' AND vapi_call_id IS NULL AND metadata ? 'dispatch_sending_at' \
           AND (metadata->>'dispatch_claimed_at')::timestamptz < now() - interval '{STALE_CLAIM}' \
         RETURNING id"
    )))
    .fetch_all(pool)
    .await?;
    for id in &failed_calls {
        let error = "worker stopped while the VAPI request was in flight".to_string();
        super::items::follow(
            pool,
            super::items::Channel::Call,
            *id,
            &super::items::Final::Failed(error),
        )
        .await?;
    }
    let released_emails = sqlx::query(AssertSqlSafe(format!(
        "UPDATE outbound_emails SET metadata = metadata - 'dispatch_claimed_at' - 'dispatch_claimed_by' \
         WHERE status = 'queued' AND resend_email_id IS NULL AND metadata ? 'dispatch_claimed_at' \
           AND (metadata->>'dispatch_claimed_at')::timestamptz < now() - interval '{STALE_CLAIM}'"
    )))
    .execute(pool)
    .await?
    .rows_affected();
    summary.stale_claims_released = released_calls + released_emails;
    summary.stale_calls_failed = failed_calls.len() as u64;

    for id in due_rows(
        pool,
        "outbound_calls",
        DispatchCall::QUEUE,
        "outbound_call_id",
    )
    .await?
    {
        super::enqueue_dispatch_call(pool, id, None).await?;
        summary.calls_enqueued += 1;
    }
    for id in due_rows(
        pool,
        "outbound_emails",
        DispatchEmail::QUEUE,
        "outbound_email_id",
    )
    .await?
    {
        super::enqueue_dispatch_email(pool, id, None).await?;
        summary.emails_enqueued += 1;
    }

    let batches = crate::scheduling::discharge_batch::due_batches(pool)
        .await
        .map_err(|e| JobError::Transient(format!("listing due discharge batches: {e}")))?;
    if !batches.is_empty() {
        let live: Vec<Option<String>> =
            sqlx::query_scalar(AssertSqlSafe(live_jobs_sql("batch_id")))
                .bind(ProcessDischargeBatch::QUEUE)
                .fetch_all(pool)
                .await?;
        for batch_id in batches {
            if live.iter().flatten().any(|l| *l == batch_id.to_string()) {
                continue;
            }
            super::enqueue_process_discharge_batch(pool, batch_id).await?;
            summary.batches_enqueued += 1;
        }
    }

    summary.ticks_pruned =
        sqlx::query("DELETE FROM job_ticks WHERE tick_at < now() - interval '7 days'")
            .execute(pool)
            .await?
            .rows_affected();
    Ok(summary)
}
