//! The job engine: apalis workers on apalis-postgres storage, plus the periodic catalogue.
//!
//! * Every job kind is a typed serde struct implementing [`JobKind`] in its own module; its
//!   queue name, attempt limit and per-process concurrency live next to its handler. Adding a
//!   kind is one module plus one `register::<Kind>` line in [`run_engine`].
//! * Storage: `apalis.jobs` / `apalis.workers`, created by [`setup`] (apalis-postgres's own
//!   migrator, history in `apalis._sqlx_migrations`; ours stays in `public._sqlx_migrations`).
//! * Retries: a failing handler is retried in the worker with exponential backoff and jitter
//!   up to the kind's `MAX_ATTEMPTS`; the stored row gets `max_attempts = MAX_ATTEMPTS`, so once
//!   they are used up the job stays `Failed` with `last_result = {"Err": "<last error>"}` (the
//!   dead state). Errors that cannot improve by retrying end as `Killed` at once.
//! * Orphans: workers heartbeat into `apalis.workers`; a job locked by a worker that missed its
//!   heartbeats for [`EngineSettings::orphan_after`] is put back to `Pending` (attempt + 1) by
//!   any live worker of the same queue.
//! * Pickup: an idle worker fetches as soon as a job of its queue is inserted ([`wake`]: one
//!   `LISTEN` connection per process), and polls every [`EngineSettings::poll_interval`] as the
//!   fallback (delayed jobs, lost notifications).
//! * Fetching: a busy worker fetches again as soon as a slot frees, asking for as many jobs as it
//!   has free slots ([`Fetch::FreeSlots`], `db::queue_fetch`): it never holds jobs it cannot
//!   start. Results ride in the next fetch's statement (one commit per cycle), and a kind with
//!   hundreds of slots keeps two fetches in flight on a backlog. Each kind has its own worker
//!   and its own slots, so a flood of one kind never takes another kind's slots.
//! * Shutdown: cancelling the token stops every worker from fetching, lets running jobs finish
//!   for at most [`EngineSettings::shutdown_timeout`], and stops the catalogue's tick loops.
//!
//! Provider-level retries (VAPI 429, Resend 5xx, ...) are not apalis retries: the dispatch
//! handlers put the row back and enqueue a fresh job at the advised time, because only they
//! know the advised delay and whether repeating is safe (`docs/behaviour.md#jobs`).
//!
//! May import: `db`, `domain`, `providers`, `state`, `scheduling`, `webhooks`, `metrics`
//! (never `http`). All SQL is in `db/`.

pub mod auto_schedule_run;
pub mod catalogue;
pub mod dispatch;
pub mod inbox_retry;
pub mod items;
pub mod process_discharge_batch;
pub mod prune;
pub mod reprocess_webhook;
pub mod slack_alert;
pub mod sweep;
pub mod wake;

/// The call handler under its historical path (tests and operators' tooling import it here).
pub mod dispatch_call {
    pub use super::dispatch::call::*;
}

/// The email handler under its historical path.
pub mod dispatch_email {
    pub use super::dispatch::email::*;
}

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::HasherRng;
use apalis::prelude::*;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use crate::db::queue::{
    enqueue, enqueue_auto_schedule_run, enqueue_dispatch_call, enqueue_dispatch_email,
    enqueue_process_discharge_batch, setup, AutoScheduleRun, DispatchCall, DispatchEmail, Job,
    ProcessDischargeBatch, ReprocessWebhook, SlackAlert,
};
pub use crate::db::queue_fetch::FetchStats;
use crate::state::AppState;

/// Errors of the job boundary (handlers, enqueueing, start-up).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Enqueue(#[from] crate::db::queue::EnqueueError),
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    /// A failure another attempt may fix (retried with backoff by the engine).
    #[error("{0}")]
    Transient(String),
    /// A failure no retry can fix: the job ends `Killed` at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_) | Self::NotConfigured(_))
    }
}

/// Jobs of a kind whose handler is bounded by nothing but the engine — no provider limit, no
/// pool-sized database work, e.g. bookkeeping that writes a row or two — run this many at once per
/// process. A worker fetches up to its free slots; with this many it keeps two fetches of up to
/// half of them in flight while there is a backlog, each also storing the previous jobs' results,
/// so such a kind costs one statement (one WAL flush) per ~250 jobs and PostgreSQL works on one
/// while the process runs the other's jobs (`docs/benchmarks.md`, "Job engine"). Such a kind
/// uses up to two pooled connections for fetching at once.
pub const CHEAP_JOB_CONCURRENCY: usize = 500;

/// How a kind of job (its payload and queue: [`crate::db::queue::Job`]) is run.
pub trait JobKind: Job {
    /// Jobs of this kind run at once in one process (per kind: a flood of one kind never takes
    /// another's slots). Kinds bounded by a provider say so with their provider's limit; the
    /// default suits handlers that hold a pooled database connection for most of their run.
    fn concurrency(_ctx: &AppState) -> usize {
        2
    }
    /// Runs the job; the value is stored as the job's result.
    fn run(self, ctx: AppState) -> impl Future<Output = Result<Value, JobError>> + Send;
}

/// Tuning of the engine; tests shorten the intervals.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// How often an idle worker looks for due jobs (delayed jobs are found by polling).
    pub poll_interval: Duration,
    pub heartbeat_interval: Duration,
    /// Missed heartbeats after which a worker's jobs are taken over.
    pub missed_heartbeats: usize,
    /// How long running jobs may take to finish after shutdown is requested.
    pub shutdown_timeout: Duration,
    /// Backoff between in-worker retries.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// How many jobs a worker asks for per fetch.
    pub fetch: Fetch,
}

/// How many jobs a worker asks for per fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// As many as it has free slots, up to its kind's concurrency: the production engine.
    FreeSlots,
    /// A fixed batch whatever is free, kept locked to the worker until it runs: apalis-postgres's
    /// own behaviour and the engine before adaptive fetching (`bench jobs --fixed-batch 10`).
    Fixed(usize),
}

/// How idle workers learn about new jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pickup {
    /// Woken on insert (`LISTEN`), polling as the fallback: the production engine.
    WakeOnInsert,
    /// Polling only (`bench jobs --poll-only` measures the difference).
    PollOnly,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(10),
            missed_heartbeats: 6,
            shutdown_timeout: Duration::from_secs(30),
            retry_min: crate::domain::backoff::JOB_RETRY_MIN,
            retry_max: crate::domain::backoff::JOB_RETRY_MAX,
            fetch: Fetch::FreeSlots,
        }
    }
}

impl EngineSettings {
    pub fn orphan_after(&self) -> Duration {
        self.heartbeat_interval * self.missed_heartbeats as u32
    }
}

fn storage_config<K: JobKind>(settings: &EngineSettings) -> apalis_postgres::Config {
    crate::db::queue::storage_config::<K>()
        .heartbeat_interval(settings.heartbeat_interval)
        .missed_heartbeats(settings.missed_heartbeats)
}

/// The service function every worker runs: typed job in, JSON result out. Permanent errors
/// are wrapped in `AbortError` so apalis marks the job `Killed` instead of retrying it.
async fn handle<K: JobKind>(job: K, ctx: Data<AppState>) -> Result<Value, BoxDynError> {
    let ctx: AppState = (*ctx).clone();
    let span = tracing::info_span!("job", kind = K::QUEUE, job = ?job);
    let result = tracing::Instrument::instrument(job.run(ctx), span).await;
    let outcome = match &result {
        Ok(_) => "succeeded",
        Err(e) if e.is_permanent() => "dead",
        Err(_) => "retried",
    };
    crate::metrics::job(K::QUEUE, outcome);
    match result {
        Ok(v) => Ok(v),
        Err(e) if e.is_permanent() => {
            tracing::warn!(queue = K::QUEUE, error = %e, "job failed permanently");
            Err(Box::new(AbortError::new(e)))
        }
        Err(e) => {
            tracing::warn!(queue = K::QUEUE, error = %e, "job failed, may be retried");
            Err(Box::new(e))
        }
    }
}

/// When an idle worker fetches: at once when a job of its queue is inserted (if enabled), else
/// at its next poll.
/// `wakeups` = `None` polls only.
pub fn poll_strategy(
    queue: &str,
    settings: &EngineSettings,
    wakeups: Option<&wake::Wakeups>,
) -> Strategy {
    let strategy = Strategy::new();
    let strategy = match wakeups {
        Some(w) => strategy.stream(w.stream(queue)),
        None => strategy,
    };
    strategy.interval(settings.poll_interval)
}

/// The job kinds one engine serves, one apalis worker each, not started yet. The production
/// engine ([`run_engine_with`]) serves the service's kinds; tests and `bench jobs` build one with
/// their own kinds through the same code.
pub struct Workers {
    monitor: Monitor,
    ctx: AppState,
    settings: EngineSettings,
    backoff: ExponentialBackoffMaker<HasherRng>,
    wakeups: Option<wake::Wakeups>,
    stats: Arc<Mutex<HashMap<&'static str, Arc<FetchStats>>>>,
}

impl Workers {
    /// No kinds yet; `wakeups` = `None` polls only.
    pub fn new(
        ctx: &AppState,
        settings: &EngineSettings,
        wakeups: Option<&wake::Wakeups>,
    ) -> anyhow::Result<Self> {
        let backoff = ExponentialBackoffMaker::new(
            settings.retry_min,
            settings.retry_max,
            crate::domain::backoff::JOB_RETRY_JITTER,
            HasherRng::default(),
        )
        .map_err(|e| anyhow::anyhow!("invalid retry backoff: {e}"))?;
        let monitor = Monitor::new()
            .shutdown_timeout(settings.shutdown_timeout)
            // A worker stream ends on a storage error (e.g. the database went away); start it
            // again rather than leave the queue unserved.
            .should_restart(|_, e| {
                tracing::warn!(error = %e, "job worker stopped with an error; restarting");
                true
            });
        Ok(Self {
            monitor,
            ctx: ctx.clone(),
            settings: settings.clone(),
            backoff,
            wakeups: wakeups.cloned(),
            stats: Arc::default(),
        })
    }

    /// What the worker of `queue` fetched and acknowledged so far (zeros for a queue not served).
    pub fn fetch_stats(&self, queue: &'static str) -> Arc<FetchStats> {
        match self.stats.lock() {
            Ok(mut map) => map.entry(queue).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// Adds a worker for `K`'s queue.
    pub fn serve<K: JobKind>(mut self) -> Self {
        let ctx = self.ctx.clone();
        let settings = self.settings.clone();
        let backoff = self.backoff.clone();
        let wakeups = self.wakeups.clone();
        let stats = self.fetch_stats(K::QUEUE);
        self.monitor = self.monitor.register(move |restarts| {
            let concurrency = K::concurrency(&ctx).max(1);
            // One semaphore is both the worker's concurrency limit and what its fetches are
            // sized by.
            let slots = Arc::new(Semaphore::new(concurrency));
            let size = match settings.fetch {
                Fetch::FreeSlots => crate::db::queue_fetch::FetchSize::FreeSlots {
                    slots: slots.clone(),
                    concurrency,
                },
                Fetch::Fixed(n) => crate::db::queue_fetch::FetchSize::Fixed(n),
            };
            let storage = crate::db::queue_fetch::QueueStorage::<K>::new(
                &ctx.pool,
                storage_config::<K>(&settings),
                size,
                stats.clone(),
            )
            .poll_with_strategy(poll_strategy(K::QUEUE, &settings, wakeups.as_ref()));
            // The restart count keeps the name unique: the previous incarnation's row may still
            // be held (apalis guards worker rows with an advisory lock).
            let name = format!("{}@{}#{restarts}", K::QUEUE, ctx.instance);
            let policy = RetryPolicy::retries(K::MAX_ATTEMPTS.saturating_sub(1))
                .with_backoff(backoff.clone().make_backoff());
            WorkerBuilder::new(name.as_str())
                .backend(storage)
                .data(ctx.clone())
                .layer(tower::limit::GlobalConcurrencyLimitLayer::with_semaphore(
                    slots,
                ))
                .retry(policy)
                // After retry, so a panicking handler is retried like any other failure.
                .catch_panic()
                .build(handle::<K>)
        });
        self
    }

    /// Runs the workers until `shutdown` is cancelled; running jobs get
    /// [`EngineSettings::shutdown_timeout`] to finish.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.monitor
            .run_with_signal(async move {
                shutdown.cancelled().await;
                Ok(())
            })
            .await
            .map_err(|e| anyhow::anyhow!("job workers failed: {e}"))
    }
}

/// Runs every worker and the periodic catalogue until `shutdown` is cancelled.
pub async fn run_workers(ctx: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let catalogue = catalogue::Catalogue::load_default()?;
    tracing::info!(source = %catalogue.source, entries = catalogue.entries.len(), "job catalogue loaded");
    run_engine(ctx, catalogue, EngineSettings::default(), shutdown).await
}

/// [`run_workers`] with an explicit context, catalogue and settings (tests use this).
pub async fn run_engine(
    ctx: AppState,
    catalogue: catalogue::Catalogue,
    settings: EngineSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_engine_with(ctx, catalogue, settings, Pickup::WakeOnInsert, shutdown).await
}

/// [`run_engine`] with the pickup mode chosen (benchmarks compare both).
pub async fn run_engine_with(
    ctx: AppState,
    catalogue: catalogue::Catalogue,
    settings: EngineSettings,
    pickup: Pickup,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let wakeups = wake::Wakeups::new(&[
        DispatchCall::QUEUE,
        DispatchEmail::QUEUE,
        AutoScheduleRun::QUEUE,
        ProcessDischargeBatch::QUEUE,
        ReprocessWebhook::QUEUE,
        SlackAlert::QUEUE,
    ]);
    let w = (pickup == Pickup::WakeOnInsert).then_some(&wakeups);
    let workers = Workers::new(&ctx, &settings, w)?
        .serve::<DispatchCall>()
        .serve::<DispatchEmail>()
        .serve::<AutoScheduleRun>()
        .serve::<ProcessDischargeBatch>()
        .serve::<ReprocessWebhook>()
        .serve::<SlackAlert>();
    let listener = (pickup == Pickup::WakeOnInsert)
        .then(|| tokio::spawn(wakeups.clone().run(ctx.pool.clone(), shutdown.clone())));

    let ticks = tokio::spawn(catalogue::run_ticks(
        ctx.clone(),
        catalogue,
        shutdown.clone(),
    ));
    let result = workers.run(shutdown.clone()).await;
    shutdown.cancel();
    if let Err(e) = ticks.await {
        tracing::error!(error = %e, "catalogue tick loop panicked");
    }
    if let Some(Err(e)) = match listener {
        Some(l) => Some(l.await),
        None => None,
    } {
        tracing::error!(error = %e, "job wake-up listener panicked");
    }
    result
}
