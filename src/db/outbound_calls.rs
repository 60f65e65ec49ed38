//! `outbound_calls`: follow-up calls, from scheduling to VAPI's end-of-call report.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

// --- dispatch (jobs/dispatch, jobs/sweep) ---
//
// The claim lives in `metadata` (keys of `domain::dispatch_meta`, always bound): see
// `docs/behaviour.md#dispatch`.

/// A call row just claimed for dispatch.
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedCall {
    pub clinic_id: Uuid,
    pub case_id: Uuid,
    pub assistant_id: Option<String>,
    #[sqlx(rename = "outbound_phone_number_id")]
    pub phone_number_id: Option<String>,
    pub customer_phone: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub metadata: Option<Value>,
}

/// Claims a `queued`, unplaced, due and unclaimed call for `claimer`; `None` when another
/// dispatcher has it or it is not dispatchable (PostgreSQL re-checks the predicate after a
/// concurrent update, so exactly one racer wins).
pub async fn claim_for_dispatch(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    claimer: &str,
) -> Result<Option<ClaimedCall>, sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query_as(
        "UPDATE outbound_calls SET metadata = coalesce(metadata, '{}'::jsonb) \
           || jsonb_build_object($3::text, now(), $4::text, $2::text) \
         WHERE id = $1 AND status = $5 AND vapi_call_id IS NULL \
           AND (scheduled_for IS NULL OR scheduled_for <= now()) \
           AND NOT (coalesce(metadata, '{}'::jsonb) ? $3::text) \
           AND (metadata->>$6::text IS NULL OR (metadata->>$6::text)::timestamptz <= now()) \
         RETURNING clinic_id, case_id, assistant_id, outbound_phone_number_id, customer_phone, \
           scheduled_for, metadata",
    )
    .bind(id)
    .bind(claimer)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .bind(meta::RETRY_AT)
    .fetch_optional(ex)
    .await
}

/// What a call that could not be claimed looks like (to say why).
#[derive(Debug, sqlx::FromRow)]
pub struct CallDispatchState {
    pub status: Option<String>,
    pub placed: bool,
    pub claimed: bool,
}

pub async fn dispatch_state(
    ex: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<CallDispatchState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, vapi_call_id IS NOT NULL AS placed, \
           coalesce(metadata, '{}'::jsonb) ? $2::text AS claimed \
         FROM outbound_calls WHERE id = $1",
    )
    .bind(id)
    .bind(crate::domain::dispatch_meta::CLAIMED_AT)
    .fetch_optional(ex)
    .await
}

/// Gives back a claim whose request was never sent (no `SENDING_AT`); a claim past that point
/// stays, so the row is never placed twice.
pub async fn release_unsent_claim(ex: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query(
        "UPDATE outbound_calls SET metadata = metadata - $2::text - $3::text \
         WHERE id = $1 AND status = $4 AND NOT (metadata ? $5::text)",
    )
    .bind(id)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .bind(meta::SENDING_AT)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Drops the claim and the in-flight marker unconditionally (the provider was not reached).
pub async fn release_claim(ex: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query(
        "UPDATE outbound_calls SET metadata = coalesce(metadata, '{}'::jsonb) \
           - $2::text - $3::text - $4::text WHERE id = $1",
    )
    .bind(id)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .bind(meta::SENDING_AT)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Releases the row for a provider-advised retry in `after_secs`, counting the retry.
pub async fn release_for_retry(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    after_secs: f64,
    error: &str,
) -> Result<(), sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query(
        "UPDATE outbound_calls SET metadata = (coalesce(metadata, '{}'::jsonb) \
           - $4::text - $5::text - $6::text) \
           || jsonb_build_object( \
                $7::text, now() + make_interval(secs => $2), \
                $8::text, coalesce((metadata->>$8::text)::int, 0) + 1, \
                'last_dispatch_error', $3::text) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(after_secs)
    .bind(error)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .bind(meta::SENDING_AT)
    .bind(meta::RETRY_AT)
    .bind(meta::RETRIES)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Cancels a call whose case is blocked (`docs/behaviour.md#blocked-cases`).
pub async fn cancel_blocked(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_calls SET status = $3, metadata = coalesce(metadata, '{}'::jsonb) \
         || jsonb_build_object('blocked_at', now(), 'blocked_reason', $2::text, 'auto_blocked', true) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .bind(crate::domain::status::CallStatus::Cancelled.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

/// Moves a call to the clinic's next window opening and drops its claim.
pub async fn postpone_to_window(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    opening: DateTime<Utc>,
    scheduled_for: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    let reason = "outside the clinic's preferred call window";
    super::queue::postpone_row(
        ex,
        super::queue::DueTable::OutboundCalls,
        id,
        opening,
        scheduled_for,
        reason,
    )
    .await
}

/// Marks the request as about to go out: from here on its outcome may be unknown.
pub async fn mark_sending(ex: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_calls SET metadata = coalesce(metadata, '{}'::jsonb) \
         || jsonb_build_object($2::text, now()) WHERE id = $1",
    )
    .bind(id)
    .bind(crate::domain::dispatch_meta::SENDING_AT)
    .execute(ex)
    .await
    .map(|_| ())
}

/// What VAPI answered to a created call.
#[derive(Debug)]
pub struct PlacedCall<'a> {
    pub vapi_call_id: &'a str,
    pub status: crate::domain::status::CallStatus,
    pub started_at: Option<DateTime<Utc>>,
    /// Merged into `metadata`.
    pub extra: Value,
}

/// Records a placed call. A VAPI webhook may already have linked the row: never moves it
/// backwards (status and ids only fill gaps).
pub async fn record_placed(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    placed: PlacedCall<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_calls SET \
           status = CASE WHEN vapi_call_id IS NULL THEN $3 ELSE status END, \
           vapi_call_id = coalesce(vapi_call_id, $2), \
           started_at = coalesce(started_at, $4), \
           metadata = (coalesce(metadata, '{}'::jsonb) - $6::text) \
             || $5::jsonb || jsonb_build_object('executed_at', now()) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(placed.vapi_call_id)
    .bind(placed.status.as_str())
    .bind(placed.started_at)
    .bind(placed.extra)
    .bind(crate::domain::dispatch_meta::RETRY_AT)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Fails a call, merging `extra` (error, ambiguity, test-mode facts) into `metadata`.
pub async fn mark_failed(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    extra: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_calls SET status = $3, metadata = coalesce(metadata, '{}'::jsonb) \
         || $2::jsonb || jsonb_build_object('failed_at', now()) WHERE id = $1",
    )
    .bind(id)
    .bind(extra)
    .bind(crate::domain::status::CallStatus::Failed.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

/// Releases claims older than `stale` (a PostgreSQL interval, e.g. `10 minutes`) whose request
/// was never sent; returns how many.
pub async fn release_stale_unsent_claims(
    ex: impl PgExecutor<'_>,
    stale: &str,
) -> Result<u64, sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query(
        "UPDATE outbound_calls SET metadata = metadata - $2::text - $3::text \
         WHERE status = $4 AND vapi_call_id IS NULL AND metadata ? $2::text \
           AND NOT (metadata ? $5::text) \
           AND (metadata->>$2::text)::timestamptz < now() - $1::interval",
    )
    .bind(stale)
    .bind(meta::CLAIMED_AT)
    .bind(meta::CLAIMED_BY)
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .bind(meta::SENDING_AT)
    .execute(ex)
    .await
    .map(|r| r.rows_affected())
}

/// Fails, as ambiguous, calls whose request was in flight when their worker died (claim older
/// than `stale`): VAPI may have placed them, so they are never sent again. Returns their ids.
pub async fn fail_stale_in_flight(
    ex: impl PgExecutor<'_>,
    stale: &str,
    error: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    sqlx::query_scalar(
        "UPDATE outbound_calls SET status = $3, metadata = metadata || jsonb_build_object( \
           $7::text, true, 'failed_at', now(), 'error', $2::text) \
         WHERE status = $4 AND vapi_call_id IS NULL AND metadata ? $5::text \
           AND (metadata->>$6::text)::timestamptz < now() - $1::interval \
         RETURNING id",
    )
    .bind(stale)
    .bind(error)
    .bind(crate::domain::status::CallStatus::Failed.as_str())
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .bind(meta::SENDING_AT)
    .bind(meta::CLAIMED_AT)
    .bind(meta::AMBIGUOUS)
    .fetch_all(ex)
    .await
}

/// `queued`, unplaced, due and unclaimed calls that have no live job on `queue` (jobs keyed by
/// `outbound_call_id`), oldest first, at most `limit`.
pub async fn due_without_job(
    ex: impl PgExecutor<'_>,
    queue: &str,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    super::queue::due_rows_without_job(ex, super::queue::DueTable::OutboundCalls, queue, limit)
        .await
}

// --- webhooks (webhooks/vapi) ---

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
    super::inbound_calls::bind_common(
        sqlx::query(
            "UPDATE outbound_calls SET vapi_call_id = $2, assistant_id = $3,
            outbound_phone_number_id = $4, customer_phone = $5, status = $6, started_at = $7,
            ended_at = $8, ended_reason = $9, duration_seconds = $10,
            cost = $11::float8::numeric, recording_url = $12, stereo_recording_url = $13,
            transcript = $14, transcript_messages = $15, metadata = $16, updated_at = now()
         WHERE id = $1",
        ),
        r,
    )
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

// --- scheduling (scheduling/) ---

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
    .bind(
        calls
            .iter()
            .map(|c| c.customer_phone.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(calls.iter().map(|c| c.scheduled_for).collect::<Vec<_>>())
    .bind(calls.iter().map(|c| &c.metadata).collect::<Vec<_>>())
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

// --- reads for operators (http/ops) ---

/// An outbound call as the console's outbound page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecentCall {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub status: Option<String>,
    pub customer_phone: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub vapi_call_id: Option<String>,
    pub ended_reason: Option<String>,
    /// The provider's (or the dispatcher's) last error.
    pub error: Option<String>,
    /// Claimed by a dispatcher and not yet answered by VAPI.
    pub in_flight: bool,
}

/// Calls with one of `statuses` touched in the last 24 hours, most recent first.
pub async fn recent_for_ops(
    ex: impl PgExecutor<'_>,
    statuses: &[&str],
    limit: i64,
) -> Result<Vec<RecentCall>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, clinic_id, status, customer_phone, scheduled_for, updated_at, vapi_call_id, \
                ended_reason, metadata->>'error' AS error, \
                coalesce(metadata, '{}'::jsonb) ? $3::text AS in_flight \
         FROM outbound_calls \
         WHERE status = ANY($1) AND coalesce(updated_at, created_at) > now() - interval '24 hours' \
         ORDER BY coalesce(updated_at, created_at) DESC LIMIT $2",
    )
    .bind(statuses)
    .bind(limit)
    .bind(crate::domain::dispatch_meta::CLAIMED_AT)
    .fetch_all(ex)
    .await
}
