//! Fault: VAPI and Resend answer about a third of the requests with 429 or 503, each with its
//! own `Retry-After` of 2, 3 or 4 seconds (VAPI's 503 without it would be ambiguous and rightly
//! not retried). Every call and every email must still be accepted exactly once, nothing may end
//! `failed`, and the retries must honour the advised delay:
//! * for each refused request, the next request for the same row arrives at least that
//!   request's `Retry-After` later (the dispatchers' own floor is 1 s and their fallbacks are
//!   ~1 s for emails, ~10 s for calls, so an advice ignored or cut short shows);
//! * the retry the row records (`dispatch_retry_at`, sampled while the test runs) is the refusal
//!   plus its advice, not a fallback backoff.
//!
//! Which requests fail is fixed per row (not drawn at random and not dependent on arrival
//! order), so every run sees the same faults: rows with index % 10 == 0 are refused twice
//! (429, then 503), index % 10 == 3 once with 429, 6 once with 503, 8 once with 429. That is
//! 20 refusals in 60 requests for 20 calls + 20 emails; the k-th refusal of a provider's plan
//! advises 2 + k % 3 seconds. Two engines run against the same database, as two processes
//! would, so the rows are also raced for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use odis_worker::jobs::catalogue::Catalogue;
use odis_worker::jobs::{self, EngineSettings};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::app::{self, AppState};
use crate::helpers::seed;

const CALLS: usize = 20;
const EMAILS: usize = 20;
/// How much later than refusal + advice a row's recorded retry may be: the dispatcher's work
/// between the fake's answer and the row's update, on a loaded machine. Smaller than the gap
/// between any advice (≤ 4 s) and the calls' fallback backoff (≥ 8 s).
const RECORD_SLACK: Duration = Duration::from_secs(3);

/// A planned refusal: the status and its `Retry-After` in seconds.
type Refusal = (u16, u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Provider {
    Vapi,
    Resend,
}

/// One request as the fake saw it: when it arrived (monotonic and wall clock) and what it was
/// answered, with the advice given.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    wall: DateTime<Utc>,
    status: u16,
    retry_after: Option<Duration>,
}

/// A fake provider: refuses each row's first requests as its plan says, then accepts.
#[derive(Clone)]
struct Faulty {
    provider: Provider,
    /// Row id → its first requests' refusals; later requests succeed.
    plan: Arc<HashMap<String, Vec<Refusal>>>,
    log: Arc<Mutex<HashMap<String, Vec<Seen>>>>,
}

impl Faulty {
    fn key(&self, request: &Request) -> Option<String> {
        match self.provider {
            Provider::Vapi => {
                let body: Value = serde_json::from_slice(&request.body).ok()?;
                body.pointer("/assistantOverrides/metadata/outbound_call_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }
            Provider::Resend => request
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }
}

impl Respond for Faulty {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let at = Instant::now();
        let wall = Utc::now();
        let Some(key) = self.key(request) else {
            return ResponseTemplate::new(400).set_body_json(json!({"message": "no row id"}));
        };
        let mut log = self.log.lock().unwrap();
        let seen = log.entry(key.clone()).or_default();
        let planned = self.plan.get(&key).and_then(|p| p.get(seen.len())).copied();
        let response = match (planned, self.provider) {
            (Some((code, secs)), Provider::Vapi) => ResponseTemplate::new(code)
                .insert_header("Retry-After", secs.to_string())
                .set_body_json(json!({"message": "Too Many Requests", "statusCode": code})),
            (Some((code, secs)), Provider::Resend) => {
                let name = if code == 429 {
                    "rate_limit_exceeded"
                } else {
                    "internal_server_error"
                };
                ResponseTemplate::new(code)
                    .insert_header("Retry-After", secs.to_string())
                    .set_body_json(
                        json!({"name": name, "message": "try later", "statusCode": code}),
                    )
            }
            (None, Provider::Vapi) => ResponseTemplate::new(201)
                .set_body_json(json!({"id": format!("vapi-{key}"), "status": "queued"})),
            (None, Provider::Resend) => {
                ResponseTemplate::new(200).set_body_json(json!({"id": format!("re-{key}")}))
            }
        };
        seen.push(Seen {
            at,
            wall,
            status: planned
                .map(|(code, _)| code)
                .unwrap_or(self.provider.accepted()),
            retry_after: planned.map(|(_, secs)| Duration::from_secs(secs)),
        });
        response
    }
}

impl Provider {
    fn accepted(self) -> u16 {
        match self {
            Self::Vapi => 201,
            Self::Resend => 200,
        }
    }
}

/// The refusal statuses planned for the row at `index` (see the module comment).
fn plan_for(index: usize) -> Vec<u16> {
    match index % 10 {
        0 => vec![429, 503],
        3 | 8 => vec![429],
        6 => vec![503],
        _ => vec![],
    }
}

/// Each row's refusals with their advice: the k-th refusal in row order advises 2 + k % 3 s.
fn plan(ids: &[Uuid]) -> Arc<HashMap<String, Vec<Refusal>>> {
    let mut k = 0;
    let mut out = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        let refusals = plan_for(i)
            .into_iter()
            .map(|code| {
                k += 1;
                (code, 2 + (k - 1) % 3)
            })
            .collect();
        out.insert(id.to_string(), refusals);
    }
    Arc::new(out)
}

/// Every `dispatch_retry_at` each row has shown so far, in the order first seen.
type RecordedRetries = HashMap<String, Vec<DateTime<Utc>>>;

async fn sample_retry_times(pool: &PgPool, into: &mut RecordedRetries) {
    let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id::text, (metadata->>'dispatch_retry_at')::timestamptz FROM outbound_calls \
           WHERE metadata ? 'dispatch_retry_at' \
         UNION ALL \
         SELECT id::text, (metadata->>'dispatch_retry_at')::timestamptz FROM outbound_emails \
           WHERE metadata ? 'dispatch_retry_at'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (id, at) in rows {
        let seen = into.entry(id).or_default();
        if !seen.contains(&at) {
            seen.push(at);
        }
    }
}

fn fast() -> EngineSettings {
    EngineSettings {
        poll_interval: Duration::from_millis(100),
        heartbeat_interval: Duration::from_secs(1),
        missed_heartbeats: 5,
        shutdown_timeout: Duration::from_secs(10),
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(500),
        ..EngineSettings::default()
    }
}

fn context(pool: &PgPool, base_url: &str) -> AppState {
    let mut config = app::job_config(base_url);
    // Enough sends per second that Resend's own limit is the fake's 429s, not ours.
    config.resend_max_rps = 20;
    // Placed calls stay live for VAPI's account limit until their end is reported, and this test
    // never ends them: room for all of them, so the limit is not what is under test.
    config.vapi_max_concurrent_calls = CALLS;
    // The default provider timeout (15 s): a short one could turn a slow answer on a loaded
    // machine into an ambiguous call, which is not the fault under test.
    AppState::from_parts(pool.clone(), Arc::new(config)).unwrap()
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn provider_faults_are_retried_after_the_advised_delay_and_sent_once(pool: PgPool) {
    // A clinic where it is daytime now: emails wait for waking hours in the clinic's zone.
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let mut calls = Vec::new();
    for i in 0..CALLS {
        calls.push(seed::due_call(&pool, &s, &format!("(408) 555-{:04}", 2000 + i)).await);
    }
    let mut emails = Vec::new();
    for _ in 0..EMAILS {
        emails.push(seed::due_email(&pool, &s).await);
    }
    let vapi = Faulty {
        provider: Provider::Vapi,
        plan: plan(&calls),
        log: Arc::default(),
    };
    let resend = Faulty {
        provider: Provider::Resend,
        plan: plan(&emails),
        log: Arc::default(),
    };
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/call"))
        .respond_with(vapi.clone())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(resend.clone())
        .mount(&server)
        .await;

    // Nobody enqueues anything: the sweeper (every second) finds the due rows.
    let cat = "[[job]]\nname = \"sweep-due\"\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\nenabled = true\n";
    let shutdown = CancellationToken::new();
    let mut engines = Vec::new();
    for _ in 0..2 {
        engines.push(tokio::spawn(jobs::run_engine(
            context(&pool, &server.uri()),
            Catalogue::parse(cat, "test").unwrap(),
            fast(),
            shutdown.clone(),
        )));
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut recorded = RecordedRetries::new();
    loop {
        sample_retry_times(&pool, &mut recorded).await;
        let placed = count(
            &pool,
            "SELECT count(*) FROM outbound_calls WHERE vapi_call_id IS NOT NULL",
        )
        .await;
        let sent = count(
            &pool,
            "SELECT count(*) FROM outbound_emails WHERE status = 'sent'",
        )
        .await;
        let failed = count(
            &pool,
            "SELECT (SELECT count(*) FROM outbound_calls WHERE status = 'failed') \
                  + (SELECT count(*) FROM outbound_emails WHERE status = 'failed')",
        )
        .await;
        assert_eq!(failed, 0, "a row failed under retryable faults");
        if placed == CALLS as i64 && sent == EMAILS as i64 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {placed}/{CALLS} calls placed, {sent}/{EMAILS} emails sent"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few more sweeps: nothing is sent again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    shutdown.cancel();
    for engine in engines {
        tokio::time::timeout(Duration::from_secs(30), engine)
            .await
            .expect("engine stops after shutdown")
            .unwrap()
            .unwrap();
    }

    let mut refusals = 0;
    let mut requests = 0;
    let mut min_gap = Duration::MAX;
    for (fake, ids) in [(&vapi, &calls), (&resend, &emails)] {
        let log = fake.log.lock().unwrap().clone();
        assert_eq!(
            log.len(),
            ids.len(),
            "{:?}: a row was never requested",
            fake.provider
        );
        for (i, id) in ids.iter().enumerate() {
            let seen = &log[&id.to_string()];
            let planned = plan_for(i);
            let statuses: Vec<u16> = seen.iter().map(|s| s.status).collect();
            // Each planned refusal, then exactly one success, then nothing.
            let mut want = planned.clone();
            want.push(fake.provider.accepted());
            assert_eq!(statuses, want, "{:?} row {id}", fake.provider);
            // Backoff: every request after a refusal came at least its Retry-After later.
            // The retry time is set by PostgreSQL's clock (`now() + Retry-After`, written after
            // the refusal was received) and the fake measures with a monotonic clock; the
            // 10 ms allowance only absorbs a wall-clock adjustment between the two.
            for pair in seen.windows(2) {
                let gap = pair[1].at.duration_since(pair[0].at);
                let advised = pair[0].retry_after.expect("only refusals are retried");
                min_gap = min_gap.min(gap);
                assert!(
                    gap + Duration::from_millis(10) >= advised,
                    "{:?} row {id} retried after {gap:?}, before its Retry-After {advised:?}",
                    fake.provider
                );
            }
            // The row recorded each retry for the refusal's time plus its advice.
            let times = recorded.get(&id.to_string()).cloned().unwrap_or_default();
            let refused: Vec<&Seen> = seen.iter().filter(|s| s.retry_after.is_some()).collect();
            assert_eq!(
                times.len(),
                refused.len(),
                "{:?} row {id}: recorded retries {times:?} for refusals {refused:?}",
                fake.provider
            );
            for (at, refusal) in times.iter().zip(&refused) {
                let advised = refusal.retry_after.unwrap_or_default();
                let delay = (*at - refusal.wall).to_std().unwrap_or_default();
                assert!(
                    delay + Duration::from_millis(10) >= advised && delay <= advised + RECORD_SLACK,
                    "{:?} row {id}: retry recorded {delay:?} after a refusal advising {advised:?}",
                    fake.provider
                );
            }
            refusals += planned.len();
            requests += seen.len();
        }
    }
    assert_eq!(requests, CALLS + EMAILS + refusals);
    assert!(
        refusals * 10 >= requests * 3,
        "the fakes refused {refusals} of {requests} requests; the fault is meant to be ~30%"
    );

    eprintln!(
        "{refusals} of {requests} requests refused; shortest gap after a refusal {min_gap:?}"
    );

    // The rows record the answers and the retries they went through.
    for (i, id) in calls.iter().enumerate() {
        let (status, vapi_call_id, metadata) = app::call_row(&pool, *id).await;
        assert_eq!(vapi_call_id, Some(format!("vapi-{id}")));
        assert_eq!(status, "queued", "VAPI's own status for a queued call");
        let retries = metadata["dispatch_retries"].as_u64().unwrap_or(0);
        assert_eq!(retries as usize, plan_for(i).len(), "call {id}: {metadata}");
    }
    for (i, id) in emails.iter().enumerate() {
        let (status, resend_id, metadata) = app::email_row(&pool, *id).await;
        assert_eq!(status, "sent");
        assert_eq!(resend_id, Some(format!("re-{id}")));
        let attempts = metadata["dispatch_attempts"].as_u64().unwrap_or(0);
        assert_eq!(
            attempts as usize,
            plan_for(i).len(),
            "email {id}: {metadata}"
        );
    }
}
