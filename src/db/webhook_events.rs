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
    pub vapi_call_id: Option<&'a str>,
    pub headers: &'a serde_json::Value,
    pub payload: &'a [u8],
}

/// Inserts a delivery once per `(source, delivery_id)`: `None` when it is already stored (a
/// redelivery has no second effect, `docs/behaviour.md#inbox`).
pub async fn insert_new(
    exec: impl sqlx::PgExecutor<'_>,
    e: &NewEvent<'_>,
) -> Result<Option<uuid::Uuid>, sqlx::Error> {
    bind_event(
        sqlx::query_scalar(
            "INSERT INTO webhook_events (source, delivery_id, event_type, headers, payload, vapi_call_id)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (source, delivery_id) DO NOTHING
             RETURNING id",
        ),
        e,
    )
    .fetch_optional(exec)
    .await
}

/// Binds the delivery's six columns as `$1`–`$6`, in the order both inserts name them.
fn bind_event<'q>(
    q: sqlx::query::QueryScalar<'q, sqlx::Postgres, uuid::Uuid, sqlx::postgres::PgArguments>,
    e: &NewEvent<'q>,
) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, uuid::Uuid, sqlx::postgres::PgArguments> {
    q.bind(e.source)
        .bind(e.delivery_id)
        .bind(e.event_type)
        .bind(e.headers)
        .bind(e.payload)
        .bind(e.vapi_call_id)
}

const INSERT_SETTLED: &str =
    "INSERT INTO webhook_events (source, delivery_id, event_type, headers, payload, vapi_call_id,
                                 status, clinic_id, last_error, attempts, processed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, now())
     ON CONFLICT (source, delivery_id) DO NOTHING
     RETURNING id";

/// Prepares [`insert_settled`]'s statement on `conn` (with the parameter types it binds), the
/// insert every `tool-calls` answer makes, without writing: `db::connect_service`'s warm-up.
pub async fn prepare_insert_settled(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    use sqlx::{Executor, Postgres, Type};
    let text = <&str as Type<Postgres>>::type_info();
    let types = [
        text.clone(),
        text.clone(),
        text.clone(),
        <serde_json::Value as Type<Postgres>>::type_info(),
        <&[u8] as Type<Postgres>>::type_info(),
        text.clone(),
        text.clone(),
        <uuid::Uuid as Type<Postgres>>::type_info(),
        text,
    ];
    let sql = sqlx::SqlSafeStr::into_sql_str(INSERT_SETTLED);
    conn.prepare_with(sql, &types).await.map(|_| ())
}

/// Inserts a delivery whose outcome is already known (`docs/behaviour.md#inbox`: messages
/// answered synchronously are stored `skipped`), with that outcome, in one statement: one commit
/// instead of an insert and a processing transaction. `None` when it is already stored.
pub async fn insert_settled(
    exec: impl sqlx::PgExecutor<'_>,
    e: &NewEvent<'_>,
    status: EventStatus,
    clinic_id: Option<uuid::Uuid>,
    note: Option<&str>,
) -> Result<Option<uuid::Uuid>, sqlx::Error> {
    bind_event(sqlx::query_scalar(INSERT_SETTLED), e)
        .bind(status.as_str())
        .bind(clinic_id)
        .bind(note.map(crate::domain::text::storable))
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

// --- the operator console's inbox (http/ops) ---

/// The console's inbox filters; `None`/empty = any.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    pub source: Option<String>,
    pub status: Option<EventStatus>,
    pub event_type: Option<String>,
    pub clinic_id: Option<uuid::Uuid>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// A delivery id, an event id or a VAPI call id.
    pub search: Option<String>,
}

/// One line of the inbox list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxRow {
    pub id: uuid::Uuid,
    pub source: String,
    pub delivery_id: String,
    pub event_type: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub clinic_id: Option<uuid::Uuid>,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// The WHERE clause of [`InboxQuery`] on parameters `$1`…`$8` (bound by [`bind_query`]).
const INBOX_WHERE: &str = "($1::text IS NULL OR source = $1)
   AND ($2::text IS NULL OR status = $2)
   AND ($3::text IS NULL OR event_type = $3)
   AND ($4::uuid IS NULL OR clinic_id = $4)
   AND ($5::timestamptz IS NULL OR received_at >= $5)
   AND ($6::timestamptz IS NULL OR received_at < $6)
   AND ($7::text IS NULL OR id = $8::uuid OR vapi_call_id = $7
        OR (source, delivery_id) IN (('vapi', $7), ('clerk', $7), ('qstash', $7)))";

fn bind_query<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    f: &'q InboxQuery,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    let search = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    q.bind(f.source.as_deref())
        .bind(f.status.map(EventStatus::as_str))
        .bind(f.event_type.as_deref())
        .bind(f.clinic_id)
        .bind(f.since)
        .bind(f.until)
        .bind(search)
        .bind(search.and_then(|s| uuid::Uuid::parse_str(s).ok()))
}

/// A page of the inbox, newest first, strictly older than `before` (the last row of the
/// previous page: `(received_at, id)`), at most `limit` rows. Keyset, not OFFSET: every page
/// costs the same however deep, and rows inserted meanwhile (newer) never shift later pages.
pub async fn inbox_page(
    pool: &PgPool,
    f: &InboxQuery,
    before: Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>,
    limit: i64,
) -> Result<Vec<InboxRow>, sqlx::Error> {
    let sql = format!(
        "SELECT id, source, delivery_id, event_type, status, attempts, clinic_id, received_at
         FROM webhook_events
         WHERE {INBOX_WHERE}
           AND ($9::timestamptz IS NULL OR (received_at, id) < ($9, $10::uuid))
         ORDER BY received_at DESC, id DESC LIMIT $11"
    );
    bind_query(sqlx::query_as(sqlx::AssertSqlSafe(sql)), f)
        .bind(before.map(|b| b.0))
        .bind(before.map(|b| b.1))
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// Ids of the events matching `f`, oldest first, at most `limit` (replay-all).
pub async fn matching_ids(
    pool: &PgPool,
    f: &InboxQuery,
    limit: i64,
) -> Result<Vec<uuid::Uuid>, sqlx::Error> {
    let sql = format!(
        "SELECT id FROM webhook_events WHERE {INBOX_WHERE} ORDER BY received_at, id LIMIT $9"
    );
    let rows: Vec<(uuid::Uuid,)> = bind_query(sqlx::query_as(sqlx::AssertSqlSafe(sql)), f)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// How many events match `f`.
pub async fn count_matching(pool: &PgPool, f: &InboxQuery) -> Result<i64, sqlx::Error> {
    let sql = format!("SELECT count(*) FROM webhook_events WHERE {INBOX_WHERE}");
    let (n,): (i64,) = bind_query(sqlx::query_as(sqlx::AssertSqlSafe(sql)), f)
        .fetch_one(pool)
        .await?;
    Ok(n)
}

/// One stored event with everything the console's event page shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventDetail {
    pub id: uuid::Uuid,
    pub source: String,
    pub delivery_id: String,
    pub event_type: Option<String>,
    pub headers: serde_json::Value,
    pub payload: Vec<u8>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub processed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    pub clinic_id: Option<uuid::Uuid>,
}

pub async fn detail(pool: &PgPool, id: uuid::Uuid) -> Result<Option<EventDetail>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, source, delivery_id, event_type, headers, payload, status, attempts,
                last_error, received_at, processed_at, next_attempt_at, clinic_id
         FROM webhook_events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A row an event produced, for the event page's links: (kind, id, status).
pub async fn produced_by_vapi_call(
    pool: &PgPool,
    vapi_call_id: &str,
) -> Result<Vec<(String, uuid::Uuid, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT 'outbound_call', id, status FROM outbound_calls WHERE vapi_call_id = $1
         UNION ALL
         SELECT 'inbound_call', id, status FROM inbound_calls WHERE vapi_call_id = $1
         UNION ALL
         SELECT 'call_analysis', a.id, NULL FROM call_analysis a
           LEFT JOIN outbound_calls o ON o.id = a.outbound_call_id
           LEFT JOIN inbound_calls i ON i.id = a.inbound_call_id
           WHERE o.vapi_call_id = $1 OR i.vapi_call_id = $1",
    )
    .bind(vapi_call_id)
    .fetch_all(pool)
    .await
}
