//! `outbound_emails`: follow-up emails, from scheduling to Resend.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== dispatch (jobs/dispatch, jobs/sweep) ====

// ==== end dispatch (jobs/dispatch, jobs/sweep) ====

// ==== scheduling (scheduling/) ====

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
    let col = |f: fn(&NewQueuedEmail) -> String| emails.iter().map(f).collect::<Vec<_>>();
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
    .bind(col(|e| e.recipient_email.clone()))
    .bind(emails.iter().map(|e| e.recipient_name.clone()).collect::<Vec<_>>())
    .bind(col(|e| e.subject.clone()))
    .bind(col(|e| e.html.clone()))
    .bind(col(|e| e.text.clone()))
    .bind(emails.iter().map(|e| e.scheduled_for).collect::<Vec<_>>())
    .bind(emails.iter().map(|e| e.metadata.clone()).collect::<Vec<_>>())
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

// ==== end scheduling (scheduling/) ====
