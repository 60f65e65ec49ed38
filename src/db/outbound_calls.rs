//! `outbound_calls`: follow-up calls, from scheduling to VAPI's end-of-call report.

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

// ==== webhooks (webhooks/vapi) ====

/// What a QStash `execute-call` trigger needs: `(clinic_id, status, scheduled_for)`.
pub async fn trigger_target(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, String, Option<DateTime<Utc>>)>, sqlx::Error> {
    sqlx::query_as("SELECT clinic_id, status, scheduled_for FROM outbound_calls WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Locks the row of a VAPI call for the merge (`docs/behaviour.md#vapi-calls`); the column
/// list is the shape both call tables share ([`super::inbound_calls::CallRow`]).
pub async fn lock_by_vapi_call(
    conn: &mut PgConnection,
    vapi_call_id: &str,
) -> Result<Option<super::inbound_calls::CallRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        super::inbound_calls::outbound_call_row_columns!(),
        " FROM outbound_calls WHERE vapi_call_id = $1 FOR UPDATE"
    ))
    .bind(vapi_call_id)
    .fetch_optional(conn)
    .await
}

/// Locks the row the dispatcher named in the call's metadata.
pub async fn lock_by_id(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<super::inbound_calls::CallRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        super::inbound_calls::outbound_call_row_columns!(),
        " FROM outbound_calls WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Writes a merged row back (the lock is held since [`lock_by_vapi_call`] / [`lock_by_id`]).
pub async fn write_merged(
    conn: &mut PgConnection,
    r: &super::inbound_calls::CallRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_calls SET vapi_call_id = $2, assistant_id = $3,
            outbound_phone_number_id = $4, customer_phone = $5, status = $6, started_at = $7,
            ended_at = $8, ended_reason = $9, duration_seconds = $10,
            cost = $11::float8::numeric, recording_url = $12, stereo_recording_url = $13,
            transcript = $14, transcript_messages = $15, metadata = $16, updated_at = now()
         WHERE id = $1",
    )
    .bind(r.id)
    .bind(&r.vapi_call_id)
    .bind(&r.assistant_id)
    .bind(&r.phone_number_id)
    .bind(&r.customer_phone)
    .bind(&r.status)
    .bind(r.started_at)
    .bind(r.ended_at)
    .bind(&r.ended_reason)
    .bind(r.duration_seconds)
    .bind(r.cost)
    .bind(&r.recording_url)
    .bind(&r.stereo_recording_url)
    .bind(&r.transcript)
    .bind(&r.transcript_messages)
    .bind(&r.metadata)
    .execute(conn)
    .await
    .map(|_| ())
}

/// The next attempt of an unanswered outbound call (`docs/behaviour.md#vapi-outbound-retry`).
pub struct RetryOf<'a> {
    /// The failed attempt's row.
    pub failed_id: Uuid,
    pub scheduled_for: DateTime<Utc>,
    pub attempt: i64,
    /// Metadata keys the retry row must not inherit: the failed attempt's own call notes and
    /// the dispatcher's claim, which would make the dispatcher refuse the new row.
    pub drop_keys: &'a [&'a str],
}

/// Inserts the retry row, at most once per failed attempt (the `NOT EXISTS` on `retry_of`
/// makes redeliveries and the status-update/report pair create one row; the failed row's
/// lock, held since the merge, serializes them).
pub async fn insert_retry(conn: &mut PgConnection, r: &RetryOf<'_>) -> Result<(), sqlx::Error> {
    use crate::domain::dispatch_meta;
    sqlx::query(
        "INSERT INTO outbound_calls (clinic_id, case_id, assistant_id, outbound_phone_number_id,
                                     customer_phone, scheduled_for, status, metadata)
         SELECT o.clinic_id, o.case_id, o.assistant_id, o.outbound_phone_number_id,
                o.customer_phone, $2, $4,
                (COALESCE(o.metadata, '{}'::jsonb) - $5::text[])
                  || jsonb_build_object($6::text, $3::bigint, $7::text, o.id::text,
                                        'retry_reason', o.ended_reason)
         FROM outbound_calls o
         WHERE o.id = $1
           AND NOT EXISTS (SELECT 1 FROM outbound_calls r WHERE r.metadata->>$7 = $1::text)",
    )
    .bind(r.failed_id)
    .bind(r.scheduled_for)
    .bind(r.attempt)
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .bind(r.drop_keys)
    .bind(dispatch_meta::ATTEMPT)
    .bind(dispatch_meta::RETRY_OF)
    .execute(conn)
    .await
    .map(|_| ())
}

// ==== end webhooks (webhooks/vapi) ====

// ==== scheduling (scheduling/) ====

// ==== end scheduling (scheduling/) ====
