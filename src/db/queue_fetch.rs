//! The job engine's storage on `apalis.jobs`: apalis-postgres 1.0's own queries (`get_jobs`,
//! acknowledgements, locks, heartbeats, orphan recovery), driven by apalis-core's `Persisted`
//! state machine exactly as apalis-postgres's `PostgresStorage` drives them — except for how
//! many jobs one fetch asks for.
//!
//! `PostgresStorage` always asks for `Config::batch_size` jobs and keeps what it got locked to
//! the worker, running or not. Here a fetch asks for as many jobs as the worker has **free
//! slots** ([`FetchSize::FreeSlots`]), so
//! * a worker never holds more jobs than it can run at once: a process with free slots is never
//!   left idle while another one sits on the backlog in its buffer;
//! * a burst is drained with one fetch transaction (and, the results arriving together, about one
//!   acknowledgement transaction) per *concurrency* jobs instead of per 10, which is what bounds
//!   throughput on cheap jobs (`docs/benchmarks.md`, "Job engine").
//!
//! apalis-postgres's `SqlxPersistence` is private to it, so the `Persistence` below repeats its
//! few lines around the public `apalis_postgres::queries` functions (read against the 1.0.0
//! source: `src/persistence.rs`, `src/backend.rs`); the SQL is apalis's own.

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use apalis_codec::json::JsonCodec;
use apalis_core::backend::finalize::Durable;
use apalis_core::backend::persistence::{Persisted, Persistence, TaskEvent, TaskPersistLayer};
use apalis_core::backend::{Backend, BackendConfig, WireFormatBackend};
use apalis_core::worker::context::WorkerContext;
use apalis_postgres::{queries, Config, Error, PgTask, PostgresStorage};
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::Semaphore;

/// How many jobs one fetch asks for.
#[derive(Clone, Debug)]
pub enum FetchSize {
    /// As many as the worker can start now: the permits of its concurrency limit that are free.
    FreeSlots {
        /// The semaphore of the worker's concurrency limit (the same `Arc`).
        slots: Arc<Semaphore>,
        concurrency: usize,
    },
    /// Always this many, in apalis-postgres's own fetch transaction, unchanged (its behaviour,
    /// kept to measure the difference).
    Fixed(usize),
}

/// How the free-slots fetch opens its transaction. `apalis.get_jobs` is a SQL function, and
/// PostgreSQL (before 18) plans the statement inside it without the parameters' values: its
/// `LIMIT` is guessed at a tenth of the due jobs, and with a few thousand of them due the planner
/// joins the claimed ids back to `apalis.jobs` by hashing a sequential scan of the **whole table**
/// (every finished job kept for retention included), so each fetch costs the table's size
/// (measured on 100k rows: ~100 ms for 200 jobs, ~12 ms joined by primary key;
/// `docs/benchmarks.md`). Hash and merge joins are off for this one transaction, which leaves
/// the nested loop over the primary key; the statement and its locking are apalis's own.
const FETCH_BEGIN: &str =
    "BEGIN; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";

impl FetchSize {
    /// The jobs to ask for now (at least 1).
    ///
    /// apalis asks the worker's service for readiness — which takes one permit of the concurrency
    /// limit — before it asks the storage for a task, so at fetch time the worker's free slots
    /// are the free permits plus the one already reserved for the first job of this fetch.
    pub fn now(&self) -> usize {
        match self {
            Self::FreeSlots { slots, concurrency } => {
                (slots.available_permits() + 1).clamp(1, (*concurrency).max(1))
            }
            Self::Fixed(n) => (*n).max(1),
        }
    }

    /// The most jobs a worker has out at once. apalis-core sizes the channel that carries lock
    /// and result events to the storage `4 ×` this; each job sends at most two, so no job ever
    /// waits for room in it.
    fn jobs_out(&self) -> usize {
        match self {
            Self::FreeSlots { concurrency, .. } => (*concurrency).max(1),
            Self::Fixed(n) => (*n).max(1),
        }
    }
}

/// What one worker's storage did, counted (tests and `bench jobs` read it; the metrics
/// `odis_job_fetches_total` / `odis_jobs_fetched_total` carry the same per kind).
#[derive(Debug, Default)]
pub struct FetchStats {
    /// Fetch transactions, empty ones included.
    pub fetches: AtomicU64,
    /// Jobs those fetches returned.
    pub fetched: AtomicU64,
    /// The most jobs a single fetch returned.
    pub largest_fetch: AtomicU64,
    /// Transactions that stored results and locks (acknowledgements).
    pub ack_transactions: AtomicU64,
    /// Results stored by them.
    pub acked: AtomicU64,
}

impl FetchStats {
    fn record_fetch(&self, queue: &str, jobs: usize) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.fetched.fetch_add(jobs as u64, Ordering::Relaxed);
        self.largest_fetch.fetch_max(jobs as u64, Ordering::Relaxed);
        crate::metrics::job_fetch(queue, jobs);
    }

    fn record_ack(&self, results: usize) {
        self.ack_transactions.fetch_add(1, Ordering::Relaxed);
        self.acked.fetch_add(results as u64, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[derive(Clone, Debug)]
struct Store {
    pool: PgPool,
    config: Config,
    size: FetchSize,
    stats: Arc<FetchStats>,
}

/// Seconds since the epoch, as apalis-postgres's worker registration takes them. Its timestamp
/// type is not nameable outside the crate but deserializes from the number.
fn now_for_registration<T: serde::de::DeserializeOwned>() -> Result<T, Error> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    serde_json::from_value(Value::from(secs)).map_err(Error::JsonError)
}

impl Persistence for Store {
    type Compact = Vec<u8>;
    type Error = Error;
    type Response = Value;

    async fn register(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let dead_for = self.config.orphaned_duration().as_secs();
        let queue = self.config.queue.as_ref();
        queries::reenqueue_orphaned(&mut *tx, queue, dead_for).await?;
        let now = now_for_registration()?;
        queries::register_worker(&mut *tx, queue, worker, &now, "PgStorage").await?;
        tx.commit().await?;
        Ok(())
    }

    async fn heartbeat(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let queue = self.config.queue.as_ref();
        let dead_for = self.config.orphaned_duration().as_secs();
        queries::keep_alive(&mut *tx, queue, worker).await?;
        queries::reenqueue_orphaned(&mut *tx, queue, dead_for).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fetch_next(&mut self, worker: &WorkerContext) -> Result<Vec<PgTask>, Error> {
        let config = self.config.clone().batch_size(self.size.now());
        let mut tx = match self.size {
            FetchSize::FreeSlots { .. } => self.pool.begin_with(FETCH_BEGIN).await?,
            FetchSize::Fixed(_) => self.pool.begin().await?,
        };
        let tasks = queries::fetch_next(&mut *tx, &config, worker).await?;
        tx.commit().await?;
        self.stats
            .record_fetch(self.config.queue.as_ref(), tasks.len());
        Ok(tasks)
    }

    async fn handle_events(
        &mut self,
        events: Vec<TaskEvent<Value>>,
        worker: &WorkerContext,
    ) -> Result<(), Error> {
        let results: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                TaskEvent::Complete(result) => Some(result),
                _ => None,
            })
            .collect();
        let done: HashSet<String> = results.iter().map(|r| r.task_id().to_string()).collect();
        // A job that finished before its lock was written needs no lock.
        let locks: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                TaskEvent::Lock { task_id, .. } => Some(task_id.to_string()),
                _ => None,
            })
            .filter(|id| !done.contains(id))
            .collect();
        if results.is_empty() && locks.is_empty() {
            return Ok(());
        }
        // One statement is atomic on its own: only results and locks together need a
        // transaction (`BEGIN` and `COMMIT` are two more round trips per acknowledgement).
        match (results.is_empty(), locks.is_empty()) {
            (false, true) => {
                let mut conn = self.pool.acquire().await?;
                queries::handle_results(&mut *conn, &results, worker.name()).await?;
            }
            (true, false) => {
                let mut conn = self.pool.acquire().await?;
                queries::lock_tasks(&mut *conn, &locks, worker.name()).await?;
            }
            _ => {
                let mut tx = self.pool.begin().await?;
                queries::handle_results(&mut *tx, &results, worker.name()).await?;
                queries::lock_tasks(&mut *tx, &locks, worker.name()).await?;
                tx.commit().await?;
            }
        }
        self.stats.record_ack(results.len());
        Ok(())
    }

    async fn reenqueue_abandoned(
        &mut self,
        tasks: Vec<PgTask>,
        worker: &WorkerContext,
    ) -> Result<u64, Error> {
        let ids: Vec<String> = tasks
            .iter()
            .filter_map(|t| t.task_id().map(|id| id.to_string()))
            .collect();
        let mut tx = self.pool.begin().await?;
        let queue = self.config.queue.as_ref();
        let count = queries::reenqueue_abandoned(&mut *tx, queue, worker.name(), &ids).await?;
        if count as usize != tasks.len() {
            return Err(Error::ReenqueueMismatch {
                queued: tasks.len(),
                abandoned: count as usize,
            });
        }
        tx.commit().await?;
        Ok(count)
    }

    async fn push_tasks(&mut self, tasks: Vec<PgTask>) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        queries::push_tasks(&mut *tx, self.config.queue.as_ref(), tasks).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// One worker's storage: `PostgresStorage<Args>` with fetches sized by [`FetchSize`].
pub struct QueueStorage<Args> {
    persistence: Persisted<Store>,
    codec: JsonCodec,
    _marker: PhantomData<Args>,
}

impl<Args> QueueStorage<Args> {
    pub fn new(pool: &PgPool, config: Config, size: FetchSize, stats: Arc<FetchStats>) -> Self {
        Self {
            persistence: Persisted::new(Store {
                pool: pool.clone(),
                config,
                size,
                stats,
            }),
            codec: JsonCodec::default(),
            _marker: PhantomData,
        }
    }
}

impl<Args> Backend for QueueStorage<Args> {
    type Task = PgTask;
    type Error = Error;

    fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Error>> {
        let heartbeat = self.persistence.config.heartbeat_interval;
        self.persistence.poll_ready(cx, worker, heartbeat)
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<PgTask, Error>>> {
        self.persistence.poll_next(cx, worker)
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Error>> {
        self.persistence.poll_close(cx, worker)
    }
}

impl<Args> BackendConfig for QueueStorage<Args> {
    type Args = Args;
    type Kind = Durable;
    type Id = <PostgresStorage<Args> as BackendConfig>::Id;
    type Config = Config;
    type Layer = TaskPersistLayer<JsonCodec<Value>, Value>;

    fn config(&self) -> &Config {
        &self.persistence.config
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        let jobs_out = self.persistence.size.jobs_out();
        let persist_results = self.persistence.config.persist_results;
        let lock_tasks = self.persistence.config.lock_tasks;
        self.persistence
            .layer(JsonCodec::<Value>::default(), jobs_out)
            .persist_results(persist_results)
            .lock_tasks(lock_tasks)
    }
}

impl<Args> WireFormatBackend for QueueStorage<Args> {
    type Codec = JsonCodec;
    type Compact = Vec<u8>;

    fn codec(&self) -> &JsonCodec {
        &self.codec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetch_asks_for_the_free_slots_and_never_more_than_the_concurrency() {
        let slots = Arc::new(Semaphore::new(8));
        let size = FetchSize::FreeSlots {
            slots: slots.clone(),
            concurrency: 8,
        };
        // The permit apalis reserved for the first job of the fetch.
        let reserved = slots.clone().try_acquire_owned().unwrap();
        assert_eq!(size.now(), 8);
        let running: Vec<_> = (0..5)
            .map(|_| slots.clone().try_acquire_owned().unwrap())
            .collect();
        assert_eq!(size.now(), 3);
        drop(running);
        drop(reserved);
        // Not reachable through apalis (it reserves first), but never above the limit.
        assert_eq!(size.now(), 8);
        assert_eq!(FetchSize::Fixed(10).now(), 10);
        assert_eq!(FetchSize::Fixed(0).now(), 1);
    }
}
