//! `outbound_emails`: follow-up emails, from scheduling to Resend.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

// --- dispatch (jobs/dispatch, jobs/sweep) ---
//
// The claim lives in `metadata` (keys of `domain::dispatch_meta`, always bound): see
// `docs/behaviour.md#dispatch-email`.

/// An email row just claimed for sending.
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedEmail {
    pub clinic_id: Uuid,
    pub case_id: Uuid,
    pub recipient_email: String,
    pub recipient_name: Option<String>,
    pub subject: Option<String>,
    pub html_content: Option<String>,
    pub text_content: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub metadata: Value,
}

/// Claims a `queued`, unsent, due and unclaimed email for `claimer` (one racer wins).
pub async fn claim_for_dispatch(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    claimer: &str,
) -> Result<Option<ClaimedEmail>, sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query_as(
        "UPDATE outbound_emails SET metadata = coalesce(metadata, '{}'::jsonb) \
           || jsonb_build_object($3::text, now(), $4::text, $2::text) \
         WHERE id = $1 AND status = $5 AND resend_email_id IS NULL \
           AND (scheduled_for IS NULL OR scheduled_for <= now()) \
           AND NOT (coalesce(metadata, '{}'::jsonb) ? $3::text) \
           AND (metadata->>$6::text IS NULL OR (metadata->>$6::text)::timestamptz <= now()) \
         RETURNING clinic_id, case_id, recipient_email, recipient_name, subject, html_content, \
           text_content, scheduled_for, coalesce(metadata, '{}'::jsonb) AS metadata",
    )
    .bind(id)
    .bind(claimer)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .bind(crate::domain::status::EmailStatus::Queued.as_str())
    .bind(meta::RETRY_AT)
    .fetch_optional(ex)
    .await
}

/// The row's status: `None` when the row does not exist (the inner `None` is a NULL status).
pub async fn status_of(
    ex: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM outbound_emails WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// Cancels an email whose case is blocked (`docs/behaviour.md#blocked-cases`).
pub async fn cancel_blocked(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_emails SET status = $3, metadata = coalesce(metadata, '{}'::jsonb) \
         || jsonb_build_object('blocked_reason', $2::text, 'cancelled_at', now()) WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .bind(crate::domain::status::EmailStatus::Cancelled.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

/// Records a sent email, merging `extra` (test-mode facts) into `metadata`.
pub async fn record_sent(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    resend_email_id: &str,
    extra: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_emails SET status = $4, sent_at = now(), resend_email_id = $2, \
           metadata = (coalesce(metadata, '{}'::jsonb) - $5::text) || $3::jsonb \
             || jsonb_build_object('sent_at', now()) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(resend_email_id)
    .bind(extra)
    .bind(crate::domain::status::EmailStatus::Sent.as_str())
    .bind(crate::domain::dispatch_meta::RETRY_AT)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Releases the row for another send in `after_secs`, recording the attempts so far.
pub async fn release_for_retry(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    after_secs: f64,
    attempts: i32,
    error: &str,
) -> Result<(), sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query(
        "UPDATE outbound_emails SET metadata = (coalesce(metadata, '{}'::jsonb) \
           - $5::text - $6::text) \
           || jsonb_build_object($7::text, now() + make_interval(secs => $2), \
                $8::text, $3::int, 'last_dispatch_error', $4::text) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(after_secs)
    .bind(attempts)
    .bind(error)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .bind(meta::RETRY_AT)
    .bind(meta::ATTEMPTS)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Fails an email, merging `extra` (error, test-mode facts) into `metadata`.
pub async fn mark_failed(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    extra: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_emails SET status = $3, metadata = coalesce(metadata, '{}'::jsonb) \
         || $2::jsonb || jsonb_build_object('failed_at', now()) WHERE id = $1",
    )
    .bind(id)
    .bind(extra)
    .bind(crate::domain::status::EmailStatus::Failed.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

/// Moves an email due outside waking hours to the next opening and drops its claim (still
/// `queued`; `docs/behaviour.md#email-waking-hours`).
pub async fn postpone_to_waking_hours(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    opening: DateTime<Utc>,
    scheduled_for: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    let reason = "outside waking hours in the clinic's time zone";
    super::queue::postpone_row(
        ex,
        super::queue::DueTable::OutboundEmails,
        id,
        opening,
        scheduled_for,
        reason,
    )
    .await
}

/// Drops the claim (always safe for emails: a repeated send carries the same idempotency key).
pub async fn release_claim(ex: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query(
        "UPDATE outbound_emails SET metadata = coalesce(metadata, '{}'::jsonb) \
           - $2::text - $3::text WHERE id = $1",
    )
    .bind(id)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Releases claims older than `stale` (a PostgreSQL interval); returns how many.
pub async fn release_stale_claims(
    ex: impl PgExecutor<'_>,
    stale: &str,
) -> Result<u64, sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query(
        "UPDATE outbound_emails SET metadata = metadata - $2::text - $3::text \
         WHERE status = $4 AND resend_email_id IS NULL AND metadata ? $2::text \
           AND (metadata->>$2::text)::timestamptz < now() - $1::interval",
    )
    .bind(stale)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .bind(crate::domain::status::EmailStatus::Queued.as_str())
    .execute(ex)
    .await
    .map(|r| r.rows_affected())
}

/// `queued`, unsent, due and unclaimed emails that have no live job on `queue` (jobs keyed by
/// `outbound_email_id`), oldest first, at most `limit`.
pub async fn due_without_job(
    ex: impl PgExecutor<'_>,
    queue: &str,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    super::queue::due_rows_without_job(ex, super::queue::DueTable::OutboundEmails, queue, limit)
        .await
}

// --- scheduling (scheduling/) ---

/// A follow-up email to write as `queued`, its content generated at scheduling time.
#[derive(Debug, Clone)]
pub struct NewQueuedEmail {
    pub id: Uuid,
    pub case_id: Uuid,
    pub recipient_email: String,
    pub recipient_name: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub scheduled_for: DateTime<Utc>,
    pub metadata: Value,
}

/// Writes the clinic's new emails as `queued`, in one statement.
pub async fn insert_queued(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
    emails: &[NewQueuedEmail],
) -> Result<(), sqlx::Error> {
    if emails.is_empty() {
        return Ok(());
    }
    // Borrowed, not cloned: a page's rendered bodies are a few MB (docs/benchmarks.md).
    let col = |f: fn(&NewQueuedEmail) -> &str| emails.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO outbound_emails (id, clinic_id, case_id, recipient_email, recipient_name, \
         subject, html_content, text_content, scheduled_for, status, metadata) \
         SELECT u.id, $1, u.case_id, u.recipient, u.name, u.subject, u.html, u.body, u.at, $11, u.meta \
         FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], \
                     $8::text[], $9::timestamptz[], $10::jsonb[]) \
              AS u(id, case_id, recipient, name, subject, html, body, at, meta)",
    )
    .bind(clinic_id)
    .bind(emails.iter().map(|e| e.id).collect::<Vec<_>>())
    .bind(emails.iter().map(|e| e.case_id).collect::<Vec<_>>())
    .bind(col(|e| &e.recipient_email))
    .bind(
        emails
            .iter()
            .map(|e| e.recipient_name.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(col(|e| &e.subject))
    .bind(col(|e| &e.html))
    .bind(col(|e| &e.text))
    .bind(emails.iter().map(|e| e.scheduled_for).collect::<Vec<_>>())
    .bind(emails.iter().map(|e| &e.metadata).collect::<Vec<_>>())
    .bind(crate::domain::status::EmailStatus::Queued.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

/// Cancels the batch's emails still `queued` (not claimed by dispatch), merging `stop` and
/// `cancelled_at` into their metadata; returns their ids.
pub async fn cancel_queued_of_batch(
    ex: impl PgExecutor<'_>,
    batch_id: Uuid,
    stop: &Value,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE outbound_emails oe SET status = $3, \
           metadata = COALESCE(oe.metadata, '{}'::jsonb) || $2 || jsonb_build_object('cancelled_at', now()) \
         FROM discharge_batch_items i \
         WHERE i.batch_id = $1 AND i.outbound_email_id = oe.id AND oe.status = $4 RETURNING oe.id",
    )
    .bind(batch_id)
    .bind(stop)
    .bind(crate::domain::status::EmailStatus::Cancelled.as_str())
    .bind(crate::domain::status::EmailStatus::Queued.as_str())
    .fetch_all(ex)
    .await
}

// --- webhooks (webhooks/qstash) ---

/// What a QStash `execute-email` trigger needs: `(clinic_id, status, scheduled_for)`.
pub async fn trigger_target(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, String, Option<DateTime<Utc>>)>, sqlx::Error> {
    sqlx::query_as("SELECT clinic_id, status, scheduled_for FROM outbound_emails WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

// --- reads for operators (http/ops) ---

/// An outbound email as the console's outbound page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecentEmail {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub status: Option<String>,
    pub recipient_email: String,
    pub scheduled_for: Option<chrono::DateTime<chrono::Utc>>,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resend_email_id: Option<String>,
    /// The provider's (or the dispatcher's) last error.
    pub error: Option<String>,
    /// Claimed by a dispatcher and not yet accepted by Resend.
    pub in_flight: bool,
}

/// Emails with one of `statuses` touched in the last 24 hours, most recent first.
pub async fn recent_for_ops(
    ex: impl PgExecutor<'_>,
    statuses: &[&str],
    limit: i64,
) -> Result<Vec<RecentEmail>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, clinic_id, status, recipient_email, scheduled_for, updated_at, \
                resend_email_id, metadata->>'error' AS error, \
                coalesce(metadata, '{}'::jsonb) ? $3::text AS in_flight \
         FROM outbound_emails \
         WHERE status = ANY($1) AND coalesce(updated_at, created_at) > now() - interval '24 hours' \
         ORDER BY coalesce(updated_at, created_at) DESC LIMIT $2",
    )
    .bind(statuses)
    .bind(limit)
    .bind(crate::domain::dispatch_meta::CLAIMED_AT)
    .fetch_all(ex)
    .await
}
