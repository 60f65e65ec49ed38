//! Provider limits across processes (`docs/behaviour.md#provider-limits`): VAPI's concurrent-call
//! limit is per account and Resend's rate per team, so both hold across every process.
//!
//! * Two real `odis-worker worker` processes, limit 3, 30 due calls, a fake VAPI that keeps each
//!   call live until the test ends it (a `status-update` `ended` webhook through the real router):
//!   never more than 3 live at once, every call placed exactly once, by both processes.
//! * `kill -9` of a process holding slots mid-request: another process gets them back only once
//!   their lease has passed.
//! * Two in-process states sharing the database: their Resend sends together keep one rate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use odis_worker::domain::provider_limits::REQUEST_LEASE;
use odis_worker::jobs;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::sign::{vapi_request, VAPI_SECRET};
use crate::helpers::worker::Worker;
use crate::helpers::{app, seed};

const LIMIT: usize = 3;
const CALLS: usize = 30;

/// A worker against the test database and the fake VAPI, receiving webhooks: a placed call keeps
/// its slot until its end is reported.
fn spawn_worker(dir: &Path, name: &str, database_url: &str, vapi_url: &str) -> Worker {
    let env = [
        ("DATABASE_URL", database_url.to_string()),
        ("VAPI_BASE_URL", vapi_url.to_string()),
        ("VAPI_API_KEY", "test-vapi-key".to_string()),
        ("VAPI_WEBHOOK_SECRET", VAPI_SECRET.to_string()),
        (
            "VAPI_OUTBOUND_PHONE_NUMBER_ID",
            "test-phone-number-id".to_string(),
        ),
        ("VAPI_MAX_CONCURRENT_CALLS", LIMIT.to_string()),
    ];
    Worker::spawn(dir, name, &env)
}

/// A working directory with a catalogue that only sweeps (every second).
fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("odis-{name}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("jobs")).unwrap();
    std::fs::write(
        dir.join("jobs/catalogue.toml"),
        "[[job]]\nname = \"sweep-due\"\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\nenabled = true\n",
    )
    .unwrap();
    dir
}

fn outbound_call_id(request: &Request) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    body.pointer("/assistantOverrides/metadata/outbound_call_id")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string()
}

/// What the fake VAPI saw: calls live now (by outbound call id, in arrival order), the most
/// live at once, and every create-call request per id.
#[derive(Default)]
struct Account {
    live: Vec<String>,
    max_live: usize,
    requests: HashMap<String, usize>,
    arrivals: Vec<(String, DateTime<Utc>)>,
}

/// VAPI: each created call is live until the test ends it. `hang` makes it never answer.
#[derive(Clone)]
struct FakeVapi {
    account: Arc<Mutex<Account>>,
    hang: Arc<AtomicBool>,
}

impl Respond for FakeVapi {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = outbound_call_id(request);
        let mut a = self.account.lock().unwrap();
        a.live.push(id.clone());
        a.max_live = a.max_live.max(a.live.len());
        *a.requests.entry(id.clone()).or_insert(0) += 1;
        a.arrivals.push((id.clone(), Utc::now()));
        let answer = ResponseTemplate::new(201)
            .set_body_json(json!({"id": format!("vapi-{id}"), "status": "queued"}));
        if self.hang.load(Ordering::SeqCst) {
            answer.set_delay(Duration::from_secs(120))
        } else {
            answer
        }
    }
}

async fn fake_vapi(hang: bool) -> (MockServer, FakeVapi) {
    let server = MockServer::start().await;
    let fake = FakeVapi {
        account: Arc::default(),
        hang: Arc::new(AtomicBool::new(hang)),
    };
    Mock::given(method("POST"))
        .and(path("/call"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    (server, fake)
}

/// VAPI's `status-update` `ended` for one of our calls, as VAPI sends it.
fn ended(outbound_call_id: &str) -> Vec<u8> {
    json!({"message": {
        "type": "status-update",
        "status": "ended",
        "endedReason": "customer-ended-call",
        "call": {
            "id": format!("vapi-{outbound_call_id}"),
            "type": "outboundPhoneCall",
            "status": "ended",
            "assistantOverrides": {"metadata": {"outbound_call_id": outbound_call_id}}
        }
    }})
    .to_string()
    .into_bytes()
}

async fn seed_calls(pool: &PgPool, n: usize) -> Vec<Uuid> {
    let s = seed::discharge_case(pool, "UTC").await;
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(seed::due_call(pool, &s, &format!("(408) 555-{:04}", 2000 + i)).await);
    }
    ids
}

#[sqlx::test(migrations = "./migrations")]
async fn two_processes_never_exceed_the_account_call_limit(pool: PgPool) {
    let ids = seed_calls(&pool, CALLS).await;
    let (server, fake) = fake_vapi(false).await;
    let dir = work_dir("call-limit");
    let url = app::database_url(&pool);
    let mut a = spawn_worker(&dir, "a", &url, &server.uri());
    let mut b = spawn_worker(&dir, "b", &url, &server.uri());
    for id in &ids {
        jobs::enqueue_dispatch_call(&pool, *id, None).await.unwrap();
    }
    let router_state = app::state(&pool);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
    let mut ended_calls = 0;
    while ended_calls < CALLS {
        a.assert_running();
        b.assert_running();
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {ended_calls} of {CALLS} calls placed and ended in time"
        );
        // The oldest live call ends: VAPI stops counting it, then reports it.
        let next = {
            let mut acc = fake.account.lock().unwrap();
            (!acc.live.is_empty()).then(|| acc.live.remove(0))
        };
        let Some(id) = next else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (status, body) = app::send(&router_state, vapi_request(&ended(&id))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "processed", "{body}");
        ended_calls += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    {
        let acc = fake.account.lock().unwrap();
        assert_eq!(acc.requests.len(), CALLS, "every call placed");
        let repeated: Vec<_> = acc.requests.iter().filter(|(_, n)| **n > 1).collect();
        assert!(repeated.is_empty(), "calls requested twice: {repeated:?}");
        assert_eq!(
            acc.max_live, LIMIT,
            "the limit is reached but never exceeded across both processes"
        );
    }
    // Both processes placed calls: the limit held across processes, not inside one.
    let placers: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT metadata->>'dispatch_claimed_by' FROM outbound_calls \
         WHERE vapi_call_id IS NOT NULL",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for pid in [a.pid(), b.pid()] {
        assert!(
            placers.iter().any(|p| p.contains(&format!("-{pid}-"))),
            "process {pid} placed no call: {placers:?}"
        );
    }
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM provider_call_slots WHERE outbound_call_id IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(live, 0, "every ended call gave its slot back");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrations = "./migrations")]
async fn slots_of_a_killed_process_come_back_after_their_lease(pool: PgPool) {
    let ids = seed_calls(&pool, LIMIT + 1).await;
    let (server, fake) = fake_vapi(true).await;
    let dir = work_dir("slot-lease");
    let url = app::database_url(&pool);

    // The first process takes every slot; VAPI never answers its requests.
    let mut first = spawn_worker(&dir, "first", &url, &server.uri());
    for id in &ids[..LIMIT] {
        jobs::enqueue_dispatch_call(&pool, *id, None).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while fake.account.lock().unwrap().requests.len() < LIMIT {
        first.assert_running();
        assert!(
            tokio::time::Instant::now() < deadline,
            "first process never filled the slots"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let leases: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT holder, lease_until FROM provider_call_slots WHERE outbound_call_id IS NOT NULL",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(leases.len(), LIMIT, "{leases:?}");
    let pid = format!("-{}-", first.pid());
    assert!(
        leases.iter().all(|(holder, _)| holder.contains(&pid)),
        "{leases:?}"
    );
    first.kill();

    // A second process, VAPI answering again, and one more call to place.
    fake.hang.store(false, Ordering::SeqCst);
    let mut second = spawn_worker(&dir, "second", &url, &server.uri());
    let last = ids[LIMIT].to_string();
    jobs::enqueue_dispatch_call(&pool, ids[LIMIT], None)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + REQUEST_LEASE + Duration::from_secs(60);
    let placed_at = loop {
        second.assert_running();
        let arrival = fake
            .account
            .lock()
            .unwrap()
            .arrivals
            .iter()
            .find(|(id, _)| *id == last)
            .map(|(_, at)| *at);
        if let Some(at) = arrival {
            break at;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dead process's slots never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let earliest = leases.iter().map(|(_, until)| *until).min().unwrap();
    assert!(
        placed_at >= earliest,
        "a slot was reused at {placed_at}, before its lease ended at {earliest}"
    );
    let (status, vapi_id, _) = app::call_row(&pool, ids[LIMIT]).await;
    assert_eq!(
        (status.as_str(), vapi_id.as_deref()),
        ("queued", Some(format!("vapi-{last}").as_str()))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrations = "./migrations")]
async fn resend_rate_is_shared_by_every_process(pool: PgPool) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_1"})))
        .expect(6)
        .mount(&server)
        .await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let mut emails = Vec::new();
    for _ in 0..6 {
        emails.push(seed::due_email(&pool, &s).await);
    }
    // Two "processes": separate states (own instance names) on one database, 2 sends/s each
    // by configuration; together they may still send only 2 per second.
    let mut config = app::job_config(&server.uri());
    config.resend_max_rps = 2;
    let one = app::context_with(&pool, config.clone());
    let two = app::context_with(&pool, config);
    let started = tokio::time::Instant::now();
    let mut sends = Vec::new();
    for (i, id) in emails.into_iter().enumerate() {
        let ctx = if i % 2 == 0 { one.clone() } else { two.clone() };
        sends.push(tokio::spawn(async move {
            odis_worker::jobs::dispatch_email::dispatch(&ctx, id).await
        }));
    }
    for s in sends {
        let outcome = s.await.unwrap().unwrap();
        assert!(
            matches!(
                outcome,
                odis_worker::jobs::dispatch_email::EmailOutcome::Sent { .. }
            ),
            "{outcome:?}"
        );
    }
    // Six sends at 2/s across both: the last may go no sooner than 2.5 s after the first
    // (each process alone would have finished its three in 1 s).
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(2400), "{elapsed:?}");
}
