//! The job queue as data: every job kind's payload, queue name and attempt limit, and pushing
//! jobs onto apalis-postgres's storage. Everything that touches the `apalis` schema lives in
//! this module; the handlers that run the jobs live in `jobs/` (`docs/behaviour.md#jobs`).

use std::fmt::Debug;
use std::time::Duration;

use apalis::prelude::TaskBuilder;
use apalis_postgres::PostgresStorage;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// One kind of durable job: what is stored, where, and how often it may be tried.
pub trait Job:
    Serialize + DeserializeOwned + Clone + Debug + Send + Sync + Unpin + 'static
{
    /// The apalis queue (`apalis.jobs.job_type`); never rename once jobs exist.
    const QUEUE: &'static str;
    /// Attempts in total, the first included, before the job is left dead.
    const MAX_ATTEMPTS: usize;
}

/// Places one `outbound_calls` row through VAPI.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DispatchCall {
    pub outbound_call_id: Uuid,
}

impl Job for DispatchCall {
    const QUEUE: &'static str = "odis.dispatch_call";
    const MAX_ATTEMPTS: usize = 3;
}

/// Sends one `outbound_emails` row through Resend.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DispatchEmail {
    pub outbound_email_id: Uuid,
}

impl Job for DispatchEmail {
    const QUEUE: &'static str = "odis.dispatch_email";
    const MAX_ATTEMPTS: usize = 3;
}

/// The auto-scheduling run (all clinics when `clinic_ids` is `None`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AutoScheduleRun {
    pub clinic_ids: Option<Vec<Uuid>>,
    pub dry_run: bool,
}

impl Job for AutoScheduleRun {
    const QUEUE: &'static str = "odis.auto_schedule_run";
    const MAX_ATTEMPTS: usize = 3;
}

/// Processes one discharge batch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessDischargeBatch {
    pub batch_id: Uuid,
}

impl Job for ProcessDischargeBatch {
    const QUEUE: &'static str = "odis.process_discharge_batch";
    const MAX_ATTEMPTS: usize = 5;
}

/// Processes one stored webhook event again.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReprocessWebhook {
    pub event_id: Uuid,
}

impl Job for ReprocessWebhook {
    const QUEUE: &'static str = "odis.reprocess_webhook";
    const MAX_ATTEMPTS: usize = 3;
}

/// Posts the staff alert of one urgent `clinic_messages` row to the clinic's Slack channels.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SlackAlert {
    pub message_id: Uuid,
}

impl Job for SlackAlert {
    const QUEUE: &'static str = "odis.slack_alert";
    const MAX_ATTEMPTS: usize = 5;
}

/// The job could not be stored.
#[derive(Debug, thiserror::Error)]
#[error("cannot enqueue job: {0}")]
pub struct EnqueueError(pub String);

/// Creates apalis's tables (schema `apalis`, its own `apalis._sqlx_migrations`), then drops the
/// two indexes of `apalis.jobs` that duplicate another one (`DROP_DUPLICATE_INDEXES`).
/// Idempotent; run at start-up beside our migrator.
pub async fn setup(pool: &PgPool) -> Result<(), apalis_postgres::Error> {
    PostgresStorage::setup(pool).await?;
    sqlx::query(DROP_DUPLICATE_INDEXES).execute(pool).await?;
    Ok(())
}

/// apalis-postgres's first migration created `unique_job_id` (unique on `id`) and `lidx` (on
/// `lock_by`); later ones added the primary key on `id` and `idx_apalis_jobs_lock_by`, and kept
/// both old ones. Every job is updated twice (claimed, finished) and neither update can be HOT
/// (both change `status`, which the fetch index's predicate reads), so each duplicate costs an
/// index entry and a WAL record per update (`docs/benchmarks.md`, "Job engine"). Each is dropped
/// only while its twin exists, by name and `IF EXISTS`: a no-op once done, and after apalis's
/// migrator, whose history (`apalis._sqlx_migrations`) never runs the migration that created them
/// again. A later apalis migration that names either index needs this revisited (apalis is
/// pinned, `Cargo.toml`; `docs/schema-deviations.md`).
const DROP_DUPLICATE_INDEXES: &str = "
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index WHERE indrelid = 'apalis.jobs'::regclass AND indisprimary) THEN
        DROP INDEX IF EXISTS apalis.unique_job_id;
    END IF;
    IF to_regclass('apalis.idx_apalis_jobs_lock_by') IS NOT NULL THEN
        DROP INDEX IF EXISTS apalis.lidx;
    END IF;
END
$$";

/// The storage configuration of `K`'s queue.
pub fn storage_config<K: Job>() -> apalis_postgres::Config {
    apalis_postgres::Config::default().queue(K::QUEUE)
}

/// Pushes `job` onto its queue, to run after `run_after` (now when `None`).
pub async fn enqueue<K: Job>(
    pool: &PgPool,
    job: K,
    run_after: Option<Duration>,
) -> Result<(), EnqueueError> {
    let mut storage = PostgresStorage::<K>::new(pool).with_config(storage_config::<K>());
    let mut builder = TaskBuilder::new(job).max_attempts(K::MAX_ATTEMPTS);
    if let Some(delay) = run_after {
        builder = builder.run_after(delay);
    }
    apalis::prelude::TaskSink::push_task(&mut storage, builder.build())
        .await
        .map_err(|e| EnqueueError(e.to_string()))?;
    crate::metrics::job(K::QUEUE, "enqueued");
    Ok(())
}

/// Dispatches one `outbound_calls` row (now, or after `run_after`). Safe to call any number
/// of times: only one dispatch can claim the row.
pub async fn enqueue_dispatch_call(
    pool: &PgPool,
    outbound_call_id: Uuid,
    run_after: Option<Duration>,
) -> Result<(), EnqueueError> {
    enqueue(pool, DispatchCall { outbound_call_id }, run_after).await
}

/// Sends one `outbound_emails` row (now, or after `run_after`). Idempotent like the call one.
pub async fn enqueue_dispatch_email(
    pool: &PgPool,
    outbound_email_id: Uuid,
    run_after: Option<Duration>,
) -> Result<(), EnqueueError> {
    enqueue(pool, DispatchEmail { outbound_email_id }, run_after).await
}

pub async fn enqueue_auto_schedule_run(
    pool: &PgPool,
    clinic_ids: Option<Vec<Uuid>>,
    dry_run: bool,
) -> Result<(), EnqueueError> {
    let job = AutoScheduleRun {
        clinic_ids,
        dry_run,
    };
    enqueue(pool, job, None).await
}

pub async fn enqueue_process_discharge_batch(
    pool: &PgPool,
    batch_id: Uuid,
) -> Result<(), EnqueueError> {
    enqueue(pool, ProcessDischargeBatch { batch_id }, None).await
}

// --- reads for operators (http/health, http/metrics) ---

/// The queue's health, from apalis's tables (`None` when they do not exist yet).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct QueueHealth {
    pub pending: i64,
    pub running: i64,
    pub dead: i64,
    pub oldest_due_seconds: f64,
    pub live_workers: i64,
}

/// Whether apalis's tables exist (created by [`setup`]).
pub async fn tables_exist(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT to_regclass('apalis.jobs') IS NOT NULL")
        .fetch_one(pool)
        .await
}

/// Backlog, running and dead jobs, age of the oldest due job, workers seen in the last minute.
pub async fn health(pool: &PgPool) -> Result<Option<QueueHealth>, sqlx::Error> {
    if !tables_exist(pool).await? {
        return Ok(None);
    }
    let (pending, running, dead, oldest_due): (i64, i64, i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status IN ('Pending', 'Queued')),
                count(*) FILTER (WHERE status = 'Running'),
                count(*) FILTER (WHERE status IN ('Failed', 'Killed') AND attempts >= max_attempts
                                 OR status = 'Killed'),
                extract(epoch FROM now() - min(run_at) FILTER (WHERE status IN ('Pending', 'Queued') AND run_at <= now()))::float8
         FROM apalis.jobs",
    )
    .fetch_one(pool)
    .await?;
    let live_workers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.workers WHERE last_seen > now() - interval '1 minute'",
    )
    .fetch_one(pool)
    .await?;
    Ok(Some(QueueHealth {
        pending,
        running,
        dead,
        oldest_due_seconds: oldest_due.unwrap_or(0.0),
        live_workers,
    }))
}

/// Jobs waiting or running, by queue; and the age in seconds of the oldest due job.
pub async fn depth(pool: &PgPool) -> Result<Option<(Vec<(String, i64)>, f64)>, sqlx::Error> {
    if !tables_exist(pool).await? {
        return Ok(None);
    }
    let depth: Vec<(String, i64)> = sqlx::query_as(
        "SELECT job_type, count(*) FROM apalis.jobs
         WHERE status IN ('Pending', 'Queued', 'Running') GROUP BY job_type",
    )
    .fetch_all(pool)
    .await?;
    let oldest: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - min(run_at))::float8 FROM apalis.jobs
         WHERE status IN ('Pending', 'Queued') AND run_at <= now()",
    )
    .fetch_one(pool)
    .await?;
    Ok(Some((depth, oldest.unwrap_or(0.0))))
}

// --- wake-ups (jobs/wake) ---

/// The channel apalis-postgres's insert trigger notifies (`apalis.notify_new_jobs`: one
/// notification per inserted job that is due now, payload `{"job_type", "id", "run_at"}`).
pub const INSERT_CHANNEL: &str = "apalis::job::insert";

/// A dedicated connection listening for inserted jobs.
pub async fn listen_for_inserts(pool: &PgPool) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(INSERT_CHANNEL).await?;
    Ok(listener)
}

/// The queue a notification on [`INSERT_CHANNEL`] names.
pub fn inserted_queue(payload: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    v.get("job_type")?.as_str().map(str::to_string)
}

// --- retention (jobs/prune) ---

/// Deletes at most `batch` finished jobs — `Done`, `Killed`, or `Failed` with no attempt left
/// (dead) — that finished more than `older_than_secs` ago; returns how many. Jobs still to run
/// are never touched (`docs/behaviour.md#retention`).
pub async fn prune_finished_batch(
    ex: impl sqlx::PgExecutor<'_>,
    older_than_secs: f64,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM apalis.jobs WHERE id IN (SELECT id FROM apalis.jobs \
         WHERE (status IN ('Done', 'Killed') OR (status = 'Failed' AND attempts >= max_attempts)) \
           AND coalesce(done_at, run_at) < now() - make_interval(secs => $1) \
         LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(older_than_secs)
    .bind(batch)
    .execute(ex)
    .await
    .map(|r| r.rows_affected())
}

// --- the operator console's queue page (http/ops) ---

/// One queue's counts by state.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct KindCounts {
    pub queue: String,
    pub pending: i64,
    pub running: i64,
    /// Tried and failed, with attempts left (waiting for its next try).
    pub retrying: i64,
    /// Out of attempts (`Failed` at the limit) or `Killed`: only an operator moves it again.
    pub dead: i64,
    pub done_last_hour: i64,
    pub oldest_due_seconds: Option<f64>,
}

/// [`KindCounts`] of every queue that has jobs (empty when apalis's tables do not exist yet).
pub async fn counts_by_kind(pool: &PgPool) -> Result<Vec<KindCounts>, sqlx::Error> {
    if !tables_exist(pool).await? {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT job_type AS queue,
                count(*) FILTER (WHERE status IN ('Pending', 'Queued') AND attempts = 0) AS pending,
                count(*) FILTER (WHERE status = 'Running') AS running,
                count(*) FILTER (WHERE (status IN ('Pending', 'Queued') AND attempts > 0)
                                 OR (status = 'Failed' AND attempts < max_attempts)) AS retrying,
                count(*) FILTER (WHERE status = 'Killed'
                                 OR (status = 'Failed' AND attempts >= max_attempts)) AS dead,
                count(*) FILTER (WHERE status = 'Done' AND done_at > now() - interval '1 hour')
                  AS done_last_hour,
                extract(epoch FROM now() - min(run_at) FILTER (
                  WHERE status IN ('Pending', 'Queued') AND run_at <= now()))::float8
                  AS oldest_due_seconds
         FROM apalis.jobs GROUP BY job_type ORDER BY job_type",
    )
    .fetch_all(pool)
    .await
}

/// A dead job: its id, queue, payload, attempts and last error.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadJob {
    pub id: String,
    pub queue: String,
    pub payload: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_result: Option<serde_json::Value>,
    pub done_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The condition of a dead job (see [`KindCounts::dead`]).
const DEAD: &str = "(status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts))";

/// The most recent dead jobs, at most `limit`.
pub async fn dead_jobs(pool: &PgPool, limit: i64) -> Result<Vec<DeadJob>, sqlx::Error> {
    if !tables_exist(pool).await? {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, job_type AS queue, convert_from(job, 'UTF8') AS payload, attempts,
                max_attempts, last_result, done_at
         FROM apalis.jobs WHERE {DEAD} ORDER BY done_at DESC NULLS LAST, id DESC LIMIT $1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// Puts a dead job back to `Pending` with fresh attempts, due now; false when `id` is not a
/// dead job (already retried, discarded, or never dead), so a repeated click does nothing.
pub async fn retry_dead(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, run_at = now(),
                lock_by = NULL, lock_at = NULL, done_at = NULL
         WHERE id = $1 AND {DEAD}"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a dead job; false when `id` is not a dead job.
pub async fn discard_dead(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    let sql = format!("DELETE FROM apalis.jobs WHERE id = $1 AND {DEAD}");
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

// --- engine, sweep and catalogue (jobs/) ---

/// Keys (`$2`, a field of the job's JSON payload) of the jobs of queue `$1` that are still to
/// run: pending, queued, running, or failed with attempts left. A fragment other queries embed,
/// so apalis's vocabulary (`Pending`, …, its own, not ours) is written only here.
pub const LIVE_JOB_KEYS: &str = "SELECT convert_from(j.job, 'UTF8')::jsonb->>$2::text \
     FROM apalis.jobs j \
     WHERE j.job_type = $1 AND (j.status IN ('Pending', 'Queued', 'Running') \
       OR (j.status = 'Failed' AND j.attempts < j.max_attempts))";

/// An outbound table the sweeper hands to the dispatcher: the two differ only in names.
#[derive(Clone, Copy, Debug)]
pub enum DueTable {
    OutboundCalls,
    OutboundEmails,
}

impl DueTable {
    /// (table, provider id column, job payload key, the `queued` status value)
    fn names(self) -> (&'static str, &'static str, &'static str, &'static str) {
        use crate::domain::status::{CallStatus, EmailStatus};
        match self {
            Self::OutboundCalls => (
                "outbound_calls",
                "vapi_call_id",
                "outbound_call_id",
                CallStatus::Queued.as_str(),
            ),
            Self::OutboundEmails => (
                "outbound_emails",
                "resend_email_id",
                "outbound_email_id",
                EmailStatus::Queued.as_str(),
            ),
        }
    }
}

/// Moves a row of `table` to `opening` and drops its dispatch claim, keeping it `queued` and
/// recording where it was due and why it moved (`postponed_from`, `postponed_reason`): one
/// statement for calls outside their window and emails outside waking hours
/// (`docs/behaviour.md#clinic-policy`). Only constant names are spliced into the text.
pub async fn postpone_row(
    ex: impl sqlx::PgExecutor<'_>,
    table: DueTable,
    id: Uuid,
    opening: chrono::DateTime<chrono::Utc>,
    scheduled_for: Option<chrono::DateTime<chrono::Utc>>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    let (name, _, _, _) = table.names();
    let sql = format!(
        "UPDATE {name} SET scheduled_for = $2, metadata = (coalesce(metadata, '{{}}'::jsonb) \
         - $4::text - $5::text) \
         || jsonb_build_object('postponed_from', $3::timestamptz, 'postponed_reason', $6::text) \
         WHERE id = $1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(opening)
        .bind(scheduled_for)
        .bind(meta::CLAIMED_AT)
        .bind(meta::CLAIMED_BY)
        .bind(reason)
        .execute(ex)
        .await
        .map(|_| ())
}

/// `queued` rows of `table` that were never sent, are due, unclaimed and past any provider
/// back-off, and have no live job on `queue`, oldest first, at most `limit`: one query for both
/// outbound tables, so the sweeper's notion of "due" cannot drift between calls and emails
/// (`docs/behaviour.md#catalogue`). Only constant names are spliced into the text.
pub async fn due_rows_without_job(
    ex: impl sqlx::PgExecutor<'_>,
    table: DueTable,
    queue: &str,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    use crate::domain::dispatch_meta as meta;
    let (name, provider_id, job_key, queued) = table.names();
    let sql = format!(
        "SELECT t.id FROM {name} t \
         WHERE t.status = $4 AND t.{provider_id} IS NULL \
           AND (t.scheduled_for IS NULL OR t.scheduled_for <= now()) \
           AND NOT (coalesce(t.metadata, '{{}}'::jsonb) ? $5::text) \
           AND (t.metadata->>$6::text IS NULL OR (t.metadata->>$6::text)::timestamptz <= now()) \
           AND t.id::text NOT IN (SELECT x FROM ({LIVE_JOB_KEYS}) AS live(x) WHERE x IS NOT NULL) \
         ORDER BY t.scheduled_for NULLS FIRST LIMIT $3"
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(queue)
        .bind(job_key)
        .bind(limit)
        .bind(queued)
        .bind(meta::CLAIMED_AT)
        .bind(meta::RETRY_AT)
        .fetch_all(ex)
        .await
}

/// The payload field `key` of every live job of `queue` (see [`LIVE_JOB_KEYS`]).
pub async fn live_job_keys(
    ex: impl sqlx::PgExecutor<'_>,
    queue: &str,
    key: &str,
) -> Result<Vec<Option<String>>, sqlx::Error> {
    sqlx::query_scalar(LIVE_JOB_KEYS)
        .bind(queue)
        .bind(key)
        .fetch_all(ex)
        .await
}

// --- enqueue inside a transaction (webhooks/qstash) ---

/// Pushes `job` onto its queue on `conn`, so the job exists exactly when the caller's
/// transaction commits (the inbox enqueues together with the event's status,
/// `docs/behaviour.md#qstash`). apalis-postgres 1.0 only pushes through its own pool, so this
/// writes the row its push writes (`queries/task/sink.sql` and `src/sink.rs` of
/// apalis-postgres 1.0.0, for a task built by [`enqueue`]): a ULID text id
/// (`apalis.generate_ulid()`, the same Crockford base32 form as the `ulid` crate), `job_type` =
/// the queue, `job` = the JSON encoding of the payload (apalis's default `JsonCodec`), status
/// `Pending`, 0 attempts, [`Job::MAX_ATTEMPTS`], `run_at` = now or now + `run_after` in whole
/// seconds (`to_timestamp(epoch seconds)`, as apalis's `TaskBuilder::run_after`), priority 0,
/// an empty `metadata` hstore and no idempotency key. The table's insert trigger wakes the
/// workers when the job is due, as for a push.
pub async fn enqueue_in_tx<K: Job>(
    conn: &mut sqlx::PgConnection,
    job: &K,
    run_after: Option<Duration>,
) -> Result<(), EnqueueError> {
    let encoded = serde_json::to_vec(job).map_err(|e| EnqueueError(e.to_string()))?;
    let now = std::time::SystemTime::now();
    let run_at = run_after.map_or(now, |d| now + d);
    let run_at_secs = run_at
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| EnqueueError(e.to_string()))?
        .as_secs();
    let run_at_secs = i64::try_from(run_at_secs).map_err(|e| EnqueueError(e.to_string()))?;
    let max_attempts = i32::try_from(K::MAX_ATTEMPTS).map_err(|e| EnqueueError(e.to_string()))?;
    sqlx::query(
        "INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at,
                                  priority, metadata, idempotency_key)
         VALUES (apalis.generate_ulid(), $1, $2, 'Pending', 0, $3, to_timestamp($4), 0, $5, NULL)",
    )
    .bind(K::QUEUE)
    .bind(encoded)
    .bind(max_attempts)
    .bind(run_at_secs)
    .bind(sqlx::postgres::types::PgHstore::default())
    .execute(conn)
    .await
    .map_err(|e| EnqueueError(e.to_string()))?;
    crate::metrics::job(K::QUEUE, "enqueued");
    Ok(())
}
