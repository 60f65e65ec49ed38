//! The engine end to end: real apalis workers on the test database, fake Resend on loopback;
//! dead and orphaned jobs; the sweeper; the catalogue and its once-per-tick claim.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use odis_worker::jobs::catalogue::{self, Catalogue, CatalogueError, PeriodicJob};
use odis_worker::jobs::{self, DispatchCall, DispatchEmail, EngineSettings, Job};
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{app, seed};

fn fast() -> EngineSettings {
    EngineSettings {
        poll_interval: Duration::from_millis(100),
        heartbeat_interval: Duration::from_secs(1),
        missed_heartbeats: 3,
        shutdown_timeout: Duration::from_secs(10),
        retry_min: Duration::from_millis(10),
        retry_max: Duration::from_millis(50),
        ..EngineSettings::default()
    }
}

fn empty_catalogue() -> Catalogue {
    Catalogue::parse("", "test").unwrap()
}

/// Polls `sql` (one text column) until it returns `want`, for at most 30 s.
async fn wait_for(pool: &PgPool, sql: &'static str, bind: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        // The column may be NULL until the awaited change lands (e.g. vapi_call_id).
        let got: Option<String> = sqlx::query_scalar::<_, Option<String>>(sql)
            .bind(bind)
            .fetch_optional(pool)
            .await
            .unwrap()
            .flatten();
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {want:?}, last {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stop(shutdown: CancellationToken, engine: tokio::task::JoinHandle<anyhow::Result<()>>) {
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), engine)
        .await
        .expect("engine stops after shutdown")
        .unwrap()
        .unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn an_enqueued_email_is_sent_by_the_worker(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let id = seed::due_email(&pool, &s).await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .and(header("idempotency-key", id.to_string().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_e2e"})))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());
    jobs::enqueue_dispatch_email(&pool, id, None).await.unwrap();
    // A second delivery of the same work (e.g. QStash and the sweeper) changes nothing.
    jobs::enqueue_dispatch_email(&pool, id, None).await.unwrap();

    let shutdown = CancellationToken::new();
    let engine = tokio::spawn(jobs::run_engine(
        ctx,
        empty_catalogue(),
        fast(),
        shutdown.clone(),
    ));
    wait_for(
        &pool,
        "SELECT status FROM outbound_emails WHERE id::text = $1",
        &id.to_string(),
        "sent",
    )
    .await;
    wait_for(
        &pool,
        "SELECT string_agg(status, ',' ORDER BY status) FROM apalis.jobs WHERE job_type = $1",
        DispatchEmail::QUEUE,
        "Done,Done",
    )
    .await;
    stop(shutdown, engine).await;
    assert_eq!(app::email_row(&pool, id).await.1.as_deref(), Some("re_e2e"));
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_permanent_failure_kills_the_job_and_keeps_the_error(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let id = seed::due_email(&pool, &s).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let mut config = app::job_config(&server.uri());
    config.resend_api_key = None;
    let ctx = app::context_with(&pool, config);
    jobs::enqueue_dispatch_email(&pool, id, None).await.unwrap();

    let shutdown = CancellationToken::new();
    let engine = tokio::spawn(jobs::run_engine(
        ctx,
        empty_catalogue(),
        fast(),
        shutdown.clone(),
    ));
    wait_for(
        &pool,
        "SELECT status FROM apalis.jobs WHERE job_type = $1",
        DispatchEmail::QUEUE,
        "Killed",
    )
    .await;
    stop(shutdown, engine).await;
    let (attempts, last): (i32, String) =
        sqlx::query_as("SELECT attempts, last_result::text FROM apalis.jobs WHERE job_type = $1")
            .bind(DispatchEmail::QUEUE)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1, "not retried");
    assert!(last.contains("RESEND_API_KEY is not configured"), "{last}");
    // The row is untouched and claimable once the key is configured.
    let (status, _, meta) = app::email_row(&pool, id).await;
    assert_eq!(status, "queued");
    assert!(meta.get("dispatch_claimed_at").is_none());
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_job_that_keeps_failing_ends_dead_after_its_attempt_limit(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let id = seed::due_email(&pool, &s).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    // Every attempt now fails on the database after the claim.
    sqlx::query("ALTER TABLE discharge_summaries RENAME TO discharge_summaries_gone")
        .execute(&pool)
        .await
        .unwrap();
    let ctx = app::context(&pool, &server.uri());
    jobs::enqueue_dispatch_email(&pool, id, None).await.unwrap();

    let shutdown = CancellationToken::new();
    let engine = tokio::spawn(jobs::run_engine(
        ctx,
        empty_catalogue(),
        fast(),
        shutdown.clone(),
    ));
    wait_for(
        &pool,
        "SELECT status FROM apalis.jobs WHERE job_type = $1",
        DispatchEmail::QUEUE,
        "Failed",
    )
    .await;
    stop(shutdown, engine).await;
    let (attempts, max, last): (i32, i32, String) = sqlx::query_as(
        "SELECT attempts, max_attempts, last_result::text FROM apalis.jobs WHERE job_type = $1",
    )
    .bind(DispatchEmail::QUEUE)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (attempts, max),
        (
            DispatchEmail::MAX_ATTEMPTS as i32,
            DispatchEmail::MAX_ATTEMPTS as i32
        )
    );
    assert!(last.contains("discharge_summaries"), "{last}");
    let (status, _, meta) = app::email_row(&pool, id).await;
    assert_eq!(status, "queued", "the row is given back, not lost");
    assert!(meta.get("dispatch_claimed_at").is_none());
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn jobs_of_a_dead_worker_are_picked_up_again(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let id = seed::due_email(&pool, &s).await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_orphan"})))
        .expect(1)
        .mount(&server)
        .await;
    jobs::enqueue_dispatch_email(&pool, id, None).await.unwrap();
    // A worker that took the job and then died: its heartbeat stopped an hour ago.
    sqlx::query(
        "INSERT INTO apalis.workers (id, worker_type, storage_name, last_seen) \
         VALUES ('ghost', $1, 'PgStorage', now() - interval '1 hour')",
    )
    .bind(DispatchEmail::QUEUE)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE apalis.jobs SET status = 'Running', lock_by = 'ghost', lock_at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    let ctx = app::context(&pool, &server.uri());

    let shutdown = CancellationToken::new();
    let engine = tokio::spawn(jobs::run_engine(
        ctx,
        empty_catalogue(),
        fast(),
        shutdown.clone(),
    ));
    wait_for(
        &pool,
        "SELECT status FROM outbound_emails WHERE id::text = $1",
        &id.to_string(),
        "sent",
    )
    .await;
    stop(shutdown, engine).await;
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn the_sweeper_enqueues_due_work_once_and_recovers_stale_claims(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let call = seed::due_call(&pool, &s, "+14085550199").await;
    let email = seed::due_email(&pool, &s).await;
    let later = seed::due_email(&pool, &s).await;
    sqlx::query(
        "UPDATE outbound_emails SET scheduled_for = now() + interval '1 hour' WHERE id = $1",
    )
    .bind(later)
    .execute(&pool)
    .await
    .unwrap();
    // A call whose worker died mid-request, and an email whose worker died before sending.
    let stale_call = seed::due_call(&pool, &s, "+14085550188").await;
    sqlx::query(
        "UPDATE outbound_calls SET metadata = metadata || jsonb_build_object( \
           'dispatch_claimed_at', now() - interval '20 minutes', 'dispatch_sending_at', now() - interval '20 minutes') \
         WHERE id = $1",
    )
    .bind(stale_call)
    .execute(&pool)
    .await
    .unwrap();
    let stale_email = seed::due_email(&pool, &s).await;
    sqlx::query(
        "UPDATE outbound_emails SET metadata = metadata || jsonb_build_object('dispatch_claimed_at', now() - interval '20 minutes') WHERE id = $1",
    )
    .bind(stale_email)
    .execute(&pool)
    .await
    .unwrap();
    let ctx = app::context(&pool, &server.uri());

    let first = jobs::sweep::run(&ctx).await.unwrap();
    assert_eq!(first.calls_enqueued, 1);
    assert_eq!(
        first.emails_enqueued, 2,
        "the due one and the released stale one"
    );
    assert_eq!(first.stale_claims_released, 1);
    assert_eq!(first.stale_calls_failed, 1);
    let (status, _, meta) = app::call_row(&pool, stale_call).await;
    assert_eq!(status, "failed");
    assert_eq!(meta["dispatch_ambiguous"], json!(true));
    let queued_ids: Vec<String> = sqlx::query_scalar(
        "SELECT convert_from(job, 'UTF8')::jsonb->>'outbound_email_id' FROM apalis.jobs WHERE job_type = $1 ORDER BY 1",
    )
    .bind(DispatchEmail::QUEUE)
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut want = vec![email.to_string(), stale_email.to_string()];
    want.sort();
    assert_eq!(queued_ids, want);
    assert_eq!(app::pending_jobs(&pool, DispatchCall::QUEUE).await.len(), 1);
    let _ = call;

    let second = jobs::sweep::run(&ctx).await.unwrap();
    assert_eq!(
        (second.calls_enqueued, second.emails_enqueued),
        (0, 0),
        "no duplicate jobs"
    );
}

#[test]
fn the_shipped_catalogue_is_valid_and_lists_next_runs() {
    let shipped = std::fs::read_to_string("jobs/catalogue.toml").unwrap();
    assert_eq!(shipped, catalogue::EMBEDDED);
    let c = Catalogue::parse(&shipped, "jobs/catalogue.toml").unwrap();
    let names: Vec<&str> = c.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["auto-schedule", "sweep-due", "inbox-retry", "prune"]
    );
    assert_eq!(c.get("sweep-due").unwrap().job, PeriodicJob::SweepDue);

    // 19:00 in Los Angeles across the spring-forward night of 2026-03-08.
    let auto = c.get("auto-schedule").unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).unwrap();
    let t1 = auto.next_after(t0).unwrap();
    assert_eq!(t1, Utc.with_ymd_and_hms(2026, 3, 8, 3, 0, 0).unwrap()); // 19:00 PST
    assert_eq!(
        auto.next_after(t1).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 9, 2, 0, 0).unwrap()
    ); // 19:00 PDT
    let sweep = c.get("sweep-due").unwrap();
    assert_eq!(
        sweep.next_after(t0).unwrap(),
        t0 + chrono::Duration::seconds(30)
    );

    let listing = c.listing(t0, None);
    assert!(listing.contains("auto-schedule"));
    assert!(listing.contains("2026-03-07 19:00:00 PST"), "{listing}");
    assert!(listing.contains("2026-03-08T03:00:00Z"), "{listing}");
}

#[test]
fn catalogue_errors_name_the_entry() {
    let entry = |name: &str, cron: &str, tz: &str| {
        format!(
            "[[job]]\nname = \"{name}\"\ncron = \"{cron}\"\ntimezone = \"{tz}\"\nenabled = true\n"
        )
    };
    let cases = [
        (
            entry("auto-schedule", "0 25 * * *", "UTC"),
            "auto-schedule",
            "bad cron expression",
        ),
        (
            entry("auto-schedule", "every day", "UTC"),
            "auto-schedule",
            "expected 5 or 6 fields",
        ),
        (
            entry("sweep-due", "*/30 * * * * *", "Mars/Olympus"),
            "sweep-due",
            "bad time zone",
        ),
        (
            entry("nightly-report", "0 1 * * *", "UTC"),
            "nightly-report",
            "unknown job",
        ),
    ];
    for (text, name, what) in cases {
        let err = Catalogue::parse(&text, "test.toml").unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, CatalogueError::Entry { entry, .. } if entry == name),
            "{msg}"
        );
        assert!(
            msg.starts_with(&format!("test.toml: entry `{name}`: ")),
            "{msg}"
        );
        assert!(msg.contains(what), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }
    let twice = format!(
        "{}{}",
        entry("sweep-due", "* * * * *", "UTC"),
        entry("sweep-due", "* * * * *", "UTC")
    );
    assert!(Catalogue::parse(&twice, "t")
        .unwrap_err()
        .to_string()
        .contains("listed twice"));
    let missing = "[[job]]\nname = \"sweep-due\"\ncron = \"* * * * *\"\nenabled = true\n";
    assert!(matches!(
        Catalogue::parse(missing, "t").unwrap_err(),
        CatalogueError::Syntax { .. }
    ));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_tick_is_claimed_by_exactly_one_of_several_workers(pool: PgPool) {
    let tick = Utc.with_ymd_and_hms(2026, 11, 25, 19, 0, 0).unwrap();
    let mut claimers = Vec::new();
    for i in 0..6 {
        let pool = pool.clone();
        claimers.push(tokio::spawn(async move {
            catalogue::claim_tick(&pool, "auto-schedule", tick, &format!("worker-{i}"))
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for c in claimers {
        if c.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    // The next tick, or another entry's tick at the same instant, is a new claim.
    assert!(catalogue::claim_tick(
        &pool,
        "auto-schedule",
        tick + chrono::Duration::days(1),
        "w"
    )
    .await
    .unwrap());
    assert!(catalogue::claim_tick(&pool, "sweep-due", tick, "w")
        .await
        .unwrap());
}

#[sqlx::test(migrations = "./migrations")]
async fn ticks_fire_through_the_engine(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let id = seed::due_email(&pool, &s).await;
    let call = seed::due_call(&pool, &s, "+14085550199").await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_tick"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/call"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "vapi-tick", "status": "queued"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // The sweeper every second: it finds the due email and call (nobody enqueued them) and the
    // workers send each exactly once. Two engines run, as two processes would. The
    // auto-schedule entry also ticks every second: each tick it fires enqueues one run, so the
    // runs enqueued count how often ticks fired.
    // Catch-up is off here: this test counts live ticks only (`long_uptime` covers catch-up,
    // which would add the instant just before the engines started).
    let cat = "[[job]]\nname = \"sweep-due\"\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\nenabled = true\n\
               [[job]]\nname = \"auto-schedule\"\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\nenabled = true\ncatch_up = \"off\"\n";
    let started = Utc::now();
    let shutdown = CancellationToken::new();
    let mut engines = Vec::new();
    for _ in 0..2 {
        let ctx = app::context(&pool, &server.uri());
        let c = Catalogue::parse(cat, "test").unwrap();
        engines.push(tokio::spawn(jobs::run_engine(
            ctx,
            c,
            fast(),
            shutdown.clone(),
        )));
    }
    wait_for(
        &pool,
        "SELECT status FROM outbound_emails WHERE id::text = $1",
        &id.to_string(),
        "sent",
    )
    .await;
    wait_for(
        &pool,
        "SELECT vapi_call_id FROM outbound_calls WHERE id::text = $1",
        &call.to_string(),
        "vapi-tick",
    )
    .await;
    // A few more sweeps find nothing left to do.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for e in engines {
        stop(shutdown.clone(), e).await;
    }
    let stopped = Utc::now();
    // The work done: each due row was requested once from its fake (`expect(1)`, verified
    // below) and written once; each auto-schedule tick enqueued one run, not one per engine.
    let (email, _, _) = app::email_row(&pool, id).await;
    let (placed, _, _) = app::call_row(&pool, call).await;
    assert_eq!(email, "sent");
    assert_eq!(placed, "queued", "VAPI's status of the placed call");
    let runs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'odis.auto_schedule_run'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let ticks: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT tick_at) FROM job_ticks WHERE name = 'auto-schedule'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let seconds = (stopped - started).num_seconds() + 1;
    assert!(
        ticks >= 2,
        "only {ticks} auto-schedule ticks in {seconds} s"
    );
    assert_eq!(
        runs, ticks,
        "{runs} auto-scheduling runs enqueued for {ticks} ticks: a tick fired more than once"
    );
    assert!(runs <= seconds, "{runs} runs enqueued in {seconds} s");
    server.verify().await;
}

/// Not a check: prints how fast the engine drains emails (fake Resend answering at once).
/// Run with `cargo test --test it jobs_engine:: -- --ignored --nocapture`.
#[sqlx::test(migrations = "./migrations")]
#[ignore = "measurement"]
async fn measure_email_throughput(pool: PgPool) {
    const N: usize = 200;
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_x"})))
        .mount(&server)
        .await;
    let mut config = app::job_config(&server.uri());
    config.resend_max_rps = 1000;
    let ctx = app::context_with(&pool, config);
    for _ in 0..N {
        let id = seed::due_email(&pool, &s).await;
        jobs::enqueue_dispatch_email(&pool, id, None).await.unwrap();
    }
    let started = std::time::Instant::now();
    let shutdown = CancellationToken::new();
    let engine = tokio::spawn(jobs::run_engine(
        ctx,
        empty_catalogue(),
        fast(),
        shutdown.clone(),
    ));
    loop {
        let sent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbound_emails WHERE status = 'sent'")
                .fetch_one(&pool)
                .await
                .unwrap();
        if sent as usize == N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    stop(shutdown, engine).await;
    println!("{N} emails in {secs:.2} s = {:.1} jobs/s", N as f64 / secs);
}

#[sqlx::test(migrations = "./migrations")]
async fn apalis_and_service_migrations_are_kept_apart(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    jobs::setup(&pool).await.unwrap(); // idempotent
    let ours: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM public._sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    let embedded: Vec<i64> = odis_worker::db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(
        ours, embedded,
        "only the service's versions in public._sqlx_migrations"
    );
    let theirs: i64 = sqlx::query_scalar("SELECT count(*) FROM apalis._sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(theirs > 0);
    assert!(odis_worker::db::pending_migrations(&pool)
        .await
        .unwrap()
        .is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn shutdown_lets_a_running_job_finish(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let id = seed::due_email(&pool, &s).await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "re_slow"}))
                .set_delay(Duration::from_millis(1500)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut ctx = app::context(&pool, &server.uri());
    ctx.resend = app::resend_client(&ctx, Duration::from_secs(10));
    jobs::enqueue_dispatch_email(&pool, id, None).await.unwrap();
    let shutdown = CancellationToken::new();
    let engine = tokio::spawn(jobs::run_engine(
        ctx,
        empty_catalogue(),
        fast(),
        shutdown.clone(),
    ));
    // Shut down while the send is in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop(shutdown, engine).await;
    let (status, resend_id, _) = app::email_row(&pool, id).await;
    assert_eq!(
        status, "sent",
        "the running job finished before the engine stopped"
    );
    assert_eq!(resend_id.as_deref(), Some("re_slow"));
    server.verify().await;
}
