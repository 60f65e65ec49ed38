//! How workers fetch (`src/db/queue_fetch.rs`): up to their free slots, never more — so a worker
//! holds no job it cannot start, two processes share a backlog, a burst costs one fetch per
//! up-to-`concurrency` jobs — and one kind's flood never holds up another kind. Counted, not timed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use odis_worker::jobs::{self, EngineSettings, FetchStats, Job, JobError, JobKind, Workers};
use odis_worker::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::helpers::app;

fn fast() -> EngineSettings {
    EngineSettings {
        poll_interval: Duration::from_millis(50),
        heartbeat_interval: Duration::from_secs(1),
        missed_heartbeats: 5,
        shutdown_timeout: Duration::from_secs(10),
        ..EngineSettings::default()
    }
}

/// Jobs of a kind that wait at `gate` (a test opens it), counting how many run at once.
struct Gate {
    gate: Semaphore,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
}

impl Gate {
    const fn new() -> Self {
        Self {
            gate: Semaphore::const_new(0),
            running: AtomicUsize::new(0),
            most_at_once: AtomicUsize::new(0),
        }
    }

    async fn pass(&self) -> Result<Value, JobError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        let permit = self.gate.acquire().await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        permit
            .map(|p| p.forget())
            .map_err(|e| JobError::Transient(e.to_string()))?;
        Ok(Value::Null)
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}

static SHARED: Gate = Gate::new();
static FLOOD: Gate = Gate::new();

/// Served by two "processes" (two engines with their own instance names), 3 at once each.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SharedBacklog {
    n: u32,
}

impl Job for SharedBacklog {
    const QUEUE: &'static str = "odis.test_fetch_shared_backlog";
    const MAX_ATTEMPTS: usize = 1;
}

impl JobKind for SharedBacklog {
    fn concurrency(_ctx: &AppState) -> usize {
        3
    }
    async fn run(self, _ctx: AppState) -> Result<Value, JobError> {
        SHARED.pass().await
    }
}

/// A flood, 4 at once, each waiting at its gate.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Flood {
    n: u32,
}

impl Job for Flood {
    const QUEUE: &'static str = "odis.test_fetch_flood";
    const MAX_ATTEMPTS: usize = 1;
}

impl JobKind for Flood {
    fn concurrency(_ctx: &AppState) -> usize {
        4
    }
    async fn run(self, _ctx: AppState) -> Result<Value, JobError> {
        FLOOD.pass().await
    }
}

/// Another kind, enqueued during the flood.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Other {
    n: u32,
}

impl Job for Other {
    const QUEUE: &'static str = "odis.test_fetch_other";
    const MAX_ATTEMPTS: usize = 1;
}

impl JobKind for Other {
    async fn run(self, _ctx: AppState) -> Result<Value, JobError> {
        Ok(Value::Null)
    }
}

static BURST_RUNNING: AtomicUsize = AtomicUsize::new(0);
static BURST_MOST: AtomicUsize = AtomicUsize::new(0);

/// A cheap kind, 50 at once: does nothing but count.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Burst {
    n: u32,
}

impl Job for Burst {
    const QUEUE: &'static str = "odis.test_fetch_burst";
    const MAX_ATTEMPTS: usize = 1;
}

impl JobKind for Burst {
    fn concurrency(_ctx: &AppState) -> usize {
        50
    }
    async fn run(self, _ctx: AppState) -> Result<Value, JobError> {
        let now = BURST_RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        BURST_MOST.fetch_max(now, Ordering::SeqCst);
        tokio::task::yield_now().await;
        BURST_RUNNING.fetch_sub(1, Ordering::SeqCst);
        Ok(Value::Null)
    }
}

/// Pushes `n` jobs made by `job` in one transaction (one round trip each, one commit).
async fn push<K: Job>(pool: &PgPool, n: u32, job: impl Fn(u32) -> K) {
    let mut tx = pool.begin().await.unwrap();
    for i in 0..n {
        odis_worker::db::queue::enqueue_in_tx(&mut tx, &job(i), None)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// Jobs of `queue` by status.
async fn statuses(pool: &PgPool, queue: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT status, count(*) FROM apalis.jobs WHERE job_type = $1 GROUP BY status ORDER BY 1",
    )
    .bind(queue)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn count(pool: &PgPool, queue: &str, status: &str) -> i64 {
    statuses(pool, queue)
        .await
        .into_iter()
        .find(|(s, _)| s == status)
        .map_or(0, |(_, n)| n)
}

/// Waits (at most 30 s) until `done` holds.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn start(
    workers: Workers,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let shutdown = CancellationToken::new();
    (shutdown.clone(), tokio::spawn(workers.run(shutdown)))
}

async fn stop(shutdown: CancellationToken, task: tokio::task::JoinHandle<anyhow::Result<()>>) {
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("workers stop")
        .unwrap()
        .unwrap();
}

/// Two processes, 3 slots each, 10 jobs that wait: each process takes exactly 3 and leaves the
/// other 4 `Pending` in the table, where any process can take them. A fetch of a fixed batch
/// (apalis-postgres's own 10) would lock all 10 to the first worker (3 running, 7 in its buffer)
/// and leave the second process idle.
#[sqlx::test(migrations = "./migrations")]
async fn fetch_takes_only_free_slots_so_two_processes_share_a_backlog(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    push(&pool, 10, |n| SharedBacklog { n }).await;
    let mut a = app::context(&pool, "http://127.0.0.1:9");
    a.instance = "fetch-a".into();
    let mut b = a.clone();
    b.instance = "fetch-b".into();
    let wa = Workers::new(&a, &fast(), None)
        .unwrap()
        .serve::<SharedBacklog>();
    let wb = Workers::new(&b, &fast(), None)
        .unwrap()
        .serve::<SharedBacklog>();
    let (stats_a, stats_b) = (
        wa.fetch_stats(SharedBacklog::QUEUE),
        wb.fetch_stats(SharedBacklog::QUEUE),
    );
    let (sa, ta) = start(wa);
    let (sb, tb) = start(wb);

    until("6 jobs running across both processes", async || {
        SHARED.running() == 6
    })
    .await;
    // Let both workers look again several times: full, they must not fetch more.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held: Vec<(String, i64)> = sqlx::query_as(
        "SELECT lock_by, count(*) FROM apalis.jobs \
         WHERE job_type = $1 AND status IN ('Queued', 'Running') GROUP BY lock_by ORDER BY 1",
    )
    .bind(SharedBacklog::QUEUE)
    .fetch_all(&pool)
    .await
    .unwrap();
    let counts: Vec<i64> = held.iter().map(|(_, n)| *n).collect();
    assert_eq!(
        counts,
        vec![3, 3],
        "each process holds what it runs: {held:?}"
    );
    assert_eq!(count(&pool, SharedBacklog::QUEUE, "Pending").await, 4);
    assert_eq!(SHARED.running(), 6);

    SHARED.gate.add_permits(10);
    until("all 10 done", async || {
        count(&pool, SharedBacklog::QUEUE, "Done").await == 10
    })
    .await;
    stop(sa, ta).await;
    stop(sb, tb).await;
    assert_eq!(SHARED.most_at_once.load(Ordering::SeqCst), 6);
    for stats in [stats_a, stats_b] {
        assert!(FetchStats::get(&stats.largest_fetch) <= 3, "{stats:?}");
    }
}

/// A flood of one kind fills that kind's slots and leaves a backlog; a job of another kind
/// enqueued meanwhile still runs at once, before any of the flood's backlog.
#[sqlx::test(migrations = "./migrations")]
async fn a_flood_of_one_kind_does_not_hold_up_another_kind(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    push(&pool, 400, |n| Flood { n }).await;
    let ctx = app::context(&pool, "http://127.0.0.1:9");
    let workers = Workers::new(&ctx, &fast(), None)
        .unwrap()
        .serve::<Flood>()
        .serve::<Other>();
    let (shutdown, task) = start(workers);
    until("the flood fills its 4 slots", async || FLOOD.running() == 4).await;

    jobs::enqueue(&pool, Other { n: 1 }, None).await.unwrap();
    until("the other kind's job is done", async || {
        count(&pool, Other::QUEUE, "Done").await == 1
    })
    .await;
    // The flood is still stuck at its gate with its backlog untouched.
    assert_eq!(FLOOD.running(), 4);
    assert_eq!(count(&pool, Flood::QUEUE, "Pending").await, 396);

    FLOOD.gate.add_permits(400);
    until("the flood drains", async || {
        count(&pool, Flood::QUEUE, "Done").await == 400
    })
    .await;
    stop(shutdown, task).await;
    assert_eq!(FLOOD.most_at_once.load(Ordering::SeqCst), 4);
}

/// 2 000 cheap jobs, 50 slots: every fetch asks for the free slots, so the burst takes about
/// 2 000 / 50 fetches (and as many acknowledgements), far fewer than the 200 a fixed batch of
/// 10 needs, and never more than 50 run or are fetched at once.
#[sqlx::test(migrations = "./migrations")]
async fn a_burst_is_drained_in_fetches_of_up_to_the_free_slots(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    push(&pool, 2_000, |n| Burst { n }).await;
    let ctx = app::context(&pool, "http://127.0.0.1:9");
    let workers = Workers::new(&ctx, &fast(), None).unwrap().serve::<Burst>();
    let stats = workers.fetch_stats(Burst::QUEUE);
    let (shutdown, task) = start(workers);
    until("the burst is done", async || {
        count(&pool, Burst::QUEUE, "Done").await == 2_000
    })
    .await;
    stop(shutdown, task).await;

    assert_eq!(FetchStats::get(&stats.fetched), 2_000);
    assert_eq!(FetchStats::get(&stats.acked), 2_000);
    assert!(FetchStats::get(&stats.largest_fetch) <= 50, "{stats:?}");
    assert!(BURST_MOST.load(Ordering::SeqCst) <= 50);
    // Empty fetches (the last one, polls after the end) are counted too.
    assert!(FetchStats::get(&stats.fetches) < 2_000 / 10, "{stats:?}");
    assert!(
        FetchStats::get(&stats.ack_transactions) < 2_000 / 10,
        "{stats:?}"
    );
}

static WIDE_RUNS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());
static WIDE_RUNNING: AtomicUsize = AtomicUsize::new(0);
static WIDE_MOST: AtomicUsize = AtomicUsize::new(0);

/// A cheap kind with enough slots for two fetches in flight (`db::queue_fetch::pipeline`):
/// 200 at once, records which jobs ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Wide {
    n: u32,
}

impl Job for Wide {
    const QUEUE: &'static str = "odis.test_fetch_wide";
    const MAX_ATTEMPTS: usize = 1;
}

impl JobKind for Wide {
    fn concurrency(_ctx: &AppState) -> usize {
        200
    }
    async fn run(self, _ctx: AppState) -> Result<Value, JobError> {
        let now = WIDE_RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        WIDE_MOST.fetch_max(now, Ordering::SeqCst);
        tokio::task::yield_now().await;
        WIDE_RUNNING.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut runs) = WIDE_RUNS.lock() {
            runs.push(self.n);
        }
        Ok(Value::Null)
    }
}

/// 3 000 cheap jobs, 200 slots: with a backlog two fetches overlap, each for at most half the
/// slots; never more than 200 run at once; every job runs exactly once and ends `Done` with
/// apalis's result shape; almost every result is stored by the next fetch's statement rather
/// than by an acknowledgement of its own.
#[sqlx::test(migrations = "./migrations")]
async fn a_backlog_is_drained_by_overlapping_fetches_that_carry_the_results(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    push(&pool, 3_000, |n| Wide { n }).await;
    let ctx = app::context(&pool, "http://127.0.0.1:9");
    let workers = Workers::new(&ctx, &fast(), None).unwrap().serve::<Wide>();
    let stats = workers.fetch_stats(Wide::QUEUE);
    let (shutdown, task) = start(workers);
    until("the backlog is done", async || {
        count(&pool, Wide::QUEUE, "Done").await == 3_000
    })
    .await;
    stop(shutdown, task).await;

    let mut runs = WIDE_RUNS.lock().unwrap().clone();
    runs.sort_unstable();
    assert_eq!(runs, (0..3_000).collect::<Vec<u32>>(), "each job ran once");
    assert!(WIDE_MOST.load(Ordering::SeqCst) <= 200);
    assert_eq!(FetchStats::get(&stats.fetched), 3_000);
    assert_eq!(FetchStats::get(&stats.acked), 3_000);
    assert!(FetchStats::get(&stats.largest_fetch) <= 100, "{stats:?}");
    assert!(
        FetchStats::get(&stats.fetches_with_results) > FetchStats::get(&stats.ack_transactions),
        "{stats:?}"
    );
    let shape: Vec<(i32, Option<String>, bool)> = sqlx::query_as(
        "SELECT DISTINCT attempts, last_result::text, done_at IS NOT NULL FROM apalis.jobs \
         WHERE job_type = $1",
    )
    .bind(Wide::QUEUE)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(shape, vec![(1, Some(r#"{"Ok": null}"#.to_string()), true)]);
}

/// An idle worker with hundreds of slots fetches once per wake-up (its poll interval here), as
/// one with a few slots does: no second fetch without a backlog, so the idle database load does
/// not depend on the slots.
#[sqlx::test(migrations = "./migrations")]
async fn an_idle_worker_with_many_slots_fetches_once_per_poll(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    let ctx = app::context(&pool, "http://127.0.0.1:9");
    let workers = Workers::new(&ctx, &fast(), None).unwrap().serve::<Wide>();
    let stats = workers.fetch_stats(Wide::QUEUE);
    let (shutdown, task) = start(workers);
    let started = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let fetches = FetchStats::get(&stats.fetches);
    let polls = started.elapsed().as_millis() / fast().poll_interval.as_millis();
    stop(shutdown, task).await;
    // One per poll, plus the first and one after each (1 s) heartbeat at most.
    assert!(
        fetches as u128 <= polls + 3,
        "{fetches} fetches in {polls} polls"
    );
    assert_eq!(FetchStats::get(&stats.fetched), 0);
}

/// `jobs::setup` leaves `apalis.jobs` without apalis's two duplicate indexes (their twins stay)
/// and can run again.
#[sqlx::test(migrations = "./migrations")]
async fn setup_drops_the_duplicate_job_indexes_and_runs_again(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    jobs::setup(&pool).await.unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'apalis' AND tablename = 'jobs' \
         ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "idx_apalis_jobs_fetch_partial",
            "idx_apalis_jobs_lock_by",
            "idx_jobs_idempotency_key",
            "jobs_pkey"
        ]
    );
}

/// Two statements of one worker in flight can update a job's `Running` mark and another job's
/// result in opposite orders; PostgreSQL then aborts one as a deadlock victim. That statement
/// changed nothing and is sent again (`db::queue_fetch::sql`), instead of stopping the worker
/// with the results it carried. Here a transaction holds job X, the acknowledgement stores Z's
/// `Running` mark and waits for X, and the transaction then wants Z: a real deadlock, whose victim is the
/// acknowledgement (the transaction's `deadlock_timeout` is the longer). It still succeeds.
#[sqlx::test(migrations = "./migrations")]
async fn an_acknowledgement_picked_as_a_deadlock_victim_is_sent_again(pool: PgPool) {
    use odis_worker::db::queue_fetch::{ack_and_fetch, Acks};
    jobs::setup(&pool).await.unwrap();
    push(&pool, 2, |n| Burst { n }).await;
    let worker = "deadlock-test-worker";
    sqlx::query(
        "INSERT INTO apalis.workers (id, worker_type, storage_name, layers, last_seen) \
         VALUES ($1, $2, 'PgStorage', '', now())",
    )
    .bind(worker)
    .bind(Burst::QUEUE)
    .execute(&pool)
    .await
    .unwrap();
    let claimed = ack_and_fetch(&pool, worker, Burst::QUEUE, 2, &Acks::default())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM apalis.jobs WHERE job_type = $1 ORDER BY id")
            .bind(Burst::QUEUE)
            .fetch_all(&pool)
            .await
            .unwrap();
    let (x, z) = (ids[0].clone(), ids[1].clone());
    let deadlocks = async |pool: &PgPool| -> i64 {
        sqlx::query_scalar(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    };
    let before = deadlocks(&pool).await;

    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL deadlock_timeout = '60s'")
        .execute(&mut *holder)
        .await
        .unwrap();
    sqlx::query("UPDATE apalis.jobs SET priority = priority WHERE id = $1")
        .bind(&x)
        .execute(&mut *holder)
        .await
        .unwrap();
    // Z's `Running` mark and X's result: PostgreSQL runs the statement's `locks` part before its
    // `results` part (its executor finishes unreferenced data-modifying CTEs last first), so the
    // acknowledgement takes Z, then waits for X.
    let acks = Acks {
        ids: vec![x.clone()],
        statuses: vec!["Done".into()],
        attempts: vec![1],
        results: vec![serde_json::json!({"Ok": null})],
        locks: vec![z.clone()],
    };
    let ack_pool = pool.clone();
    let ack =
        tokio::spawn(async move { ack_and_fetch(&ack_pool, worker, Burst::QUEUE, 0, &acks).await });
    until("the acknowledgement waits for X", async || {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
            == 1
    })
    .await;
    // Waits for Z, held by the acknowledgement: the cycle. The acknowledgement is aborted after
    // its 1 s deadlock_timeout, which lets this update through.
    sqlx::query("UPDATE apalis.jobs SET priority = priority WHERE id = $1")
        .bind(&z)
        .execute(&mut *holder)
        .await
        .unwrap();
    holder.commit().await.unwrap();

    let fetched = ack.await.unwrap().unwrap();
    assert!(fetched.is_empty());
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, status FROM apalis.jobs WHERE job_type = $1 ORDER BY id")
            .bind(Burst::QUEUE)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows, vec![(x, "Done".into()), (z, "Running".into())]);
    until("the deadlock is counted", async || {
        deadlocks(&pool).await > before
    })
    .await;
}
