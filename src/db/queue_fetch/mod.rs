//! The job engine's storage on `apalis.jobs` (apalis-postgres 1.0's tables and migrations).
//!
//! * **Production** ([`FetchSize::FreeSlots`]): a fetch asks for as many jobs as the worker has
//!   **free slots**, so a worker never holds more jobs than it can run at once (a process with
//!   free slots is never left idle while another sits on the backlog); results and locks ride in
//!   the next fetch's statement, and a worker with hundreds of slots keeps up to two fetches in
//!   flight while there is a backlog ([`pipeline`], [`sql`]). What bounds throughput on cheap
//!   jobs is the per-cycle cost, not the jobs (`docs/benchmarks.md`, "Job engine").
//! * **`Fixed(n)`** (kept to measure the difference, `bench jobs --fixed-batch`):
//!   apalis-postgres's own behaviour, unchanged — its queries driven by apalis-core's `Persisted`
//!   exactly as its `PostgresStorage` drives them, a fixed batch per fetch kept locked whether
//!   it can start or not, one acknowledgement transaction per batch.
//!
//! apalis-postgres's `SqlxPersistence` is private to it, so the `Persistence` below repeats its
//! few lines around the public `apalis_postgres::queries` functions (read against the 1.0.0
//! source: `src/persistence.rs`, `src/backend.rs`). Registration, heartbeats, orphan recovery
//! and the shutdown re-enqueue use apalis's own queries in both modes.

mod pipeline;
mod report;
mod sql;

pub use pipeline::{next_fetch, FETCHES_IN_FLIGHT, PARALLEL_FETCH_MIN};
pub use sql::{ack_and_fetch, Acks};

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
use tower::util::Either;

use pipeline::Pipeline;
use report::{ReportLayer, Reports};

/// How many jobs one fetch asks for.
#[derive(Clone, Debug)]
pub enum FetchSize {
    /// As many as the worker can start now: the permits of its concurrency limit that are free
    /// (the production engine).
    FreeSlots {
        /// The semaphore of the worker's concurrency limit (the same `Arc`).
        slots: Arc<Semaphore>,
        concurrency: usize,
    },
    /// Always this many, in apalis-postgres's own fetch transaction, unchanged (its behaviour,
    /// kept to measure the difference).
    Fixed(usize),
}

/// What one worker's storage did, counted (tests and `bench jobs` read it; the metrics
/// `odis_job_fetches_total` / `odis_jobs_fetched_total` carry the same per kind).
#[derive(Debug, Default)]
pub struct FetchStats {
    /// Fetch statements (transactions), empty ones included.
    pub fetches: AtomicU64,
    /// Jobs those fetches returned.
    pub fetched: AtomicU64,
    /// The most jobs a single fetch returned.
    pub largest_fetch: AtomicU64,
    /// Transactions that stored only results and locks (acknowledgements of their own).
    pub ack_transactions: AtomicU64,
    /// Fetches that also stored results (the production storage's acknowledgements).
    pub fetches_with_results: AtomicU64,
    /// Results stored, by either.
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

    fn record_results_in_fetch(&self, results: usize) {
        self.fetches_with_results.fetch_add(1, Ordering::Relaxed);
        self.acked.fetch_add(results as u64, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
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

/// Registers `worker` (after taking over the jobs of workers silent for too long), as
/// apalis-postgres does.
async fn register(pool: &PgPool, config: &Config, worker: &WorkerContext) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let dead_for = config.orphaned_duration().as_secs();
    let queue = config.queue.as_ref();
    queries::reenqueue_orphaned(&mut *tx, queue, dead_for).await?;
    let now = now_for_registration()?;
    queries::register_worker(&mut *tx, queue, worker, &now, "PgStorage").await?;
    tx.commit().await?;
    Ok(())
}

/// The heartbeat, and the take-over of jobs whose worker stopped beating.
async fn heartbeat(pool: &PgPool, config: &Config, worker: &WorkerContext) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let queue = config.queue.as_ref();
    let dead_for = config.orphaned_duration().as_secs();
    queries::keep_alive(&mut *tx, queue, worker).await?;
    queries::reenqueue_orphaned(&mut *tx, queue, dead_for).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts jobs this worker fetched but never started back to `Pending` (shutdown).
async fn reenqueue(
    pool: &PgPool,
    config: &Config,
    worker: &WorkerContext,
    tasks: Vec<PgTask>,
) -> Result<(), Error> {
    let ids: Vec<String> = tasks
        .iter()
        .filter_map(|t| t.task_id().map(|id| id.to_string()))
        .collect();
    let mut tx = pool.begin().await?;
    let queue = config.queue.as_ref();
    let count = queries::reenqueue_abandoned(&mut *tx, queue, worker.name(), &ids).await?;
    if count as usize != tasks.len() {
        return Err(Error::ReenqueueMismatch {
            queued: tasks.len(),
            abandoned: count as usize,
        });
    }
    tx.commit().await?;
    Ok(())
}

/// apalis-postgres's own storage behaviour (`FetchSize::Fixed`).
#[derive(Clone, Debug)]
struct Store {
    pool: PgPool,
    config: Config,
    batch: usize,
    stats: Arc<FetchStats>,
}

impl Persistence for Store {
    type Compact = Vec<u8>;
    type Error = Error;
    type Response = Value;

    async fn register(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        register(&self.pool, &self.config, worker).await
    }

    async fn heartbeat(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        heartbeat(&self.pool, &self.config, worker).await
    }

    async fn fetch_next(&mut self, worker: &WorkerContext) -> Result<Vec<PgTask>, Error> {
        let config = self.config.clone().batch_size(self.batch);
        let mut tx = self.pool.begin().await?;
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
        let n = tasks.len() as u64;
        reenqueue(&self.pool, &self.config, worker, tasks).await?;
        Ok(n)
    }

    async fn push_tasks(&mut self, tasks: Vec<PgTask>) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        queries::push_tasks(&mut *tx, self.config.queue.as_ref(), tasks).await?;
        tx.commit().await?;
        Ok(())
    }
}

enum Driver {
    Pipelined(Box<Pipeline>),
    Apalis(Box<Persisted<Store>>),
}

/// One worker's storage: `PostgresStorage<Args>`'s tables and semantics, fetches sized by
/// [`FetchSize`].
pub struct QueueStorage<Args> {
    driver: Driver,
    config: Config,
    /// What the production driver's jobs report back (unused by `Fixed`).
    reports: Reports,
    codec: JsonCodec,
    _marker: PhantomData<Args>,
}

impl<Args> QueueStorage<Args> {
    pub fn new(pool: &PgPool, config: Config, size: FetchSize, stats: Arc<FetchStats>) -> Self {
        let reports = Reports::default();
        let driver = match size {
            FetchSize::FreeSlots { slots, concurrency } => {
                Driver::Pipelined(Box::new(Pipeline::new(
                    pool,
                    config.clone(),
                    slots,
                    concurrency,
                    stats,
                    reports.clone(),
                )))
            }
            FetchSize::Fixed(batch) => Driver::Apalis(Box::new(Persisted::new(Store {
                pool: pool.clone(),
                config: config.clone(),
                batch: batch.max(1),
                stats,
            }))),
        };
        Self {
            driver,
            config,
            reports,
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
        match &mut self.driver {
            Driver::Pipelined(p) => p.poll_ready(cx, worker),
            Driver::Apalis(p) => p.poll_ready(cx, worker, self.config.heartbeat_interval),
        }
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<PgTask, Error>>> {
        match &mut self.driver {
            Driver::Pipelined(p) => p.poll_next(cx, worker),
            Driver::Apalis(p) => p.poll_next(cx, worker),
        }
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Error>> {
        match &mut self.driver {
            Driver::Pipelined(p) => p.poll_close(cx, worker),
            Driver::Apalis(p) => p.poll_close(cx, worker),
        }
    }
}

impl<Args> BackendConfig for QueueStorage<Args> {
    type Args = Args;
    type Kind = Durable;
    type Id = <PostgresStorage<Args> as BackendConfig>::Id;
    type Config = Config;
    type Layer = Either<TaskPersistLayer<JsonCodec<Value>, Value>, ReportLayer>;

    fn config(&self) -> &Config {
        &self.config
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        let persist_results = self.config.persist_results;
        let lock_tasks = self.config.lock_tasks;
        match &mut self.driver {
            Driver::Pipelined(_) => Either::Right(ReportLayer {
                reports: self.reports.clone(),
                lock: lock_tasks,
                results: persist_results,
            }),
            Driver::Apalis(p) => {
                // apalis-core sizes the channel that carries lock and result events `4 ×` this;
                // each job sends at most two, so no job ever waits for room in it.
                let jobs_out = p.batch;
                Either::Left(
                    p.layer(JsonCodec::<Value>::default(), jobs_out)
                        .persist_results(persist_results)
                        .lock_tasks(lock_tasks),
                )
            }
        }
    }
}

impl<Args> WireFormatBackend for QueueStorage<Args> {
    type Codec = JsonCodec;
    type Compact = Vec<u8>;

    fn codec(&self) -> &JsonCodec {
        &self.codec
    }
}
