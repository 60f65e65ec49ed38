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

// ==== end webhooks (webhooks/vapi) ====

// ==== scheduling (scheduling/) ====

/// A follow-up call to write as `queued`; dispatch resolves assistant and phone number later.
#[derive(Debug, Clone)]
pub struct NewQueuedCall {
    pub id: Uuid,
    pub case_id: Uuid,
    pub customer_phone: String,
    pub scheduled_for: DateTime<Utc>,
    pub metadata: Value,
}

/// Writes the clinic's new calls as `queued`, in one statement.
pub async fn insert_queued(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
    calls: &[NewQueuedCall],
) -> Result<(), sqlx::Error> {
    if calls.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO outbound_calls (id, clinic_id, case_id, customer_phone, scheduled_for, status, metadata) \
         SELECT u.id, $1, u.case_id, u.phone, u.at, $7, u.meta \
         FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::jsonb[]) \
              AS u(id, case_id, phone, at, meta)",
    )
    .bind(clinic_id)
    .bind(calls.iter().map(|c| c.id).collect::<Vec<_>>())
    .bind(calls.iter().map(|c| c.case_id).collect::<Vec<_>>())
    .bind(calls.iter().map(|c| c.customer_phone.clone()).collect::<Vec<_>>())
    .bind(calls.iter().map(|c| c.scheduled_for).collect::<Vec<_>>())
    .bind(calls.iter().map(|c| c.metadata.clone()).collect::<Vec<_>>())
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

/// `scheduled_for` of the clinic's `queued` calls from `since` on: minutes already taken.
pub async fn queued_times(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT scheduled_for FROM outbound_calls \
         WHERE clinic_id = $1 AND status = $3 AND scheduled_for >= $2",
    )
    .bind(clinic_id)
    .bind(since)
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .fetch_all(ex)
    .await
}

/// Cancels the batch's calls still `queued` (not claimed by dispatch), merging `stop` and
/// `cancelled_at` into their metadata; returns their ids.
pub async fn cancel_queued_of_batch(
    ex: impl PgExecutor<'_>,
    batch_id: Uuid,
    stop: &Value,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE outbound_calls oc SET status = $3, \
           metadata = COALESCE(oc.metadata, '{}'::jsonb) || $2 || jsonb_build_object('cancelled_at', now()) \
         FROM discharge_batch_items i \
         WHERE i.batch_id = $1 AND i.outbound_call_id = oc.id AND oc.status = $4 RETURNING oc.id",
    )
    .bind(batch_id)
    .bind(stop)
    .bind(crate::domain::status::CallStatus::Cancelled.as_str())
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .fetch_all(ex)
    .await
}

// ==== end scheduling (scheduling/) ====
