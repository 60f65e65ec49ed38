//! What must hold over months of uptime and downtime: missed catalogue ticks caught up once
//! across processes (`docs/behaviour.md#catch-up`), retention (`docs/behaviour.md#retention`) and
//! emails only within waking hours (`docs/behaviour.md#email-waking-hours`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use odis_worker::jobs::catalogue::{self, Catalogue, PeriodicJob, Retention};
use odis_worker::jobs::dispatch_email::{dispatch, EmailOutcome};
use odis_worker::jobs::prune::PruneSummary;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::app;
use crate::helpers::seed::{self, WebhookEventOpts};
use crate::helpers::worker::Worker;

// ---------------------------------------------------------------------------------------------
// Catch-up
// ---------------------------------------------------------------------------------------------

#[test]
fn catch_up_defaults_and_settings_are_validated() {
    let c = Catalogue::parse(odis_worker::jobs::catalogue::EMBEDDED, "embedded").unwrap();
    let hours = |name: &str| c.get(name).unwrap().catch_up.map(|d| d.num_hours());
    assert_eq!(hours("auto-schedule"), Some(12));
    assert_eq!(hours("sweep-due"), None);
    assert_eq!(hours("inbox-retry"), None);
    assert_eq!(hours("prune"), None);

    let entry = |extra: &str| {
        format!(
            "[[job]]\nname = \"auto-schedule\"\ncron = \"0 19 * * *\"\ntimezone = \"UTC\"\nenabled = true\n{extra}"
        )
    };
    // Default on for auto-schedule; "off" turns it off; a window of its own.
    let parsed = |extra: &str| Catalogue::parse(&entry(extra), "t").map(|c| c.entries[0].catch_up);
    assert_eq!(parsed("").unwrap(), Some(chrono::Duration::hours(12)));
    assert_eq!(parsed("catch_up = \"off\"").unwrap(), None);
    assert_eq!(
        parsed("catch_up = \"1h30m\"").unwrap(),
        Some(chrono::Duration::minutes(90))
    );
    let err = parsed("catch_up = \"12 hours\"").unwrap_err().to_string();
    assert!(
        err.contains("entry `auto-schedule`: catch_up: bad duration"),
        "{err}"
    );
    let err = parsed("catch_up = \"8d\"").unwrap_err().to_string();
    assert!(err.contains("longer than 7 days"), "{err}");
    let err = parsed("keep_ticks = \"30d\"").unwrap_err().to_string();
    assert!(err.contains("settings of the `prune` entry only"), "{err}");
}

#[test]
fn the_missed_instant_is_the_latest_within_the_window() {
    let text = "[[job]]\nname = \"auto-schedule\"\ncron = \"0 19 * * *\"\n\
                timezone = \"America/Los_Angeles\"\nenabled = true\n";
    let c = Catalogue::parse(text, "t").unwrap();
    let e = &c.entries[0];
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    // 19:00 PST = 03:00 UTC the next day.
    let cases = [
        // (now, the tick a catch-up would run)
        ("2026-11-30T03:00:00Z", Some("2026-11-30T03:00:00Z")),
        ("2026-11-30T08:00:00Z", Some("2026-11-30T03:00:00Z")),
        ("2026-11-30T14:59:59Z", Some("2026-11-30T03:00:00Z")),
        // 12 h after the tick: too late, the next one is hours away.
        ("2026-11-30T15:00:01Z", None),
        ("2026-11-30T02:59:59Z", None),
    ];
    for (now, want) in cases {
        assert_eq!(e.catch_up_instant(at(now)), want.map(at), "{now}");
    }
}

/// `odis-worker jobs` in `dir` against the test database.
fn jobs_listing(dir: &Path, database_url: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_odis-worker"))
        .arg("jobs")
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run odis-worker jobs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn line_of<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{listing}"))
}

async fn count(pool: &PgPool, sql: &'static str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_tick_missed_while_no_process_ran_is_caught_up_once(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    // Both entries' only tick of the day was an hour ago, while nothing ran.
    let missed = (Utc::now() - chrono::Duration::hours(1))
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    let daily = format!("{} {} * * *", missed.minute(), missed.hour());
    let dir = std::env::temp_dir().join(format!("odis-catch-up-{}", Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("jobs")).unwrap();
    std::fs::write(
        dir.join("jobs/catalogue.toml"),
        format!(
            "[[job]]\nname = \"auto-schedule\"\ncron = \"{daily}\"\ntimezone = \"UTC\"\nenabled = true\n\
             catch_up = \"12h\"\n\n\
             [[job]]\nname = \"sweep-due\"\ncron = \"{daily}\"\ntimezone = \"UTC\"\nenabled = true\n"
        ),
    )
    .unwrap();
    let url = app::database_url(&pool);
    let at = missed.format("%Y-%m-%dT%H:%M:%SZ").to_string();

    let before = jobs_listing(&dir, &url);
    assert!(
        line_of(&before, "auto-schedule").contains(&format!("{at} MISSED (will be caught up)")),
        "{before}"
    );
    assert!(
        line_of(&before, "sweep-due").contains(&format!("{at} MISSED (catch-up off)")),
        "{before}"
    );

    // Two processes start together: both see the missed tick, one runs it.
    let mut a = Worker::spawn(&dir, "a", &[("DATABASE_URL", url.clone())]);
    let mut b = Worker::spawn(&dir, "b", &[("DATABASE_URL", url.clone())]);
    let runs = "SELECT count(*) FROM apalis.jobs WHERE job_type = $1 AND status = 'Done'";
    let queue = <odis_worker::jobs::AutoScheduleRun as odis_worker::jobs::Job>::QUEUE;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while count(&pool, runs, queue).await < 1 {
        a.assert_running();
        b.assert_running();
        assert!(
            tokio::time::Instant::now() < deadline,
            "the missed tick never ran"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A third process starting later finds it done.
    let mut c = Worker::spawn(&dir, "c", &[("DATABASE_URL", url.clone())]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    a.assert_running();
    b.assert_running();
    c.assert_running();

    let all_runs = "SELECT count(*) FROM apalis.jobs WHERE job_type = $1";
    assert_eq!(
        count(&pool, all_runs, queue).await,
        1,
        "caught up exactly once"
    );
    let ticks: Vec<(String, DateTime<Utc>)> =
        sqlx::query_as("SELECT name, tick_at FROM job_ticks ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        ticks,
        vec![("auto-schedule".to_string(), missed)],
        "sweep-due has no catch-up"
    );

    let after = jobs_listing(&dir, &url);
    assert!(
        line_of(&after, "auto-schedule").contains(&format!("{at} ran")),
        "{after}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Retention
// ---------------------------------------------------------------------------------------------

/// One apalis job of `status`, finished `days` ago, with `attempts` of 3 used.
async fn job(pool: &PgPool, status: &str, days: i64, attempts: i32) -> String {
    let key = Uuid::new_v4();
    odis_worker::jobs::enqueue_dispatch_email(pool, key, None)
        .await
        .unwrap();
    sqlx::query_scalar(
        "UPDATE apalis.jobs SET status = $1, attempts = $3, \
           done_at = CASE WHEN $1 = 'Pending' THEN NULL ELSE now() - make_interval(days => $2) END, \
           run_at = now() - make_interval(days => $2) \
         WHERE convert_from(job, 'UTF8')::jsonb->>'outbound_email_id' = $4 RETURNING id",
    )
    .bind(status)
    .bind(days as i32)
    .bind(attempts)
    .bind(key.to_string())
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn event(pool: &PgPool, status: &str, days: i64) -> Uuid {
    let id = seed::webhook_event(
        pool,
        WebhookEventOpts {
            delivery_id: format!("d-{}", Uuid::new_v4()),
            payload: br#"{"transcript":"private"}"#.to_vec(),
            status: status.into(),
            ..Default::default()
        },
    )
    .await;
    sqlx::query(
        "UPDATE webhook_events SET received_at = now() - make_interval(days => $2) WHERE id = $1",
    )
    .bind(id)
    .bind(days as i32)
    .execute(pool)
    .await
    .unwrap();
    id
}

#[sqlx::test(migrations = "./migrations")]
async fn prune_deletes_in_batches_only_what_is_old_and_finished(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let mut gone = Vec::new();
    let mut kept = Vec::new();
    for _ in 0..3 {
        gone.push(job(&pool, "Done", 8, 1).await);
    }
    gone.push(job(&pool, "Killed", 8, 1).await);
    gone.push(job(&pool, "Failed", 8, 3).await); // dead: no attempt left
    kept.push(job(&pool, "Done", 6, 1).await); // recent
    kept.push(job(&pool, "Failed", 8, 1).await); // will be retried
    kept.push(job(&pool, "Pending", 8, 0).await); // still to run
    kept.push(job(&pool, "Running", 8, 1).await);

    let mut dropped = Vec::new();
    let mut intact = Vec::new();
    dropped.push(event(&pool, "processed", 91).await);
    dropped.push(event(&pool, "skipped", 91).await);
    dropped.push(event(&pool, "processed", 200).await);
    intact.push(event(&pool, "processed", 89).await);
    for status in ["failed", "unmatched", "invalid", "pending"] {
        intact.push(event(&pool, status, 200).await);
    }
    for days in [31, 45, 29] {
        sqlx::query(
            "INSERT INTO job_ticks (name, tick_at, claimed_by) \
             VALUES ('sweep-due', now() - make_interval(days => $1), 'test')",
        )
        .bind(days)
        .execute(&pool)
        .await
        .unwrap();
    }

    // The catalogue's own settings, with batches of 2 so that every kind takes several.
    let text = "[[job]]\nname = \"prune\"\ncron = \"17 3 * * *\"\ntimezone = \"UTC\"\nenabled = true\n\
                keep_finished_jobs = \"7d\"\nkeep_webhook_payloads = \"90d\"\nkeep_ticks = \"30d\"\nbatch_size = 2\n";
    let c = Catalogue::parse(text, "t").unwrap();
    let retention: &Retention = &c.get("prune").unwrap().retention;
    assert_eq!(retention.batch_size, 2);
    let ctx = app::state(&pool);
    let result = catalogue::run_now(&ctx, PeriodicJob::Prune, Some(retention))
        .await
        .unwrap();
    let expected = PruneSummary {
        finished_jobs_deleted: 5,
        webhook_payloads_dropped: 3,
        ticks_deleted: 2,
        more_left: false,
    };
    assert_eq!(result, serde_json::to_value(&expected).unwrap());

    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM apalis.jobs ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    kept.sort();
    assert_eq!(left, kept);
    for id in &dropped {
        let (payload, status, pruned): (Vec<u8>, String, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT payload, status, payload_pruned_at FROM webhook_events WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(payload.is_empty() && pruned.is_some(), "{id}: {status}");
        assert!(
            ["processed", "skipped"].contains(&status.as_str()),
            "status kept"
        );
    }
    for id in &intact {
        let payload: Vec<u8> =
            sqlx::query_scalar("SELECT payload FROM webhook_events WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(payload, br#"{"transcript":"private"}"#.to_vec(), "{id}");
    }
    let ticks: i64 = sqlx::query_scalar("SELECT count(*) FROM job_ticks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(ticks, 1);

    // A second run finds nothing more.
    let again = catalogue::run_now(&ctx, PeriodicJob::Prune, Some(retention))
        .await
        .unwrap();
    assert_eq!(
        again,
        serde_json::to_value(PruneSummary::default()).unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Emails within waking hours
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrations = "./migrations")]
async fn an_email_due_at_night_waits_for_seven_and_a_daytime_one_goes_now(pool: PgPool) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_day"})))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());

    // 03:xx in the clinic's zone: postponed to 07:00 there, still queued, job re-enqueued.
    let night_zone = seed::zone_at_local_hour(3);
    let night = seed::discharge_case(&pool, &night_zone).await;
    let email = seed::due_email(&pool, &night).await;
    let before: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT scheduled_for FROM outbound_emails WHERE id = $1")
            .bind(email)
            .fetch_one(&pool)
            .await
            .unwrap();
    let outcome = dispatch(&ctx, email).await.unwrap();
    let EmailOutcome::Postponed { until } = outcome else {
        panic!("{outcome:?}");
    };
    let tz: chrono_tz::Tz = night_zone.parse().unwrap();
    let local = until.with_timezone(&tz);
    assert_eq!((local.hour(), local.minute(), local.second()), (7, 0, 0));
    let wait = until - Utc::now();
    assert!(
        wait > chrono::Duration::hours(3) && wait <= chrono::Duration::hours(4),
        "{wait}"
    );
    let (status, scheduled_for, metadata): (String, Option<DateTime<Utc>>, Value) =
        sqlx::query_as("SELECT status, scheduled_for, metadata FROM outbound_emails WHERE id = $1")
            .bind(email)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "queued");
    assert_eq!(scheduled_for, Some(until));
    assert!(
        metadata.get("dispatch_claimed_at").is_none(),
        "claim dropped: {metadata}"
    );
    assert_eq!(
        metadata["postponed_from"]
            .as_str()
            .map(|s| s.parse::<DateTime<Utc>>().unwrap()),
        before,
        "{metadata}"
    );
    let run_at: DateTime<Utc> = sqlx::query_scalar(
        "SELECT run_at FROM apalis.jobs WHERE convert_from(job, 'UTF8')::jsonb->>'outbound_email_id' = $1",
    )
    .bind(email.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        (run_at - until).num_seconds().abs() <= 2,
        "{run_at} vs {until}"
    );
    // Dispatching it again before 07:00 does nothing (not due).
    let again = dispatch(&ctx, email).await.unwrap();
    assert!(matches!(again, EmailOutcome::Skipped { .. }), "{again:?}");

    // 15:xx there, outside the clinic's preferred email window (09–10): that window only
    // chooses times when scheduling; an email due at 15:00 goes at 15:00.
    let day = seed::discharge_case_with(
        &pool,
        seed::DischargeCaseOpts {
            clinic: seed::ClinicOpts::named("Day Clinic", &seed::zone_at_local_hour(15)),
            assistant_id: "asst-day".into(),
        },
    )
    .await;
    sqlx::query(
        "UPDATE clinic_settings SET preferred_email_start_time = '09:00', \
           preferred_email_end_time = '10:00' WHERE clinic_id = $1",
    )
    .bind(day.clinic_id)
    .execute(&pool)
    .await
    .unwrap();
    let email = seed::due_email(&pool, &day).await;
    let outcome = dispatch(&ctx, email).await.unwrap();
    assert!(matches!(outcome, EmailOutcome::Sent { .. }), "{outcome:?}");
    let (status, _, _) = app::email_row(&pool, email).await;
    assert_eq!(status, "sent");
}

// ---------------------------------------------------------------------------------------------
// Pickup on insert
// ---------------------------------------------------------------------------------------------

/// With polling (and heartbeats) made useless (once an hour), a job inserted into the idle engine still runs:
/// only the wake-up on insert can have started it. With `Pickup::PollOnly` the same job waits.
#[sqlx::test(migrations = "./migrations")]
async fn an_idle_engine_is_woken_by_an_insert(pool: PgPool) {
    use odis_worker::jobs::{self, EngineSettings, Pickup};
    use tokio_util::sync::CancellationToken;

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_woken"})))
        .mount(&server)
        .await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let settings = EngineSettings {
        poll_interval: Duration::from_secs(3600),
        // A heartbeat also makes a worker fetch: as rare as the polls.
        heartbeat_interval: Duration::from_secs(3600),
        shutdown_timeout: Duration::from_secs(5),
        ..EngineSettings::default()
    };
    let sent = |id: Uuid| {
        let pool = pool.clone();
        async move {
            let (status, _, _) = app::email_row(&pool, id).await;
            status == "sent"
        }
    };
    for (pickup, expect_sent) in [(Pickup::PollOnly, false), (Pickup::WakeOnInsert, true)] {
        let shutdown = CancellationToken::new();
        let engine = tokio::spawn(jobs::run_engine_with(
            app::context(&pool, &server.uri()),
            Catalogue::parse("", "test").unwrap(),
            settings.clone(),
            pickup,
            shutdown.clone(),
        ));
        // Every worker has made its first (empty) fetch and is now idle.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let id = seed::due_email(&pool, &s).await;
        jobs::enqueue_dispatch_email(&pool, id, None).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !sent(id).await && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(sent(id).await, expect_sent, "{pickup:?}");
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), engine)
            .await
            .expect("engine stops")
            .unwrap()
            .unwrap();
        // The poll-only engine's job stays behind; clear it so the next engine starts idle.
        sqlx::query("DELETE FROM apalis.jobs")
            .execute(&pool)
            .await
            .unwrap();
    }
}
