//! Fault: the database crashes (`pg_ctl stop -m immediate`: connections cut, no checkpoint),
//! stays down for longer than the pool's 5 s acquire timeout, and comes back through crash
//! recovery, while four Svix-like senders deliver Clerk `user.created` events and retry every
//! non-2xx answer with the same `svix-id` (re-signed, as Svix does).
//!
//! What must hold:
//! * senders see only 2xx or 503; every 503 names a *connection* error (an outage), never a
//!   refused statement (a bug), and the `odis_http_db_errors_total{kind="connection"}` counter
//!   grows by at least the 503s seen;
//! * the outage was really met: some attempts sent while the server was down got 503, and every
//!   attempt sent after it was back got 2xx;
//! * every delivery answered 2xx is in the inbox exactly once; every delivery that got a 503 is
//!   stored once after its retry, not twice; once the stored-but-unprocessed events are
//!   processed (what the `inbox-retry` job does), each user exists exactly once.
//!
//! Runs on its own private cluster (restarting it disturbs no other test); without PostgreSQL
//! server binaries it fails, or is skipped visibly (see `helpers::cluster`).
//!
//! A second test shows the other kind: a statement the database refuses is also a 503, but
//! named and counted as a query error.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use odis_worker::domain::status::EventStatus;
use odis_worker::replay::{replay_inbox, InboxFilter};
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::app;
use crate::helpers::cluster::private_cluster;
use crate::helpers::sign::{self, fixture_paths, Fixture};

const DELIVERIES: usize = 120;
const SENDERS: usize = 4;
/// Longer than the pool's acquire timeout (5 s), so requests during it cannot just wait it out;
/// by 7 s, so that under a loaded machine (late timers, a slow restart) some request is still
/// both sent and refused within it (at 7 s, one full-suite run saw three refusals, none of a
/// request sent inside the outage).
const OUTAGE: Duration = Duration::from_secs(12);

/// One attempt of one delivery, as its sender saw it.
#[derive(Debug, Clone)]
struct Attempt {
    delivery: usize,
    sent: Instant,
    status: u16,
    reason: Option<String>,
}

/// The `user.created` fixture for user `i`: its own user id, email and `svix-id`.
fn delivery(template: &str, i: usize) -> (String, Vec<u8>) {
    let body = template
        .replace("user_2pJ5rHk8NvW2qLs9dXm4tYb7cFe", &user_id(i))
        .replace("maria.alvarez@", &format!("user{i}@"));
    (format!("msg_fault_restart_{i:04}"), body.into_bytes())
}

fn user_id(i: usize) -> String {
    format!("user_fault_restart_{i:04}")
}

/// One sender: its share of the deliveries in order, each retried every 200 ms until 2xx.
async fn sender(url: String, template: String, k: usize, landed: flag::Count) -> Vec<Attempt> {
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for i in (k..DELIVERIES).step_by(SENDERS) {
        let (svix_id, body) = delivery(&template, i);
        for _ in 0..100 {
            let ts = sign::now();
            let sent = Instant::now();
            let resp = client
                .post(&url)
                .header("content-type", "application/json")
                .header("svix-id", &svix_id)
                .header("svix-timestamp", ts.to_string())
                .header(
                    "svix-signature",
                    sign::svix_signature(sign::CLERK_SECRET, &svix_id, ts, &body),
                )
                .body(body.clone())
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            let (status, reason) = match resp {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let json: Value = r.json().await.unwrap_or(Value::Null);
                    (status, json["reason"].as_str().map(str::to_string))
                }
                Err(_) => (0, None),
            };
            seen.push(Attempt {
                delivery: i,
                sent,
                status,
                reason,
            });
            if (200..300).contains(&status) {
                landed.add();
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen
}

/// A shared counter of landed deliveries.
mod flag {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[derive(Clone, Default)]
    pub struct Count(Arc<AtomicUsize>);

    impl Count {
        pub fn add(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        pub fn get(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_crash_and_recovery_loses_nothing_verified() {
    let Some((pg, dir)) = private_cluster("fault_db_restart").await else {
        return;
    };
    let pool = odis_worker::db::connect(&pg.url(), 8).await.unwrap();
    odis_worker::db::migrate(&pool).await.unwrap();
    let state = app::state(&pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app::router(state)).await });
    let url = format!("http://{addr}/webhooks/clerk");
    let template = fixture_paths("clerk")
        .into_iter()
        .find(|p| p.ends_with("02-user.created.json"))
        .map(|p| Fixture::load(&p).unwrap().raw_body())
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
        .unwrap();
    let connection_errors = r#"odis_http_db_errors_total{kind="connection"}"#;
    let errors_before = app::metric(connection_errors);

    let landed = flag::Count::default();
    let senders: Vec<_> = (0..SENDERS)
        .map(|k| tokio::spawn(sender(url.clone(), template.clone(), k, landed.clone())))
        .collect();

    // Crash once deliveries are flowing, stay down, recover.
    let deadline = Instant::now() + Duration::from_secs(60);
    while landed.get() < 16 {
        assert!(
            Instant::now() < deadline,
            "deliveries never started landing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pg.crash().await.expect("crash the cluster");
    let down = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    let restarting = Instant::now();
    pg.start_again().await.expect("recover the cluster");
    let up = Instant::now();
    let landed_before_recovery = landed.get();

    let mut attempts = Vec::new();
    for s in senders {
        attempts.extend(s.await.unwrap());
    }
    server.abort();

    // Only 2xx or 503, and every 503 an outage, not a bug.
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for a in &attempts {
        *by_status.entry(a.status).or_default() += 1;
        assert!(
            (200..300).contains(&a.status) || a.status == 503,
            "delivery {} answered {}: {a:?}",
            a.delivery,
            a.status
        );
        if a.status == 503 {
            let reason = a.reason.as_deref().unwrap_or_default();
            assert!(
                reason.starts_with("database connection error"),
                "a 503 that is not an outage: {a:?}"
            );
        }
    }
    let refused: Vec<&Attempt> = attempts.iter().filter(|a| a.status == 503).collect();
    // The outage was met, and it ended.
    assert!(
        refused
            .iter()
            .any(|a| a.sent >= down && a.sent < restarting),
        "no request sent during the outage got a 503: {by_status:?}"
    );
    let after: Vec<&Attempt> = attempts.iter().filter(|a| a.sent >= up).collect();
    assert!(
        landed_before_recovery < DELIVERIES && !after.is_empty(),
        "nothing was sent after the recovery"
    );
    for a in &after {
        assert!(
            (200..300).contains(&a.status),
            "after the recovery a request still got {}: {a:?}",
            a.status
        );
    }
    let metric_growth = app::metric(connection_errors) - errors_before;
    assert!(
        metric_growth >= refused.len() as f64,
        "{} 503s but the connection-error counter grew by {metric_growth}",
        refused.len()
    );

    // The inbox: every delivery exactly once, including those that were refused first.
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT delivery_id, count(*) FROM webhook_events WHERE source = 'clerk' GROUP BY delivery_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let stored: HashMap<String, i64> = stored.into_iter().collect();
    let refused_deliveries: std::collections::HashSet<usize> =
        refused.iter().map(|a| a.delivery).collect();
    for i in 0..DELIVERIES {
        let (svix_id, _) = delivery(&template, i);
        let answered_2xx = attempts
            .iter()
            .any(|a| a.delivery == i && (200..300).contains(&a.status));
        assert!(answered_2xx, "delivery {i} never landed");
        assert_eq!(
            stored.get(&svix_id).copied(),
            Some(1),
            "delivery {i} (refused first: {}) is not in the inbox exactly once",
            refused_deliveries.contains(&i)
        );
    }
    assert_eq!(
        stored.len(),
        DELIVERIES,
        "deliveries nobody sent are stored"
    );

    // What the inbox-retry job does for events stored while processing could not run.
    let state = app::state(&pool);
    replay_inbox(
        &state,
        &InboxFilter {
            statuses: vec![EventStatus::Pending, EventStatus::Failed],
            ..InboxFilter::default()
        },
    )
    .await
    .unwrap();
    assert_users_once(&pool).await;

    eprintln!(
        "statuses seen: {by_status:?}; {} deliveries refused at least once; {} landed before \
         the recovery",
        refused_deliveries.len(),
        landed_before_recovery
    );
    pool.close().await;
    pg.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every event processed, and one `users` row per delivered user.
async fn assert_users_once(pool: &PgPool) {
    let unprocessed: Vec<(String, String)> = sqlx::query_as(
        "SELECT delivery_id, status FROM webhook_events WHERE status <> 'processed' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(unprocessed.is_empty(), "not processed: {unprocessed:?}");
    let users: Vec<(String, i64)> = sqlx::query_as(
        "SELECT clerk_user_id, count(*) FROM users WHERE clerk_user_id LIKE 'user_fault_restart_%' \
         GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let want: Vec<(String, i64)> = (0..DELIVERIES).map(|i| (user_id(i), 1)).collect();
    assert_eq!(users, want, "each user exactly once");
}

/// The other kind: the database answers and refuses the statement (here: the inbox table is
/// gone, as after a bad migration). Still a 503 for the sender, but named and counted as a
/// query error, so it is not mistaken for an outage.
#[sqlx::test(migrations = "./migrations")]
async fn a_refused_statement_is_answered_503_as_a_query_error(pool: PgPool) {
    let query_errors = r#"odis_http_db_errors_total{kind="query"}"#;
    let before = app::metric(query_errors);
    sqlx::query("ALTER TABLE webhook_events RENAME TO webhook_events_gone")
        .execute(&pool)
        .await
        .unwrap();
    let body =
        br#"{"message":{"type":"status-update","status":"ringing","call":{"id":"c-query"}}}"#;
    let (status, json) = app::send(&app::state(&pool), sign::vapi_request(body)).await;
    assert_eq!(
        status,
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "{json}"
    );
    assert_eq!(json["error"], "unavailable");
    assert_eq!(json["reason"], "database query error: statement refused");
    assert!(app::metric(query_errors) >= before + 1.0);
}
