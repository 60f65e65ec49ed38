//! Fault: `kill -9` of the worker process in the middle of a 50-item discharge batch, then a
//! restart. Every item must be dispatched exactly once: the fake VAPI counts `POST /call`
//! requests per `assistantOverrides.metadata.outbound_call_id`, and no id may appear twice.
//!
//! The real binary (`odis-worker worker`) runs as a child process against the test's own
//! database (the harness's `DATABASE_URL` with the test database's name), configured only
//! through its documented environment variables, with a test catalogue (`jobs/catalogue.toml`
//! in its working directory) that sweeps every second.
//!
//! So that the kill certainly lands with calls in flight, the fake VAPI answers the first
//! [`STALL_FROM`] − 1 requests after [`VAPI_LATENCY`] and holds every later one unanswered until
//! the first process is dead: at the kill, the calls of those held requests are in flight (their
//! request reached VAPI, no answer came back). The test asserts there was at least one, and
//! that **every** call in flight at the kill ends `failed` with `dispatch_ambiguous`, never
//! requested again.
//!
//! What happens to the calls the killed process held (see `jobs::sweep`):
//! * a call it had claimed but not yet sent (`dispatch_sending_at` unset) is released by the
//!   sweeper once the claim is older than `sweep::STALE_CLAIM` and then placed by the new
//!   process: exactly one request;
//! * a call whose request may have reached VAPI (`dispatch_sending_at` set: in flight at the
//!   kill) is failed with `dispatch_ambiguous`, never sent again. The fake received either one
//!   request for it (the kill landed while VAPI was answering) or none. Such a call's batch
//!   item follows it to `failed` (`jobs::items`). This is the designed at-most-once outcome:
//!   VAPI has no idempotency key, so "maybe placed" cannot safely become "placed once".
//!
//! `STALE_CLAIM` is ten minutes and a compile-time constant (no environment variable). Rather
//! than wait ten minutes, the test moves the dead process's `dispatch_claimed_at` stamps back
//! by eleven minutes after the kill, which is exactly what the passage of time would do; the
//! sweeper's real stale-claim code then runs unchanged in the restarted process. The apalis
//! jobs the dead process held are recovered by apalis's orphan handling after the default
//! `heartbeat_interval × missed_heartbeats` (60 s; `EngineSettings` is not configurable from
//! the environment). So the test takes ~15 s when the dead process held no job it had not
//! finished, and ~75 s when it did (a call claimed but unsent, or dispatch jobs fetched while
//! its call slots were taken: they wait for apalis's orphan recovery); the waits are bounded
//! at 90 s + 150 s. The stale-claim period is thus simulated (the clock of the claims is
//! moved), not waited for.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::seed::{CaseOpts, DischargeBatchItemOpts, DischargeBatchOpts, Owner};
use crate::helpers::worker::{tail, Worker};
use crate::helpers::{app, seed};

const ITEMS: usize = 50;
/// Create-call requests in flight at once per process (`VAPI_MAX_CONCURRENT_CALLS`).
const CONCURRENT_CALLS: usize = 3;
/// How long the fake VAPI takes to answer, so that the kill lands while requests are in flight.
const VAPI_LATENCY: Duration = Duration::from_millis(150);
/// From this request on, the fake holds its answers while the first process lives.
const STALL_FROM: usize = 10;
/// "Held": longer than the test waits for the kill; the kill closes those connections.
const HELD: Duration = Duration::from_secs(120);

/// A worker against the test database and the fake VAPI.
fn spawn_worker(dir: &Path, name: &str, database_url: &str, vapi_url: &str) -> Worker {
    let env = [
        ("DATABASE_URL", database_url.to_string()),
        ("VAPI_BASE_URL", vapi_url.to_string()),
        ("VAPI_API_KEY", "test-vapi-key".to_string()),
        (
            "VAPI_OUTBOUND_PHONE_NUMBER_ID",
            "test-phone-number-id".to_string(),
        ),
        ("VAPI_MAX_CONCURRENT_CALLS", CONCURRENT_CALLS.to_string()),
    ];
    Worker::spawn(dir, name, &env)
}

/// The fake VAPI: answers every `POST /call` with 201 after [`VAPI_LATENCY`], with a VAPI id
/// derived from the outbound call id so the test can check which answer a row recorded; while
/// `holding`, requests from the [`STALL_FROM`]th on get no answer before the kill.
#[derive(Clone, Default)]
struct FakeVapi {
    arrived: Arc<AtomicUsize>,
    holding: Arc<AtomicBool>,
    /// Outbound call ids of the requests that were held.
    held: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Respond for FakeVapi {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = outbound_call_id(request).unwrap_or_else(|| "unknown".into());
        let n = self.arrived.fetch_add(1, Ordering::SeqCst) + 1;
        let hold = n >= STALL_FROM && self.holding.load(Ordering::SeqCst);
        if hold {
            self.held.lock().unwrap().push(id.clone());
        }
        ResponseTemplate::new(201)
            .set_body_json(json!({"id": format!("vapi-{id}"), "status": "queued"}))
            .set_delay(if hold { HELD } else { VAPI_LATENCY })
    }
}

fn outbound_call_id(request: &Request) -> Option<String> {
    let body: Value = serde_json::from_slice(&request.body).ok()?;
    body.pointer("/assistantOverrides/metadata/outbound_call_id")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Requests per outbound call id received so far (recorded by wiremock on arrival, before the
/// delayed answer, so a request cut off by the kill is counted too).
async fn requests_per_call(server: &MockServer) -> HashMap<String, usize> {
    let mut per_id = HashMap::new();
    for r in server.received_requests().await.unwrap_or_default() {
        if r.url.path() != "/call" {
            continue;
        }
        let id = outbound_call_id(&r).expect("every create-call request names its outbound call");
        *per_id.entry(id).or_insert(0) += 1;
    }
    per_id
}

/// 50 cases, each with its own client and phone number, and a pending batch over them.
async fn seed_batch(pool: &PgPool) -> Uuid {
    let s = seed::discharge_case(pool, "UTC").await;
    let batch_id = seed::discharge_batch(
        pool,
        DischargeBatchOpts {
            clinic_id: s.clinic_id,
            // The batch staggers calls 2 minutes apart (item i at call_schedule_time + i×2 min).
            // Starting the schedule 2 hours ago makes all 50 calls due at once, which is what the
            // dispatcher sees for any batch whose time has come; with `now` the 50th call would
            // only be due in 98 minutes.
            call_schedule_time: Some(Utc::now() - chrono::Duration::hours(2)),
            metadata: Some(json!({"emailsEnabled": false, "callsEnabled": true})),
            ..Default::default()
        },
    )
    .await;
    let created = Utc::now();
    for i in 0..ITEMS {
        let owner = Owner {
            name: format!("Owner {i}"),
            phone: Some(format!("(408) 555-{:04}", 1000 + i)),
            email: None,
            pet: format!("Pet {i}"),
            ..Default::default()
        };
        let case = seed::case(
            pool,
            CaseOpts {
                clinic_id: s.clinic_id,
                owner: Some(owner),
                ..Default::default()
            },
        )
        .await;
        seed::discharge_batch_item(
            pool,
            DischargeBatchItemOpts {
                batch_id,
                case_id: case.id,
                patient_id: case.patient_id,
                // Distinct times give the items their order.
                created_at: Some(created + chrono::Duration::milliseconds(i as i64)),
                ..Default::default()
            },
        )
        .await;
    }
    batch_id
}

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn kill_minus_nine_mid_batch_dispatches_every_item_at_most_once(pool: PgPool) {
    let batch_id = seed_batch(&pool).await;
    let server = MockServer::start().await;
    let fake = FakeVapi::default();
    fake.holding.store(true, Ordering::SeqCst);
    Mock::given(method("POST"))
        .and(path("/call"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;

    let dir = std::env::temp_dir().join(format!("odis-fault-crash-{}", Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("jobs")).unwrap();
    std::fs::write(
        dir.join("jobs/catalogue.toml"),
        "[[job]]\nname = \"sweep-due\"\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\nenabled = true\n",
    )
    .unwrap();
    let url = app::database_url(&pool);

    // First process: runs until some, but not all, calls have reached the fake VAPI and at
    // least one request is held unanswered; a moment more lets its other slots fill.
    let mut first = spawn_worker(&dir, "first", &url, &server.uri());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        first.assert_running();
        let sent: usize = requests_per_call(&server).await.values().sum();
        if sent >= STALL_FROM {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first worker never got {STALL_FROM} calls out ({sent}); log:\n{}",
            tail(&first.log)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill();
    fake.holding.store(false, Ordering::SeqCst);
    // The server may still be executing statements the dead process sent just before the kill
    // (e.g. its last `dispatch_sending_at` write): let them land before reading what it left.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_kill = requests_per_call(&server).await;
    let sent_before: usize = before_kill.values().sum();
    assert!(
        sent_before < ITEMS,
        "the kill came too late: all {sent_before} calls were already requested"
    );

    // What the dead process left behind: calls it held a claim on, some of them in flight.
    let held: Vec<(Uuid, bool)> = sqlx::query_as(
        "SELECT id, metadata ? 'dispatch_sending_at' FROM outbound_calls \
         WHERE status = 'queued' AND vapi_call_id IS NULL AND metadata ? 'dispatch_claimed_at'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        held.len() <= CONCURRENT_CALLS,
        "more claims than the process may hold at once: {held:?}"
    );
    let in_flight: HashSet<String> = held
        .iter()
        .filter(|(_, sending)| *sending)
        .map(|(id, _)| id.to_string())
        .collect();
    let unanswered: Vec<String> = fake.held.lock().unwrap().clone();
    assert!(
        !unanswered.is_empty(),
        "no request was held unanswered at the kill"
    );
    for id in &unanswered {
        assert!(
            in_flight.contains(id),
            "call {id} reached VAPI unanswered but is not marked in flight: {held:?}"
        );
    }
    // Ten minutes pass (see the module comment): the dead process's claims become stale.
    sqlx::query(
        "UPDATE outbound_calls SET metadata = metadata || jsonb_build_object('dispatch_claimed_at', \
           (metadata->>'dispatch_claimed_at')::timestamptz - interval '11 minutes') \
         WHERE status = 'queued' AND vapi_call_id IS NULL AND metadata ? 'dispatch_claimed_at'",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Second process: must finish the batch and every call without repeating any request.
    let mut second = spawn_worker(&dir, "second", &url, &server.uri());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
    loop {
        second.assert_running();
        let calls = scalar(&pool, "SELECT count(*) FROM outbound_calls").await;
        let open = scalar(
            &pool,
            "SELECT count(*) FROM outbound_calls WHERE status = 'queued' AND vapi_call_id IS NULL",
        )
        .await;
        let pending = scalar(
            &pool,
            "SELECT count(*) FROM discharge_batch_items WHERE status = 'pending'",
        )
        .await;
        if calls == ITEMS as i64 && open == 0 && pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not finished after the restart: {calls} calls, {open} not placed, {pending} items \
             pending; second worker log:\n{}",
            tail(&second.log)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A few more sweeps: nothing may be sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    second.assert_running();
    second.kill();

    let per_id = requests_per_call(&server).await;
    let repeated: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "calls requested twice: {repeated:?}");

    let rows: Vec<(Uuid, String, Option<String>, Value)> =
        sqlx::query_as("SELECT id, status, vapi_call_id, metadata FROM outbound_calls ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), ITEMS);
    let mut ambiguous = HashSet::new();
    for (id, status, vapi_call_id, metadata) in &rows {
        let id = id.to_string();
        let requests = per_id.get(&id).copied().unwrap_or(0);
        match vapi_call_id {
            Some(vapi) => {
                assert_eq!(
                    vapi,
                    &format!("vapi-{id}"),
                    "call {id} linked to another answer"
                );
                assert_eq!(status, "queued", "call {id}: VAPI's status is stored");
                assert_eq!(requests, 1, "placed call {id} requested {requests} times");
            }
            None => {
                // Only a call in flight at the kill may end without a VAPI id, and only as
                // "ambiguous" (failed, never retried), with at most the one request.
                assert!(
                    in_flight.contains(&id),
                    "call {id} ended {status} without being in flight at the kill: {metadata}"
                );
                assert_eq!(status, "failed", "call {id}");
                assert_eq!(metadata["dispatch_ambiguous"], json!(true), "call {id}");
                assert!(requests <= 1);
                ambiguous.insert(id);
            }
        }
    }
    // The other direction: every call in flight at the kill ended ambiguous, none was placed.
    for id in &in_flight {
        assert!(
            ambiguous.contains(id),
            "call {id} was in flight at the kill but did not end failed with dispatch_ambiguous"
        );
    }
    let placed = ITEMS - ambiguous.len();
    assert_eq!(
        per_id.len(),
        placed
            + ambiguous
                .iter()
                .filter(|id| per_id.contains_key(*id))
                .count(),
        "requests for ids that are no call of the batch"
    );

    let items: Vec<(String, Option<Uuid>, Option<String>)> = sqlx::query_as(
        "SELECT status, outbound_call_id, error_message FROM discharge_batch_items \
         WHERE batch_id = $1",
    )
    .bind(batch_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(items.len(), ITEMS);
    let linked: HashSet<Uuid> = items.iter().filter_map(|(_, c, _)| *c).collect();
    assert_eq!(linked.len(), ITEMS, "every item has its own call");
    for (status, call, error) in &items {
        let call = call.expect("every item scheduled a call").to_string();
        if ambiguous.contains(&call) {
            assert_eq!(status, "failed");
            assert!(
                error.as_deref().unwrap_or("").contains("in flight"),
                "{error:?}"
            );
        } else {
            assert_eq!(status, "success", "item of call {call}: {error:?}");
        }
    }
    let (status, processed): (String, i32) =
        sqlx::query_as("SELECT status, processed_cases FROM discharge_batches WHERE id = $1")
            .bind(batch_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(processed, ITEMS as i32);
    // The batch counts scheduling, not delivery: it is `completed` unless it was finalised
    // after an in-flight call had already been failed as ambiguous (kill during the batch).
    assert!(
        status == "completed" || (status == "partial_success" && !ambiguous.is_empty()),
        "batch ended {status}"
    );
    eprintln!(
        "killed after {sent_before} requests ({} held unanswered); claims at the kill: {held:?}; \
         placed {placed}, ambiguous {}",
        unanswered.len(),
        ambiguous.len()
    );
    drop(first);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
