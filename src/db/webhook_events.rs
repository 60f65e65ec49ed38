//! `webhook_events`: the inbox (`docs/behaviour.md#inbox`).

use sqlx::PgPool;

use crate::domain::status::EventStatus;

// --- reads for operators (http/health, http/metrics) ---

/// Events per status (every status present, zero when none).
pub async fn count_by_status(pool: &PgPool) -> Result<Vec<(EventStatus, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM webhook_events GROUP BY status")
            .fetch_all(pool)
            .await?;
    Ok(EventStatus::ALL
        .iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|(r, _)| r == s.as_str())
                .map_or(0, |(_, n)| *n);
            (*s, n)
        })
        .collect())
}

/// Events still to be (re)processed: `failed` and `pending`.
pub async fn retry_backlog(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE status IN ($1, $2)")
        .bind(EventStatus::Failed.as_str())
        .bind(EventStatus::Pending.as_str())
        .fetch_one(pool)
        .await
}

// --- inbox store/process/replay (webhooks/inbox, replay) ---

/// A delivery as `webhook_events` stores it.
pub struct NewEvent<'a> {
    pub source: &'a str,
    pub delivery_id: &'a str,
    pub event_type: Option<&'a str>,
    pub headers: &'a serde_json::Value,
    pub payload: &'a [u8],
}

/// Inserts a delivery once per `(source, delivery_id)`: `None` when it is already stored (a
/// redelivery has no second effect, `docs/behaviour.md#inbox`).
pub async fn insert_new(
    exec: impl sqlx::PgExecutor<'_>,
    e: &NewEvent<'_>,
) -> Result<Option<uuid::Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO webhook_events (source, delivery_id, event_type, headers, payload)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (source, delivery_id) DO NOTHING
         RETURNING id",
    )
    .bind(e.source)
    .bind(e.delivery_id)
    .bind(e.event_type)
    .bind(e.headers)
    .bind(e.payload)
    .fetch_optional(exec)
    .await
}

/// The stored event of a delivery and its status (`None` for a value written by someone else).
pub async fn find_delivery(
    exec: impl sqlx::PgExecutor<'_>,
    source: &str,
    delivery_id: &str,
) -> Result<(uuid::Uuid, Option<EventStatus>), sqlx::Error> {
    let (id, status): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT id, status FROM webhook_events WHERE source = $1 AND delivery_id = $2",
    )
    .bind(source)
    .bind(delivery_id)
    .fetch_one(exec)
    .await?;
    Ok((id, EventStatus::parse(&status)))
}

/// A stored event as the processors read it.
#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub id: uuid::Uuid,
    pub source: String,
    pub delivery_id: String,
    pub event_type: Option<String>,
    pub headers: serde_json::Value,
    pub payload: Vec<u8>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub attempts: i32,
}

/// Locks an event for processing; `None` when it does not exist or another transaction holds
/// it (`SKIP LOCKED`: a delivery and the retry job never process one event at once).
pub async fn lock_for_processing(
    conn: &mut sqlx::PgConnection,
    id: uuid::Uuid,
) -> Result<Option<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, source, delivery_id, event_type, headers, payload, received_at, attempts
         FROM webhook_events WHERE id = $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn exists(exec: impl sqlx::PgExecutor<'_>, id: uuid::Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhook_events WHERE id = $1)")
        .bind(id)
        .fetch_one(exec)
        .await
}

/// Opens the savepoint a processor runs under: the event's row lock survives undoing the
/// processor's writes.
pub async fn savepoint_processing(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SAVEPOINT processing")
        .execute(conn)
        .await
        .map(|_| ())
}

/// Undoes everything the processor wrote since [`savepoint_processing`].
pub async fn rollback_processing(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("ROLLBACK TO SAVEPOINT processing")
        .execute(conn)
        .await
        .map(|_| ())
}

/// Records a processor's outcome (`processed`, `skipped` or `unmatched`). Texts here come from
/// payloads: they are made storable (`domain::text`), so recording an outcome cannot fail on them.
pub async fn mark_done(
    conn: &mut sqlx::PgConnection,
    id: uuid::Uuid,
    status: EventStatus,
    clinic_id: Option<uuid::Uuid>,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_events
         SET status = $2, clinic_id = COALESCE($3, clinic_id), last_error = $4,
             attempts = attempts + 1, processed_at = now(), next_attempt_at = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(clinic_id)
    .bind(note.map(crate::domain::text::storable))
    .execute(conn)
    .await
    .map(|_| ())
}

/// A malformed payload: kept as `invalid`, never retried.
pub async fn mark_invalid(
    conn: &mut sqlx::PgConnection,
    id: uuid::Uuid,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_events
         SET status = $3, last_error = $2, attempts = attempts + 1,
             processed_at = now(), next_attempt_at = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(crate::domain::text::storable(error))
    .bind(EventStatus::Invalid.as_str())
    .execute(conn)
    .await
    .map(|_| ())
}

/// A failed attempt: `failed`, retried by the worker at `next_attempt_at` (never when `None`).
pub async fn mark_failed(
    conn: &mut sqlx::PgConnection,
    id: uuid::Uuid,
    error: &str,
    next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_events
         SET status = $4, last_error = $2, attempts = attempts + 1, next_attempt_at = $3
         WHERE id = $1",
    )
    .bind(id)
    .bind(crate::domain::text::storable(error))
    .bind(next_attempt_at)
    .bind(EventStatus::Failed.as_str())
    .execute(conn)
    .await
    .map(|_| ())
}

/// Which stored events `replay --inbox` re-processes.
pub struct ReplaySelection<'a> {
    /// One event, whatever its status.
    pub id: Option<uuid::Uuid>,
    pub statuses: &'a [EventStatus],
    pub source: Option<&'a str>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// `(id, source, event_type)` of the events to replay, oldest first.
pub async fn replay_candidates(
    exec: impl sqlx::PgExecutor<'_>,
    sel: &ReplaySelection<'_>,
) -> Result<Vec<(uuid::Uuid, String, Option<String>)>, sqlx::Error> {
    let statuses: Vec<&str> = sel.statuses.iter().map(|s| s.as_str()).collect();
    sqlx::query_as(
        "SELECT id, source, event_type FROM webhook_events
         WHERE ($1::uuid IS NULL OR id = $1)
           AND ($1::uuid IS NOT NULL OR status = ANY($2))
           AND ($3::text IS NULL OR source = $3)
           AND ($4::timestamptz IS NULL OR received_at >= $4)
           AND payload_pruned_at IS NULL
         ORDER BY received_at, id",
    )
    .bind(sel.id)
    .bind(&statuses)
    .bind(sel.source)
    .bind(sel.since)
    .fetch_all(exec)
    .await
}

// --- retention (jobs/prune) ---

/// Drops the raw payload (keeping the row, its status and headers) of at most `batch`
/// `processed`/`skipped` events received more than `older_than_secs` ago; returns how many.
/// Events that may still need their payload (`failed`, `unmatched`, `invalid`, `pending`) are
/// never touched (`docs/behaviour.md#retention`).
pub async fn prune_payloads_batch(
    ex: impl sqlx::PgExecutor<'_>,
    older_than_secs: f64,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let done = [
        EventStatus::Processed.as_str(),
        EventStatus::Skipped.as_str(),
    ];
    sqlx::query(
        "UPDATE webhook_events SET payload = ''::bytea, payload_pruned_at = now() \
         WHERE id IN (SELECT id FROM webhook_events \
           WHERE status = ANY($1) AND received_at < now() - make_interval(secs => $2) \
             AND payload_pruned_at IS NULL \
           LIMIT $3 FOR UPDATE SKIP LOCKED)",
    )
    .bind(&done[..])
    .bind(older_than_secs)
    .bind(batch)
    .execute(ex)
    .await
    .map(|r| r.rows_affected())
}

// --- inbox retry claim (jobs/inbox_retry) ---

/// Claims up to `limit` events whose retry is due — `failed` past their `next_attempt_at`, and
/// `pending` ones older than a minute (their first processing never ran) — by pushing
/// `next_attempt_at` five minutes forward in the same statement (`FOR UPDATE SKIP LOCKED`), so
/// concurrent ticks never claim one event twice. Returns their ids, oldest first.
pub async fn claim_due_for_retry(
    ex: impl sqlx::PgExecutor<'_>,
    limit: i64,
) -> Result<Vec<uuid::Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE webhook_events SET next_attempt_at = now() + interval '5 minutes'
         WHERE id IN (
           SELECT id FROM webhook_events
           WHERE (status = $2 AND next_attempt_at <= now())
              OR (status = $3 AND received_at < now() - interval '1 minute'
                  AND (next_attempt_at IS NULL OR next_attempt_at <= now()))
           ORDER BY received_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(limit)
    .bind(EventStatus::Failed.as_str())
    .bind(EventStatus::Pending.as_str())
    .fetch_all(ex)
    .await
}
