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
//! * Shutdown: cancelling the token stops every worker from fetching, lets running jobs finish
//!   for at most [`EngineSettings::shutdown_timeout`], and stops the catalogue's tick loops.
//!
//! Provider-level retries (VAPI 429, Resend 5xx, ...) are not apalis retries: the dispatch
//! handlers put the row back and enqueue a fresh job at the advised time, because only they
//! know the advised delay and whether repeating is safe.

pub mod auto_schedule_run;
pub mod blocked;
pub mod catalogue;
pub mod dispatch_call;
pub mod dispatch_email;
pub mod inbox_retry;
pub mod items;
pub mod process_discharge_batch;
pub mod rate;
pub mod reprocess_webhook;
pub mod sweep;

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::HasherRng;
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::Config;
use crate::http::AppState;
use crate::providers::resend::ResendClient;
use crate::providers::vapi::VapiClient;

pub use auto_schedule_run::AutoScheduleRun;
pub use dispatch_call::DispatchCall;
pub use dispatch_email::DispatchEmail;
pub use process_discharge_batch::ProcessDischargeBatch;
pub use reprocess_webhook::ReprocessWebhook;

/// Errors of the job boundary (handlers, enqueueing, start-up).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot enqueue job: {0}")]
    Enqueue(String),
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    #[error("cannot build provider client: {0}")]
    Client(String),
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

/// What every handler gets: the pool, the configuration and the shared provider limits.
/// Cheap to clone; one per process so the limits are per process.
#[derive(Clone)]
pub struct JobContext {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub vapi: VapiClient,
    pub resend: ResendClient,
    /// At most `VAPI_MAX_CONCURRENT_CALLS` create-call requests in flight from this process.
    pub call_slots: Arc<Semaphore>,
    /// At most `RESEND_MAX_RPS` sends per second from this process.
    pub email_rate: rate::RateLimiter,
    /// Names this process in claims (`dispatch_claimed_by`, `job_ticks.claimed_by`).
    pub instance: Arc<str>,
}

impl JobContext {
    pub fn new(pool: PgPool, config: Arc<Config>) -> Result<Self, JobError> {
        let vapi = VapiClient::new(
            &config.vapi_base_url,
            config.vapi_api_key.clone(),
            crate::providers::DEFAULT_TIMEOUT,
        )
        .map_err(|e| JobError::Client(e.to_string()))?;
        let resend = ResendClient::new(
            &config.resend_base_url,
            config.resend_api_key.clone(),
            crate::providers::DEFAULT_TIMEOUT,
        )
        .map_err(|e| JobError::Client(e.to_string()))?;
        Ok(Self {
            call_slots: Arc::new(Semaphore::new(config.vapi_max_concurrent_calls.max(1))),
            email_rate: rate::RateLimiter::per_second(config.resend_max_rps),
            instance: instance_name().into(),
            pool,
            config,
            vapi,
            resend,
        })
    }

    pub fn from_state(state: &AppState) -> Result<Self, JobError> {
        Self::new(state.pool.clone(), state.config.clone())
    }
}

/// A name unique to this process (apalis refuses two live workers with one name).
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("FLY_MACHINE_ID"))
        .unwrap_or_else(|_| "local".into());
    let id = Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &id[..8])
}

/// One kind of durable job.
pub trait JobKind:
    Serialize + DeserializeOwned + Clone + Debug + Send + Sync + Unpin + 'static
{
    /// The apalis queue (`apalis.jobs.job_type`); never rename once jobs exist.
    const QUEUE: &'static str;
    /// Attempts in total, the first included, before the job is left dead.
    const MAX_ATTEMPTS: usize;
    /// Jobs of this kind run at once in one process.
    fn concurrency(_ctx: &JobContext) -> usize {
        2
    }
    /// Runs the job; the value is stored as the job's result.
    fn run(self, ctx: JobContext) -> impl Future<Output = Result<Value, JobError>> + Send;
}

/// Creates apalis's tables (schema `apalis`, its own `apalis._sqlx_migrations`). Idempotent;
/// run at start-up beside our migrator.
pub async fn setup(pool: &PgPool) -> Result<(), apalis_postgres::Error> {
    PostgresStorage::setup(pool).await
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
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(10),
            missed_heartbeats: 6,
            shutdown_timeout: Duration::from_secs(30),
            retry_min: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
        }
    }
}

impl EngineSettings {
    pub fn orphan_after(&self) -> Duration {
        self.heartbeat_interval * self.missed_heartbeats as u32
    }
}

fn storage_config<K: JobKind>(settings: &EngineSettings) -> apalis_postgres::Config {
    apalis_postgres::Config::default()
        .queue(K::QUEUE)
        .batch_size(10)
        .heartbeat_interval(settings.heartbeat_interval)
        .missed_heartbeats(settings.missed_heartbeats)
}

/// Pushes `job` onto its queue, to run after `run_after` (now when `None`).
pub async fn enqueue<K: JobKind>(
    pool: &PgPool,
    job: K,
    run_after: Option<Duration>,
) -> Result<(), JobError> {
    let mut storage = PostgresStorage::<K>::new(pool)
        .with_config(storage_config::<K>(&EngineSettings::default()));
    let mut builder = TaskBuilder::new(job).max_attempts(K::MAX_ATTEMPTS);
    if let Some(delay) = run_after {
        builder = builder.run_after(delay);
    }
    storage
        .push_task(builder.build())
        .await
        .map_err(|e| JobError::Enqueue(e.to_string()))?;
    metrics::counter!("odis_jobs_total", "kind" => K::QUEUE, "result" => "enqueued").increment(1);
    Ok(())
}

/// Dispatches one `outbound_calls` row (now, or after `run_after`). Safe to call any number
/// of times: only one dispatch can claim the row.
pub async fn enqueue_dispatch_call(
    pool: &PgPool,
    outbound_call_id: Uuid,
    run_after: Option<Duration>,
) -> Result<(), JobError> {
    enqueue(pool, DispatchCall { outbound_call_id }, run_after).await
}

/// Sends one `outbound_emails` row (now, or after `run_after`). Idempotent like the call one.
pub async fn enqueue_dispatch_email(
    pool: &PgPool,
    outbound_email_id: Uuid,
    run_after: Option<Duration>,
) -> Result<(), JobError> {
    enqueue(pool, DispatchEmail { outbound_email_id }, run_after).await
}

pub async fn enqueue_auto_schedule_run(
    pool: &PgPool,
    clinic_ids: Option<Vec<Uuid>>,
    dry_run: bool,
) -> Result<(), JobError> {
    enqueue(
        pool,
        AutoScheduleRun {
            clinic_ids,
            dry_run,
        },
        None,
    )
    .await
}

pub async fn enqueue_process_discharge_batch(
    pool: &PgPool,
    batch_id: Uuid,
) -> Result<(), JobError> {
    enqueue(pool, ProcessDischargeBatch { batch_id }, None).await
}

/// The service function every worker runs: typed job in, JSON result out. Permanent errors
/// are wrapped in `AbortError` so apalis marks the job `Killed` instead of retrying it.
async fn handle<K: JobKind>(job: K, ctx: Data<JobContext>) -> Result<Value, BoxDynError> {
    let ctx: JobContext = (*ctx).clone();
    let span = tracing::info_span!("job", kind = K::QUEUE, job = ?job);
    let result = tracing::Instrument::instrument(job.run(ctx), span).await;
    let outcome = match &result {
        Ok(_) => "succeeded",
        Err(e) if e.is_permanent() => "dead",
        Err(_) => "retried",
    };
    metrics::counter!("odis_jobs_total", "kind" => K::QUEUE, "result" => outcome).increment(1);
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

fn register<K: JobKind>(
    monitor: Monitor,
    ctx: &JobContext,
    settings: &EngineSettings,
    backoff: &ExponentialBackoffMaker<HasherRng>,
) -> Monitor {
    let ctx = ctx.clone();
    let settings = settings.clone();
    let backoff = backoff.clone();
    monitor.register(move |restarts| {
        let storage = PostgresStorage::<K>::new(&ctx.pool)
            .with_config(storage_config::<K>(&settings))
            .poll_with_strategy(Strategy::new().interval(settings.poll_interval));
        // The restart count keeps the name unique: the previous incarnation's row may still
        // be held (apalis guards worker rows with an advisory lock).
        let name = format!("{}@{}#{restarts}", K::QUEUE, ctx.instance);
        let policy = RetryPolicy::retries(K::MAX_ATTEMPTS.saturating_sub(1))
            .with_backoff(backoff.clone().make_backoff());
        WorkerBuilder::new(name.as_str())
            .backend(storage)
            .data(ctx.clone())
            .concurrency(K::concurrency(&ctx).max(1))
            .retry(policy)
            // After retry, so a panicking handler is retried like any other failure.
            .catch_panic()
            .build(handle::<K>)
    })
}

/// Runs every worker and the periodic catalogue until `shutdown` is cancelled.
pub async fn run_workers(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let ctx = JobContext::from_state(&state)?;
    let catalogue = catalogue::Catalogue::load_default()?;
    tracing::info!(source = %catalogue.source, entries = catalogue.entries.len(), "job catalogue loaded");
    run_engine(ctx, catalogue, EngineSettings::default(), shutdown).await
}

/// [`run_workers`] with an explicit context, catalogue and settings (tests use this).
pub async fn run_engine(
    ctx: JobContext,
    catalogue: catalogue::Catalogue,
    settings: EngineSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let backoff = ExponentialBackoffMaker::new(
        settings.retry_min,
        settings.retry_max,
        0.5,
        HasherRng::default(),
    )
    .map_err(|e| anyhow::anyhow!("invalid retry backoff: {e}"))?;

    let mut monitor = Monitor::new()
        .shutdown_timeout(settings.shutdown_timeout)
        // A worker stream ends on a storage error (e.g. the database went away); start it
        // again rather than leave the queue unserved.
        .should_restart(|_, e| {
            tracing::warn!(error = %e, "job worker stopped with an error; restarting");
            true
        });
    monitor = register::<DispatchCall>(monitor, &ctx, &settings, &backoff);
    monitor = register::<DispatchEmail>(monitor, &ctx, &settings, &backoff);
    monitor = register::<AutoScheduleRun>(monitor, &ctx, &settings, &backoff);
    monitor = register::<ProcessDischargeBatch>(monitor, &ctx, &settings, &backoff);
    monitor = register::<ReprocessWebhook>(monitor, &ctx, &settings, &backoff);

    let ticks = tokio::spawn(catalogue::run_ticks(
        ctx.clone(),
        catalogue,
        shutdown.clone(),
    ));
    let signal = shutdown.clone();
    let result = monitor
        .run_with_signal(async move {
            signal.cancelled().await;
            Ok(())
        })
        .await;
    shutdown.cancel();
    if let Err(e) = ticks.await {
        tracing::error!(error = %e, "catalogue tick loop panicked");
    }
    result.map_err(|e| anyhow::anyhow!("job workers failed: {e}"))
}
