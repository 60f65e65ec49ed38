//! Fault: the database crash-restarts while webhooks arrive. Senders must see only 2xx or 503
//! (never another 5xx), and every delivery that was answered 2xx must be in the inbox; a sender
//! that retries its 503s (as VAPI with a backoff plan, Svix and QStash do) eventually lands all.
//!
//! Runs its own embedded cluster (so restarting it disturbs no other test); skipped when the
//! machine has no PostgreSQL server binaries.

use std::collections::HashMap;
use std::time::Duration;

use odis_worker::db::embedded::{EmbeddedError, EmbeddedPostgres};

use crate::helpers::{app, sign};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restart_loses_nothing_verified() {
    let dir = std::env::temp_dir().join(format!("odis-fault-{}", uuid::Uuid::new_v4()));
    let pg = match EmbeddedPostgres::start(&dir).await {
        Ok(pg) => pg,
        Err(EmbeddedError::BinariesNotFound) => return,
        Err(e) => panic!("embedded start failed: {e}"),
    };
    let pool = odis_worker::db::connect(&pg.url(), 8).await.unwrap();
    odis_worker::db::migrate(&pool).await.unwrap();
    let state = app::state(&pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app::router(state)).await });
    let url = format!("http://{addr}/webhooks/vapi");
    let client = reqwest::Client::new();

    const N: usize = 120;
    let sender = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move {
            let mut statuses: HashMap<u16, usize> = HashMap::new();
            let mut landed = Vec::new();
            for i in 0..N {
                let body = format!(
                    r#"{{"message":{{"type":"speech-update","status":"started","turn":{i}}}}}"#
                );
                // Retry 503s with a short backoff, bounded (a sender's retry policy).
                for attempt in 0..60 {
                    let resp = client
                        .post(&url)
                        .header("x-vapi-secret", sign::VAPI_SECRET)
                        .body(body.clone())
                        .timeout(Duration::from_secs(15))
                        .send()
                        .await;
                    let status = match resp {
                        Ok(r) => r.status().as_u16(),
                        Err(_) => 0,
                    };
                    *statuses.entry(status).or_default() += 1;
                    if (200..300).contains(&status) {
                        landed.push(odis_worker::webhooks::verify::sha256_hex(body.as_bytes()));
                        break;
                    }
                    assert!(attempt < 59, "delivery {i} never landed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (statuses, landed)
        }
    });

    // Crash the database while the sender is mid-way.
    tokio::time::sleep(Duration::from_millis(400)).await;
    pg.restart_immediate().await.expect("restart");
    let (statuses, landed) = sender.await.unwrap();
    server.abort();

    for status in statuses.keys() {
        assert!(
            (200..300).contains(status) || *status == 503,
            "a sender saw {status}: {statuses:?}"
        );
    }
    assert_eq!(landed.len(), N);
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT delivery_id FROM webhook_events WHERE source = 'vapi'")
            .fetch_all(&pool)
            .await
            .unwrap();
    for id in &landed {
        assert!(
            stored.contains(id),
            "a 2xx delivery is missing from the inbox"
        );
    }
    assert_eq!(stored.len(), N, "each delivery stored exactly once");
    eprintln!("statuses seen during the restart: {statuses:?}");
    pool.close().await;
    pg.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
