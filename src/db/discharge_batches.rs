//! `discharge_batches` and `discharge_batch_items`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

// --- scheduling (scheduling/discharge_batch) ---

/// Claims a `pending` batch: `processing`, `started_at`, `total_cases` counted from its items.
/// A batch in any other status is left alone.
pub async fn start_pending(
    ex: impl PgExecutor<'_>,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE discharge_batches SET status = $3, started_at = COALESCE(started_at, $2), \
         total_cases = (SELECT count(*) FROM discharge_batch_items WHERE batch_id = $1) \
         WHERE id = $1 AND status = $4",
    )
    .bind(batch_id)
    .bind(now)
    .bind(crate::domain::status::BatchStatus::Processing.as_str())
    .bind(crate::domain::status::BatchStatus::Pending.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

/// The batch columns item processing reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedBatch {
    pub status: Option<String>,
    pub clinic_id: Uuid,
    pub email_schedule_time: Option<DateTime<Utc>>,
    pub call_schedule_time: Option<DateTime<Utc>>,
    pub metadata: Option<Value>,
}

/// Locks the batch row for this transaction, `None` if another transaction holds it (or the
/// batch is gone): two workers never process the same batch at the same moment.
pub async fn lock_skip_locked(
    conn: &mut PgConnection,
    batch_id: Uuid,
) -> Result<Option<LockedBatch>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, clinic_id, email_schedule_time, call_schedule_time, metadata \
         FROM discharge_batches WHERE id = $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(batch_id)
    .fetch_optional(conn)
    .await
}

/// Locks the batch row, waiting for a holder; `false` when the batch does not exist.
pub async fn lock_wait(conn: &mut PgConnection, batch_id: Uuid) -> Result<bool, sqlx::Error> {
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM discharge_batches WHERE id = $1 FOR UPDATE")
            .bind(batch_id)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// The first `pending` item, with its 0-based position in the stable item order
/// (`created_at, id`), which sets its stagger.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingItem {
    pub id: Uuid,
    pub case_id: Uuid,
    pub idx: i64,
}

pub async fn next_pending_item(
    conn: &mut PgConnection,
    batch_id: Uuid,
) -> Result<Option<PendingItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, case_id, idx FROM ( \
           SELECT id, case_id, status, row_number() OVER (ORDER BY created_at, id) - 1 AS idx \
           FROM discharge_batch_items WHERE batch_id = $1) s \
         WHERE status = $2 ORDER BY idx LIMIT 1",
    )
    .bind(batch_id)
    .bind(crate::domain::status::BatchItemStatus::Pending.as_str())
    .fetch_optional(conn)
    .await
}

/// How one item ended.
#[derive(Debug, Clone)]
pub struct ItemOutcome {
    pub item_id: Uuid,
    pub outbound_email_id: Option<Uuid>,
    pub outbound_call_id: Option<Uuid>,
    /// `None`: success.
    pub error: Option<String>,
    pub processed_at: DateTime<Utc>,
}

/// Records the item's outcome and adds it to the batch counters (same transaction).
pub async fn record_item(
    conn: &mut PgConnection,
    batch_id: Uuid,
    o: &ItemOutcome,
) -> Result<(), sqlx::Error> {
    let ok = o.error.is_none();
    let status = if ok {
        crate::domain::status::BatchItemStatus::Success
    } else {
        crate::domain::status::BatchItemStatus::Failed
    };
    sqlx::query(
        "UPDATE discharge_batch_items SET status = $2, email_scheduled = $3, call_scheduled = $4, \
         outbound_email_id = $5, outbound_call_id = $6, error_message = $7, processed_at = $8, \
         patient_id = COALESCE(patient_id, (SELECT patient_id FROM cases WHERE id = case_id)) \
         WHERE id = $1",
    )
    .bind(o.item_id)
    .bind(status.as_str())
    .bind(o.outbound_email_id.is_some())
    .bind(o.outbound_call_id.is_some())
    .bind(o.outbound_email_id)
    .bind(o.outbound_call_id)
    .bind(&o.error)
    .bind(o.processed_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE discharge_batches SET processed_cases = processed_cases + 1, \
         successful_cases = successful_cases + $2, failed_cases = failed_cases + $3 WHERE id = $1",
    )
    .bind(batch_id)
    .bind(i32::from(ok))
    .bind(i32::from(!ok))
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// All items done: counters recomputed from the items (the source of truth), final status
/// (`completed` / `failed` / `partial_success`), `completed_at`, and `error_summary` =
/// `[{caseId, patientName, error}]` of the failed items.
pub async fn finalize(
    conn: &mut PgConnection,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH counts AS ( \
           SELECT count(*) FILTER (WHERE status IN ($3, $4)) AS processed, \
                  count(*) FILTER (WHERE status = $3) AS ok, \
                  count(*) FILTER (WHERE status = $4) AS bad \
           FROM discharge_batch_items WHERE batch_id = $1), \
         errs AS ( \
           SELECT COALESCE(jsonb_agg(jsonb_build_object('caseId', i.case_id, \
                    'patientName', COALESCE(p.name, 'Unknown Patient'), 'error', i.error_message) \
                    ORDER BY i.created_at, i.id), '[]'::jsonb) AS summary \
           FROM discharge_batch_items i LEFT JOIN cases c ON c.id = i.case_id \
           LEFT JOIN patients p ON p.id = COALESCE(i.patient_id, c.patient_id) \
           WHERE i.batch_id = $1 AND i.status = $4) \
         UPDATE discharge_batches b SET \
           processed_cases = counts.processed, successful_cases = counts.ok, failed_cases = counts.bad, \
           status = CASE WHEN counts.bad = 0 THEN $5 \
                         WHEN counts.ok = 0 THEN $6 ELSE $7 END, \
           completed_at = $2, \
           error_summary = CASE WHEN counts.bad = 0 THEN b.error_summary ELSE errs.summary END \
         FROM counts, errs WHERE b.id = $1",
    )
    .bind(batch_id)
    .bind(now)
    .bind(crate::domain::status::BatchItemStatus::Success.as_str())
    .bind(crate::domain::status::BatchItemStatus::Failed.as_str())
    .bind(crate::domain::status::BatchStatus::Completed.as_str())
    .bind(crate::domain::status::BatchStatus::Failed.as_str())
    .bind(crate::domain::status::BatchStatus::PartialSuccess.as_str())
    .execute(conn)
    .await
    .map(|_| ())
}

/// Sets the batch `cancelled` (keeping the first `cancelled_at`).
pub async fn mark_cancelled(conn: &mut PgConnection, batch_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE discharge_batches SET status = $2, cancelled_at = COALESCE(cancelled_at, now()) \
         WHERE id = $1",
    )
    .bind(batch_id)
    .bind(crate::domain::status::BatchStatus::Cancelled.as_str())
    .execute(conn)
    .await
    .map(|_| ())
}

/// Cancels the pending items, and the successful ones whose call or email was just cancelled
/// (`calls`, `emails`), keeping an earlier error message or else writing `reason`.
pub async fn cancel_items(
    conn: &mut PgConnection,
    batch_id: Uuid,
    calls: &[Uuid],
    emails: &[Uuid],
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE discharge_batch_items SET status = $5, \
           error_message = COALESCE(error_message, $4) \
         WHERE batch_id = $1 AND (status = $6 OR (status = $7 AND \
           (outbound_call_id = ANY($2) OR outbound_email_id = ANY($3))))",
    )
    .bind(batch_id)
    .bind(calls)
    .bind(emails)
    .bind(reason)
    .bind(crate::domain::status::BatchItemStatus::Cancelled.as_str())
    .bind(crate::domain::status::BatchItemStatus::Pending.as_str())
    .bind(crate::domain::status::BatchItemStatus::Success.as_str())
    .execute(conn)
    .await
    .map(|_| ())
}

/// `status, processed_cases, successful_cases, failed_cases` of a batch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchCounters {
    pub status: Option<String>,
    pub processed_cases: Option<i32>,
    pub successful_cases: Option<i32>,
    pub failed_cases: Option<i32>,
}

pub async fn counters(
    ex: impl PgExecutor<'_>,
    batch_id: Uuid,
) -> Result<Option<BatchCounters>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, processed_cases, successful_cases, failed_cases \
         FROM discharge_batches WHERE id = $1",
    )
    .bind(batch_id)
    .fetch_optional(ex)
    .await
}

/// Batches to (re)process, oldest first: `pending` ones; `processing` ones untouched for
/// `stale_after_secs` (their worker died); and `cancelled` ones that still have pending items
/// or queued calls/emails (cancelled with a plain UPDATE while no worker was on them).
pub async fn due(ex: impl PgExecutor<'_>, stale_after_secs: f64) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT b.id FROM discharge_batches b \
         WHERE b.status = $2 \
            OR (b.status = $3 AND b.updated_at < now() - make_interval(secs => $1)) \
            OR (b.status = $4 AND EXISTS ( \
                 SELECT 1 FROM discharge_batch_items i \
                 LEFT JOIN outbound_calls c ON c.id = i.outbound_call_id \
                 LEFT JOIN outbound_emails e ON e.id = i.outbound_email_id \
                 WHERE i.batch_id = b.id \
                   AND (i.status = $5 OR c.status = $6 OR e.status = $7))) \
         ORDER BY b.created_at, b.id",
    )
    .bind(stale_after_secs)
    .bind(crate::domain::status::BatchStatus::Pending.as_str())
    .bind(crate::domain::status::BatchStatus::Processing.as_str())
    .bind(crate::domain::status::BatchStatus::Cancelled.as_str())
    .bind(crate::domain::status::BatchItemStatus::Pending.as_str())
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .bind(crate::domain::status::EmailStatus::Queued.as_str())
    .fetch_all(ex)
    .await
}

// --- item follow-up (jobs/items) ---

/// Turns the `success` batch items of `outbound` into `failed` with `message` (a failed or
/// cancelled dispatch); the batch's counters are left alone (they count scheduling).
pub async fn fail_items_of(
    ex: impl PgExecutor<'_>,
    outbound: super::auto_scheduling::OutboundRef,
    message: &str,
) -> Result<(), sqlx::Error> {
    use super::auto_scheduling::OutboundRef;
    use crate::domain::status::BatchItemStatus as S;
    let sql = match outbound {
        OutboundRef::Call(_) => {
            "UPDATE discharge_batch_items SET status = $3, error_message = $2 \
             WHERE outbound_call_id = $1 AND status = $4"
        }
        OutboundRef::Email(_) => {
            "UPDATE discharge_batch_items SET status = $3, error_message = $2 \
             WHERE outbound_email_id = $1 AND status = $4"
        }
    };
    sqlx::query(sql)
        .bind(outbound.id())
        .bind(message)
        .bind(S::Failed.as_str())
        .bind(S::Success.as_str())
        .execute(ex)
        .await
        .map(|_| ())
}

// --- reads for operators (http/ops) ---

/// One batch as the console lists it, with its items counted by status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub clinic_name: Option<String>,
    pub status: Option<String>,
    pub total_cases: Option<i32>,
    pub processed_cases: Option<i32>,
    pub successful_cases: Option<i32>,
    pub failed_cases: Option<i32>,
    pub items_total: i64,
    pub items_done: i64,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The most recent batches, newest first; an item is done once it is no longer `pending`.
pub async fn recent(ex: impl PgExecutor<'_>, limit: i64) -> Result<Vec<BatchRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT b.id, b.clinic_id, c.name AS clinic_name, b.status, b.total_cases, \
                b.processed_cases, b.successful_cases, b.failed_cases, \
                (SELECT count(*) FROM discharge_batch_items i WHERE i.batch_id = b.id) AS items_total, \
                (SELECT count(*) FROM discharge_batch_items i \
                  WHERE i.batch_id = b.id AND i.status IS DISTINCT FROM $2) AS items_done, \
                b.created_at, b.started_at, b.completed_at, b.cancelled_at \
         FROM discharge_batches b JOIN clinics c ON c.id = b.clinic_id \
         ORDER BY b.created_at DESC NULLS LAST, b.id DESC LIMIT $1",
    )
    .bind(limit)
    .bind(crate::domain::status::BatchItemStatus::Pending.as_str())
    .fetch_all(ex)
    .await
}
