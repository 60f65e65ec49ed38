//! The statement of the pipelined storage on `apalis.jobs` (apalis-postgres 1.0's table, read
//! against its `queries/task/*.sql`): one statement that stores finished jobs' results, marks
//! started jobs `Running` and claims the next due jobs (or none, to store only).
//!
//! What differs from apalis-postgres's own statements, and why (`docs/benchmarks.md`, "Job
//! engine"):
//! * results and locks travel in the next fetch's statement: one round trip and one commit (one
//!   WAL flush) per cycle instead of an acknowledgement transaction plus a fetch transaction;
//! * results are bound as arrays (`unnest`) and each row is updated once; apalis's
//!   acknowledgement parses a JSON document and locks every row (`FOR UPDATE`, a WAL record per
//!   job) before updating it;
//! * the claimed rows are found by primary key (`id = ANY (ARRAY (…))`), a plan that does not
//!   depend on how many jobs are due; apalis's `get_jobs` SQL function is planned without its
//!   parameters and, with thousands due, hashed a scan of the whole table.
//!
//! Semantics kept: only rows locked by this worker are acknowledged or marked running; a job is
//! claimed when `Pending`, or `Failed` with attempts left, and due, by priority then `run_at`,
//! skipping rows another worker holds; claimed jobs become `Queued` with `lock_by`/`lock_at`.

use std::collections::HashMap;
use std::str::FromStr;

use apalis_core::task::builder::TaskBuilder;
use apalis_core::task::metadata::MetadataStore;
use apalis_core::task::status::Status;
use apalis_core::task::task_id::{TaskId, TaskIdError};
use apalis_postgres::{Error, PgTask};
use serde_json::Value;
use sqlx::postgres::types::PgHstore;
use sqlx::PgPool;

/// What a worker reports back: finished jobs (results) and started ones (locks).
#[derive(Debug, Default)]
pub struct Acks {
    pub ids: Vec<String>,
    pub statuses: Vec<String>,
    pub attempts: Vec<i32>,
    /// `{"Ok": value}` or `{"Err": "message"}`, as apalis stores `last_result`.
    pub results: Vec<Value>,
    /// Jobs that started and had not finished when this was sent.
    pub locks: Vec<String>,
}

impl Acks {
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.locks.is_empty()
    }
}

/// Stores results and locks for worker $1 (parameters $4 ids, $5 statuses, $6 attempts,
/// $7 results, $8 locks), then claims up to $3 due jobs of queue $2 for it. The three parts touch
/// disjoint rows (acknowledged rows are `Queued`/`Running`, claimed ones `Pending`/`Failed` in
/// the statement's snapshot), so running them as one statement changes nothing but the cost.
/// Two such statements of one worker in flight may not be disjoint (see [`ATTEMPTS`]).
///
/// `lock_by IS NOT DISTINCT FROM $1` (the same as `=` for a worker name) is deliberately not
/// indexable: finished jobs keep `lock_by`, so the `lock_by` index holds every job the worker
/// ever ran, and a plan that starts there (which stale statistics invite) reads all of them on
/// each acknowledgement; the acknowledged rows are found by primary key instead.
const ACK_AND_FETCH: &str = "
WITH results AS (
    UPDATE apalis.jobs AS jobs
    SET status = r.status, attempts = r.attempt, last_result = r.result, done_at = now()
    FROM unnest($4::text[], $5::text[], $6::int4[], $7::jsonb[]) AS r (id, status, attempt, result)
    WHERE jobs.id = r.id AND jobs.lock_by IS NOT DISTINCT FROM $1
), locks AS (
    UPDATE apalis.jobs
    SET status = 'Running', lock_at = now()
    WHERE id = ANY ($8::text[]) AND lock_by IS NOT DISTINCT FROM $1 AND status = 'Queued'
), due AS (
    SELECT id FROM apalis.jobs
    WHERE (status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts))
      AND run_at < now()
      AND job_type = $2
    ORDER BY priority DESC, run_at ASC
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE apalis.jobs AS jobs
SET status = 'Queued', lock_by = $1, lock_at = now()
WHERE jobs.id = ANY (ARRAY (SELECT id FROM due))
RETURNING jobs.job, jobs.id, jobs.job_type, jobs.status, jobs.attempts, jobs.max_attempts,
    floor(extract(epoch FROM jobs.run_at))::int8 AS run_at,
    floor(extract(epoch FROM jobs.lock_at))::int8 AS lock_at,
    jobs.lock_by,
    floor(extract(epoch FROM jobs.done_at))::int8 AS done_at,
    jobs.priority, jobs.idempotency_key, jobs.metadata";

/// One claimed job as the statement returns it (timestamps in whole seconds, as apalis-postgres
/// decodes them).
#[derive(sqlx::FromRow)]
struct JobRow {
    job: Vec<u8>,
    id: String,
    job_type: String,
    status: String,
    attempts: i32,
    max_attempts: i32,
    run_at: i64,
    lock_at: Option<i64>,
    lock_by: Option<String>,
    done_at: Option<i64>,
    priority: Option<i32>,
    idempotency_key: Option<String>,
    metadata: Option<PgHstore>,
}

/// Seconds since the epoch as apalis's task context keeps them (never negative).
fn secs(t: i64) -> u64 {
    u64::try_from(t).unwrap_or_default()
}

impl JobRow {
    /// The task apalis-postgres builds from the same row (`src/from_row.rs` of 1.0.0).
    fn into_task(self) -> Result<PgTask, Error> {
        let task_id = TaskId::from_str(&self.id)
            .ok()
            .filter(|id| id.as_ulid().is_some())
            .ok_or_else(|| Error::TaskIdError(TaskIdError::Decode(self.id.clone())))?;
        let status = Status::from_str(&self.status).map_err(Error::StatusError)?;
        let metadata: HashMap<String, String> = self
            .metadata
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, v.unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let mut task = TaskBuilder::new(self.job)
            .task_id(task_id)
            .queue(self.job_type.into())
            .status(status)
            .attempt(usize::try_from(self.attempts).unwrap_or_default())
            .max_attempts(usize::try_from(self.max_attempts).unwrap_or(25))
            .run_at_timestamp(secs(self.run_at))
            .lock_at(self.lock_at.map(secs))
            .done_at(self.done_at.map(secs))
            .lock_by(self.lock_by)
            .priority(
                self.priority
                    .and_then(|p| usize::try_from(p).ok())
                    .unwrap_or_default(),
            )
            .with_metadata(MetadataStore::from_map(metadata));
        if let Some(key) = self.idempotency_key {
            task = task.idempotency_key(key);
        }
        Ok(task.build())
    }
}

/// Stores `acks` and claims up to `limit` due jobs of `queue` for `worker`, in one statement
/// (one commit); `limit` 0 only stores. The jobs come back in claim order: priority, then
/// `run_at`.
pub async fn ack_and_fetch(
    pool: &PgPool,
    worker: &str,
    queue: &str,
    limit: usize,
    acks: &Acks,
) -> Result<Vec<PgTask>, Error> {
    let mut attempt = 1;
    let mut rows = loop {
        match run_ack_and_fetch(pool, worker, queue, limit, acks).await {
            Err(e) if attempt < ATTEMPTS && is_deadlock(&e) => {
                tracing::debug!(queue, attempt, "job acknowledgement deadlocked; sent again");
                attempt += 1;
            }
            other => break other?,
        }
    };
    rows.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.run_at.cmp(&b.run_at)));
    rows.into_iter().map(JobRow::into_task).collect()
}

/// How many times one statement is sent when PostgreSQL picks it as a deadlock's victim.
///
/// Two statements of one worker can be in flight at once (a fetch beside a fetch or beside an
/// acknowledgement), and a job's `Running` mark may ride in one while its result rides in the
/// other. Each statement updates its rows in the order its plan visits them, so two such jobs
/// taken in opposite orders wait on each other, and PostgreSQL aborts one statement after
/// `deadlock_timeout`. The aborted statement changed nothing (one statement, one transaction),
/// and each of its parts is safe to repeat (rows are updated by primary key and owner; claiming
/// skips locked rows), so it is sent again; ordering the rows with `FOR UPDATE` instead would cost
/// a WAL record per job on every cycle to avoid a rare one-second wait.
const ATTEMPTS: u32 = 3;

/// PostgreSQL's `deadlock_detected` (40P01) and `serialization_failure` (40001).
fn is_deadlock(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

async fn run_ack_and_fetch(
    pool: &PgPool,
    worker: &str,
    queue: &str,
    limit: usize,
    acks: &Acks,
) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as(ACK_AND_FETCH)
        .bind(worker)
        .bind(queue)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(&acks.ids)
        .bind(&acks.statuses)
        .bind(&acks.attempts)
        .bind(&acks.results)
        .bind(&acks.locks)
        .fetch_all(pool)
        .await
}
