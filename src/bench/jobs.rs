//! Job engine benchmark.
//!
//! * **No-op**: N jobs of a bench-only `Noop` kind (queue `odis.bench_noop`, never registered by
//!   the production engine) are enqueued, then worked by the production engine's worker code
//!   ([`crate::jobs::Workers`], default [`EngineSettings`]) serving that kind at the cheap-kind
//!   concurrency ([`crate::jobs::CHEAP_JOB_CONCURRENCY`]). Enqueueing is measured two ways: a
//!   prefix pushed one job per round trip through the production [`crate::jobs::enqueue`] path
//!   (from several concurrent tasks), and the rest with apalis-postgres's batch push
//!   (`TaskSink::push_all`, one `INSERT … SELECT unnest(…)` per chunk). Work is timed from
//!   starting the worker until it has acknowledged every job (its own counter, so the benchmark
//!   sends no query meanwhile), then `apalis.jobs` is counted by status; the database
//!   transactions, the worker's fetch and acknowledgement transactions, this process's CPU time
//!   and the PostgreSQL backends' CPU time are counted per job (figures load does not distort).
//! * **Dispatch**: N queued `outbound_emails` rows (set-based seeding), one `DispatchEmail` job
//!   each, worked by the real engine ([`crate::jobs::run_engine`], empty catalogue) with the real
//!   handler against an in-process fake Resend on loopback that counts requests and
//!   idempotency keys: exactly-once means requests = distinct keys = sent rows = N.
//!
//! Its SQL is in `db::bench`. May import: `jobs`, `state`, `db`, `config`, `domain`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{cpu, ScratchDb};
use crate::config::{Config, Secret};
use crate::db::queue::{DispatchEmail, Job};
use crate::jobs::{EngineSettings, Fetch, FetchStats, JobError, JobKind};
use crate::state::AppState;

#[derive(Debug, Clone, clap::Args)]
pub struct JobsArgs {
    /// No-op jobs to enqueue and then work (0 skips the phase).
    #[arg(long, default_value_t = 100_000)]
    pub noop: usize,
    /// DispatchEmail jobs worked by the real engine against a fake Resend (0 skips the phase).
    #[arg(long, default_value_t = 10_000)]
    pub dispatch: usize,
    /// No-op jobs run at once (default: the engine's cheap-kind concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Fetch this many no-op jobs per fetch whatever is free (apalis-postgres's own fixed batch,
    /// the engine before adaptive fetching) instead of the free slots.
    #[arg(long)]
    pub fixed_batch: Option<usize>,
    /// Of the no-op jobs, how many are pushed one per round trip (the production `enqueue`
    /// path) before the rest are batch-pushed.
    #[arg(long, default_value_t = 5_000)]
    pub single: usize,
    /// Rows per batched enqueue statement.
    #[arg(long, default_value_t = 5_000)]
    pub chunk: usize,
    /// Give up waiting for a phase's jobs after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout_secs: u64,
    /// Idle pickup: emails enqueued one at a time into an idle engine, each timed from the
    /// enqueue to the fake Resend receiving it (0 skips the phase).
    #[arg(long, default_value_t = 50)]
    pub pickup: usize,
    /// Seconds the idle engine's database transactions are counted for.
    #[arg(long, default_value_t = 30)]
    pub idle_secs: u64,
    /// Run the engine polling only (no wake-up on insert): the engine before `LISTEN`.
    #[arg(long)]
    pub poll_only: bool,
}

/// The bench-only job kind: does nothing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Noop {
    pub n: u64,
}

impl Job for Noop {
    const QUEUE: &'static str = "odis.bench_noop";
    const MAX_ATTEMPTS: usize = 1;
}

/// `--concurrency` (0: the cheap-kind default).
static NOOP_CONCURRENCY: AtomicUsize = AtomicUsize::new(0);

impl JobKind for Noop {
    fn concurrency(_ctx: &AppState) -> usize {
        match NOOP_CONCURRENCY.load(Ordering::Relaxed) {
            0 => crate::jobs::CHEAP_JOB_CONCURRENCY,
            n => n,
        }
    }
    async fn run(self, _ctx: AppState) -> Result<Value, JobError> {
        Ok(Value::Null)
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct QueueCounts {
    pub done: i64,
    pub failed: i64,
    pub killed: i64,
    pub other: i64,
}

#[derive(Debug, Serialize)]
pub struct NoopReport {
    pub jobs: usize,
    pub concurrency: usize,
    /// `free slots` or `fixed N`.
    pub fetch: String,
    pub single_jobs: usize,
    pub single_connections: usize,
    pub single_enqueue_per_s: f64,
    pub batch_jobs: usize,
    pub batch_chunk: usize,
    pub batch_enqueue_per_s: f64,
    pub enqueue_path: String,
    pub work_secs: f64,
    pub work_per_s: f64,
    pub counts: QueueCounts,
    pub completed: bool,
    /// Fetch transactions of the worker (empty ones included) and the jobs per non-empty one.
    pub fetches: u64,
    pub jobs_per_fetch: f64,
    /// Acknowledgement transactions of their own (results and locks), fetches that also
    /// stored results, and results per acknowledgement of either kind.
    pub ack_transactions: u64,
    pub fetches_with_results: u64,
    pub jobs_per_ack: f64,
    pub largest_fetch: u64,
    /// Every transaction in the scratch database while the worker ran (the worker's, and the
    /// benchmark's own few), per job.
    pub transactions_per_job: f64,
    /// CPU time of this process (worker and benchmark; not PostgreSQL's) per job.
    pub process_cpu_us_per_job: f64,
    /// CPU time of the PostgreSQL backends serving the scratch database per job, from starting
    /// the worker until every job was acknowledged (`bench::cpu`).
    pub postgres_cpu_us_per_job: f64,
}

#[derive(Debug, Serialize)]
pub struct DispatchReport {
    pub jobs: usize,
    pub seed_secs: f64,
    pub enqueue_per_s: f64,
    pub email_concurrency: usize,
    pub work_secs: f64,
    pub jobs_per_s: f64,
    pub counts: QueueCounts,
    pub provider_requests: usize,
    pub distinct_idempotency_keys: usize,
    pub rows_sent: i64,
    pub exactly_once: bool,
    pub completed: bool,
}

#[derive(Debug, Serialize)]
pub struct PickupReport {
    pub pickup: String,
    pub poll_interval_ms: u128,
    pub idle_secs: f64,
    /// Transactions committed or rolled back per second in the scratch database while the
    /// engine (every queue's worker, heartbeats, polling) sat idle.
    pub idle_transactions_per_s: f64,
    pub jobs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Reference {
    pub name: &'static str,
    pub jobs_per_s: f64,
    pub note: &'static str,
}

#[derive(Debug, Serialize)]
pub struct JobsReport {
    pub pickup: Option<PickupReport>,
    pub noop: Option<NoopReport>,
    pub dispatch: Option<DispatchReport>,
    /// Published figures, NOT measured here.
    pub published_reference: Vec<Reference>,
}

pub fn references() -> Vec<Reference> {
    vec![
        Reference {
            name: "River (Go)",
            jobs_per_s: 46_000.0,
            note: "published, 8-core laptop; not measured here",
        },
        Reference {
            name: "graphile-worker (Node)",
            jobs_per_s: 15_000.0,
            note: "published, unbatched; not measured here",
        },
    ]
}

pub async fn run(config: Config, args: JobsArgs) -> anyhow::Result<JobsReport> {
    let db = ScratchDb::create(&config, 24).await?;
    let result = run_on(&db, config, &args).await;
    db.drop_db().await;
    result
}

async fn run_on(db: &ScratchDb, config: Config, args: &JobsArgs) -> anyhow::Result<JobsReport> {
    crate::db::queue::setup(&db.pool)
        .await
        .context("create apalis tables")?;
    let pickup = if args.pickup > 0 {
        Some(pickup_phase(&db.pool, config.clone(), args).await?)
    } else {
        None
    };
    let noop = if args.noop > 0 {
        let r = noop_phase(&db.pool, config.clone(), args).await?;
        // Leave the dispatch phase an unbloated jobs table.
        crate::db::bench::clear_queue(&db.pool, Noop::QUEUE).await?;
        Some(r)
    } else {
        None
    };
    let dispatch = if args.dispatch > 0 {
        Some(dispatch_phase(&db.pool, config, args).await?)
    } else {
        None
    };
    Ok(JobsReport {
        pickup,
        noop,
        dispatch,
        published_reference: references(),
    })
}

/// Batch push of `jobs` onto `K`'s queue in chunks of `chunk` (one INSERT per chunk).
async fn push_batched<K: JobKind>(pool: &PgPool, jobs: Vec<K>, chunk: usize) -> anyhow::Result<()> {
    let mut storage = PostgresStorage::<K>::new(pool)
        .with_config(apalis_postgres::Config::default().queue(K::QUEUE));
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let tasks: Vec<_> = jobs
            .by_ref()
            .take(chunk.max(1))
            .map(|j| TaskBuilder::new(j).max_attempts(K::MAX_ATTEMPTS).build())
            .collect();
        storage
            .push_all(futures::stream::iter(tasks))
            .await
            .map_err(|e| anyhow::anyhow!("batch push: {e}"))?;
    }
    Ok(())
}

async fn counts(pool: &PgPool, queue: &str) -> anyhow::Result<QueueCounts> {
    let (done, failed, killed, other) = crate::db::bench::queue_status_counts(pool, queue).await?;
    Ok(QueueCounts {
        done,
        failed,
        killed,
        other,
    })
}

/// Polls the queue's status counts until `n` jobs are `Done` (true), nothing is left to run, or
/// the timeout passes (false). Returns the time taken and the last counts.
async fn wait_done(
    pool: &PgPool,
    queue: &str,
    n: usize,
    timeout: Duration,
) -> anyhow::Result<(Duration, QueueCounts, bool)> {
    let start = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let c = counts(pool, queue).await?;
        if c.done >= n as i64 {
            return Ok((start.elapsed(), c, true));
        }
        if (c.other == 0 && c.done + c.killed + c.failed >= n as i64) || start.elapsed() > timeout {
            return Ok((start.elapsed(), c, false));
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  {queue}: {} / {n} done after {:.0} s",
                c.done,
                start.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the worker has acknowledged `n` results (its own counter: no query while the
/// jobs run, so the benchmark does not compete with the engine for the database; counting
/// `apalis.jobs` by status every 100 ms scanned the whole table, 20–40 ms of PostgreSQL CPU each
/// time on 100k rows). When the count stalls for 2 s, the table is asked whether anything is
/// left to run; the timeout gives up. The caller counts the table once the worker has stopped.
async fn wait_acknowledged(
    pool: &PgPool,
    stats: &FetchStats,
    n: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let (mut last_report, mut last_progress) = (Instant::now(), Instant::now());
    let mut acked = 0;
    loop {
        let now = FetchStats::get(&stats.acked) as usize;
        if now >= n {
            return Ok(());
        }
        if now != acked {
            (acked, last_progress) = (now, Instant::now());
        }
        if start.elapsed() > timeout {
            return Ok(());
        }
        if last_progress.elapsed() > Duration::from_secs(2) {
            let c = counts(pool, Noop::QUEUE).await?;
            if c.other == 0 {
                return Ok(());
            }
            last_progress = Instant::now();
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            let secs = start.elapsed().as_secs_f64();
            eprintln!("  no-op: {acked} / {n} acknowledged after {secs:.0} s");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Enqueues jobs `0..single` one per round trip through the production path
/// (`jobs::enqueue`), from `conns` concurrent tasks; returns the seconds it took.
async fn enqueue_one_by_one(pool: &PgPool, single: usize, conns: usize) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let next = next.clone();
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= single {
                    return Ok::<(), JobError>(());
                }
                crate::jobs::enqueue(&pool, Noop { n: i as u64 }, None).await?;
            }
        }));
    }
    for task in tasks {
        task.await.context("enqueue task panicked")??;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (Linux; zero
/// elsewhere).
fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th there.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // USER_HZ is 100 on every Linux this runs on.
    (ticks(11) + ticks(12)) / 100.0
}

/// Waits at most 15 s for a stopping engine/monitor task, logging how it ended.
async fn stop_within_15s<E: std::fmt::Display>(
    task: tokio::task::JoinHandle<Result<(), E>>,
    what: &str,
) {
    match tokio::time::timeout(Duration::from_secs(15), task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "{what} stopped with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "{what} panicked"),
        Err(_) => tracing::warn!("{what} did not stop within 15 s"),
    }
}

/// The fetch of every engine this benchmark runs: `--fixed-batch` or the production free slots.
fn fetch_mode(args: &JobsArgs) -> Fetch {
    match args.fixed_batch {
        Some(b) => Fetch::Fixed(b.max(1)),
        None => Fetch::FreeSlots,
    }
}

async fn noop_phase(pool: &PgPool, config: Config, args: &JobsArgs) -> anyhow::Result<NoopReport> {
    let n = args.noop;
    let single = args.single.min(n);
    let conns = 8usize;
    NOOP_CONCURRENCY.store(args.concurrency.unwrap_or(0), Ordering::Relaxed);

    let single_secs = enqueue_one_by_one(pool, single, conns).await?;

    // The rest in batches.
    let batch: Vec<Noop> = (single..n).map(|i| Noop { n: i as u64 }).collect();
    let batch_jobs = batch.len();
    let t = Instant::now();
    push_batched(pool, batch, args.chunk).await?;
    let batch_secs = t.elapsed().as_secs_f64();

    // The production worker code and settings, serving only the no-op kind.
    let ctx = AppState::new(pool.clone(), config)?;
    let concurrency = Noop::concurrency(&ctx);
    let settings = EngineSettings {
        shutdown_timeout: Duration::from_secs(5),
        fetch: fetch_mode(args),
        ..EngineSettings::default()
    };
    let fetch = match settings.fetch {
        Fetch::FreeSlots => "free slots".to_string(),
        Fetch::Fixed(b) => format!("fixed {b}"),
    };
    eprintln!("  no-op: {n} jobs enqueued; starting the worker (concurrency {concurrency}, fetch {fetch})");
    let workers = crate::jobs::Workers::new(&ctx, &settings, None)?.serve::<Noop>();
    let stats = workers.fetch_stats(Noop::QUEUE);
    let shutdown = CancellationToken::new();
    let xacts_before = crate::db::bench::transactions(pool).await?;
    let cpu_before = process_cpu_secs();
    let machine_before = cpu::snapshot(&crate::db::bench::backend_pids(pool).await?);
    let t = Instant::now();
    let running = tokio::spawn(workers.run(shutdown.clone()));
    let timeout = Duration::from_secs(args.timeout_secs);
    let waited = wait_acknowledged(pool, &stats, n, timeout).await;
    let work_secs = t.elapsed().as_secs_f64();
    let cpu_secs = process_cpu_secs() - cpu_before;
    let machine = cpu::spent(
        &machine_before,
        &cpu::snapshot(&crate::db::bench::backend_pids(pool).await?),
    );
    shutdown.cancel();
    stop_within_15s(running, "no-op worker").await;
    // PostgreSQL's statistics reach pg_stat_database within a second of each transaction.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let xacts = crate::db::bench::transactions(pool).await? - xacts_before - 1;
    waited?;
    // What the table says, after the worker stopped: the figures count only jobs `Done` there.
    let counts = counts(pool, Noop::QUEUE).await?;
    let completed = counts.done >= n as i64;
    let done = counts.done.max(1) as f64;
    let fetches = FetchStats::get(&stats.fetches);
    let fetched = FetchStats::get(&stats.fetched) as f64;
    let acks = FetchStats::get(&stats.ack_transactions);
    let in_fetch = FetchStats::get(&stats.fetches_with_results);

    Ok(NoopReport {
        jobs: n,
        concurrency,
        fetch,
        single_jobs: single,
        single_connections: conns,
        single_enqueue_per_s: rate(single, single_secs),
        batch_jobs,
        batch_chunk: args.chunk.max(1),
        batch_enqueue_per_s: rate(batch_jobs, batch_secs),
        enqueue_path: format!(
            "{single} via jobs::enqueue (push_task, one INSERT + commit per job, {conns} concurrent); \
             {batch_jobs} via apalis-postgres TaskSink::push_all (one INSERT ... unnest per {} jobs)",
            args.chunk.max(1)
        ),
        work_secs,
        work_per_s: rate(counts.done.max(0) as usize, work_secs),
        counts,
        completed,
        fetches,
        jobs_per_fetch: fetched / fetches.max(1) as f64,
        ack_transactions: acks,
        fetches_with_results: in_fetch,
        jobs_per_ack: FetchStats::get(&stats.acked) as f64 / (acks + in_fetch).max(1) as f64,
        largest_fetch: FetchStats::get(&stats.largest_fetch),
        transactions_per_job: xacts.max(0) as f64 / done,
        process_cpu_us_per_job: cpu_secs * 1e6 / done,
        postgres_cpu_us_per_job: machine.postgres_ms * 1e3 / done,
    })
}

fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

#[derive(Default)]
struct FakeResend {
    requests: AtomicUsize,
    keys: Mutex<HashSet<String>>,
    /// When each idempotency key first arrived.
    arrivals: Mutex<std::collections::HashMap<String, Instant>>,
}

async fn fake_send(State(fake): State<Arc<FakeResend>>, headers: HeaderMap) -> Json<Value> {
    let at = Instant::now();
    let n = fake.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        if let Ok(mut keys) = fake.keys.lock() {
            keys.insert(key.to_string());
        }
        if let Ok(mut arrivals) = fake.arrivals.lock() {
            arrivals.entry(key.to_string()).or_insert(at);
        }
    }
    Json(json!({ "id": format!("re_bench_{n:08}") }))
}

/// Serves `fake` on a loopback port and points `config`'s Resend client at it.
async fn start_fake_resend(
    fake: Arc<FakeResend>,
    config: &mut Config,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/emails", post(fake_send))
        .with_state(fake);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    config.resend_base_url = format!("http://{addr}");
    config.resend_api_key = Some(Secret::for_bench("bench-resend-key"));
    config.email_from = Some("Bench Clinic <bench@example.com>".into());
    config.resend_max_rps = 100_000;
    Ok(server)
}

/// A zone where it is early afternoon now, so seeded emails fall inside waking hours.
fn awake_zone() -> String {
    crate::domain::clock::zone_at_local_hour(chrono::Utc::now(), 13)
        .name()
        .to_string()
}

/// The idle engine: database transactions per second while nothing happens, then `args.pickup`
/// emails enqueued one at a time (each after a random pause, so the polls' phase is random),
/// each timed from its enqueue to the fake Resend receiving it.
async fn pickup_phase(
    pool: &PgPool,
    mut config: Config,
    args: &JobsArgs,
) -> anyhow::Result<PickupReport> {
    use rand::Rng;
    let fake = Arc::new(FakeResend::default());
    let server = start_fake_resend(fake.clone(), &mut config).await?;
    let ids = crate::db::bench::seed_dispatch_emails(pool, args.pickup as i64, &awake_zone())
        .await
        .context("seed outbound emails")?;
    let ctx = AppState::new(pool.clone(), config)?;
    let catalogue = crate::jobs::catalogue::Catalogue {
        source: "bench (empty)".into(),
        entries: Vec::new(),
    };
    let settings = EngineSettings {
        shutdown_timeout: Duration::from_secs(5),
        fetch: fetch_mode(args),
        ..EngineSettings::default()
    };
    let poll_interval_ms = settings.poll_interval.as_millis();
    let pickup = match args.poll_only {
        true => crate::jobs::Pickup::PollOnly,
        false => crate::jobs::Pickup::WakeOnInsert,
    };
    let shutdown = CancellationToken::new();
    let engine = tokio::spawn(crate::jobs::run_engine_with(
        ctx,
        catalogue,
        settings,
        pickup,
        shutdown.clone(),
    ));
    // Let every worker register and settle, then count what the idle engine asks of the database.
    tokio::time::sleep(Duration::from_secs(3)).await;
    eprintln!(
        "  pickup: engine idle; counting transactions for {} s",
        args.idle_secs
    );
    let before = crate::db::bench::transactions(pool).await?;
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.idle_secs.max(1))).await;
    let after = crate::db::bench::transactions(pool).await?;
    let idle_secs = t.elapsed().as_secs_f64();
    // One of them is the first reading itself.
    let idle_transactions_per_s = (after - before - 1).max(0) as f64 / idle_secs;

    let mut latencies = Vec::with_capacity(ids.len());
    for id in &ids {
        let pause = rand::thread_rng().gen_range(100..1100);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let key = id.to_string();
        let t0 = Instant::now();
        crate::jobs::enqueue_dispatch_email(pool, *id, None).await?;
        let deadline = t0 + Duration::from_secs(30);
        let arrived = loop {
            let seen = fake.arrivals.lock().ok().and_then(|a| a.get(&key).copied());
            if let Some(at) = seen {
                break at;
            }
            if Instant::now() > deadline {
                anyhow::bail!("email {key} not sent within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        latencies.push(arrived.duration_since(t0).as_secs_f64() * 1000.0);
    }
    shutdown.cancel();
    stop_within_15s(engine, "engine").await;
    server.abort();
    crate::db::bench::clear_queue(pool, DispatchEmail::QUEUE).await?;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    Ok(PickupReport {
        pickup: format!("{pickup:?}"),
        poll_interval_ms,
        idle_secs,
        idle_transactions_per_s,
        jobs: latencies.len(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
    })
}

async fn dispatch_phase(
    pool: &PgPool,
    mut config: Config,
    args: &JobsArgs,
) -> anyhow::Result<DispatchReport> {
    let n = args.dispatch;
    // The pickup phase of the same run may have sent emails already: count only this phase's.
    let sent_before: i64 = crate::db::bench::count_sent_emails(pool).await?;
    let fake = Arc::new(FakeResend::default());
    let server = start_fake_resend(fake.clone(), &mut config).await?;

    // Seed: one clinic, 100 cases with discharge summaries, N queued emails spread over them.
    let t = Instant::now();
    let ids: Vec<Uuid> = crate::db::bench::seed_dispatch_emails(pool, n as i64, &awake_zone())
        .await
        .context("seed outbound emails")?;
    let seed_secs = t.elapsed().as_secs_f64();
    if ids.len() != n {
        anyhow::bail!("seeded {} emails, expected {n}", ids.len());
    }

    let t = Instant::now();
    let jobs: Vec<DispatchEmail> = ids
        .into_iter()
        .map(|outbound_email_id| DispatchEmail { outbound_email_id })
        .collect();
    push_batched(pool, jobs, args.chunk).await?;
    let enqueue_secs = t.elapsed().as_secs_f64();
    eprintln!("  dispatch: {n} jobs enqueued; starting the engine");

    let ctx = AppState::new(pool.clone(), config)?;
    let email_concurrency = DispatchEmail::concurrency(&ctx);
    let catalogue = crate::jobs::catalogue::Catalogue {
        source: "bench (empty)".into(),
        entries: Vec::new(),
    };
    let settings = EngineSettings {
        shutdown_timeout: Duration::from_secs(5),
        fetch: fetch_mode(args),
        ..EngineSettings::default()
    };
    let shutdown = CancellationToken::new();
    let t = Instant::now();
    let engine = tokio::spawn(crate::jobs::run_engine(
        ctx,
        catalogue,
        settings,
        shutdown.clone(),
    ));
    let waited = wait_done(
        pool,
        DispatchEmail::QUEUE,
        n,
        Duration::from_secs(args.timeout_secs),
    )
    .await;
    let work_secs = t.elapsed().as_secs_f64();
    shutdown.cancel();
    stop_within_15s(engine, "engine").await;
    server.abort();
    let (_, counts, completed) = waited?;

    let rows_sent: i64 = crate::db::bench::count_sent_emails(pool).await? - sent_before;
    let provider_requests = fake.requests.load(Ordering::Relaxed);
    let distinct_idempotency_keys = fake.keys.lock().map(|k| k.len()).unwrap_or(0);
    Ok(DispatchReport {
        jobs: n,
        seed_secs,
        enqueue_per_s: rate(n, enqueue_secs),
        email_concurrency,
        work_secs,
        jobs_per_s: rate(counts.done.max(0) as usize, work_secs),
        counts,
        provider_requests,
        distinct_idempotency_keys,
        rows_sent,
        exactly_once: provider_requests == n
            && distinct_idempotency_keys == n
            && rows_sent == n as i64,
        completed,
    })
}

pub fn print(r: &JobsReport) {
    println!("job engine benchmark");
    if let Some(p) = &r.pickup {
        println!(
            "idle pickup ({}, poll every {} ms), QStash-style enqueue -> fake Resend: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} emails",
            p.pickup, p.poll_interval_ms, p.p50_ms, p.p99_ms, p.max_ms, p.jobs
        );
        println!(
            "idle engine: {:.2} database transactions/s (over {:.0} s)",
            p.idle_transactions_per_s, p.idle_secs
        );
    }
    println!("{:<66} {:>12} {:>10}", "phase", "jobs/s", "jobs");
    if let Some(n) = &r.noop {
        println!(
            "{:<66} {:>12.0} {:>10}",
            format!(
                "no-op enqueue, one per round trip ({} conns)",
                n.single_connections
            ),
            n.single_enqueue_per_s,
            n.single_jobs
        );
        println!(
            "{:<66} {:>12.0} {:>10}",
            format!("no-op enqueue, batch push ({} per INSERT)", n.batch_chunk),
            n.batch_enqueue_per_s,
            n.batch_jobs
        );
        println!(
            "{:<66} {:>12.0} {:>10}",
            format!(
                "no-op work, engine defaults (conc {}, fetch {}){}",
                n.concurrency,
                n.fetch,
                if n.completed { "" } else { " INCOMPLETE" }
            ),
            n.work_per_s,
            n.counts.done
        );
    }
    if let Some(d) = &r.dispatch {
        println!(
            "{:<66} {:>12.0} {:>10}",
            "dispatch enqueue, batch push", d.enqueue_per_s, d.jobs
        );
        println!(
            "{:<66} {:>12.0} {:>10}",
            format!(
                "DispatchEmail work, real engine, fake Resend (conc {}){}",
                d.email_concurrency,
                if d.completed { "" } else { " INCOMPLETE" }
            ),
            d.jobs_per_s,
            d.counts.done
        );
    }
    for reference in &r.published_reference {
        println!(
            "{:<66} {:>12.0} {:>10}",
            format!("{} [{}]", reference.name, reference.note),
            reference.jobs_per_s,
            "-"
        );
    }
    if let Some(n) = &r.noop {
        println!(
            "no-op: {:.1} s to work {} jobs; status counts {:?}",
            n.work_secs, n.jobs, n.counts
        );
        println!(
            "no-op: {} fetches ({:.1} jobs each, largest {}); acknowledgements: {} on their own + {} inside fetches \
             ({:.1} results each); {:.3} database transactions per job; CPU per job: {:.1} us this process, {:.1} us PostgreSQL",
            n.fetches,
            n.jobs_per_fetch,
            n.largest_fetch,
            n.ack_transactions,
            n.fetches_with_results,
            n.jobs_per_ack,
            n.transactions_per_job,
            n.process_cpu_us_per_job,
            n.postgres_cpu_us_per_job
        );
    }
    if let Some(d) = &r.dispatch {
        println!(
            "dispatch: {:.1} s to work {} jobs; provider requests {}, distinct idempotency keys {}, rows sent {}; exactly once: {}",
            d.work_secs,
            d.jobs,
            d.provider_requests,
            d.distinct_idempotency_keys,
            d.rows_sent,
            if d.exactly_once { "yes" } else { "NO" }
        );
    }
}
