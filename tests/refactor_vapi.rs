//! Webhook ingress after the "one home per rule" refactor: the retry row of a dispatched call
//! carries no dispatcher claim, and QStash enqueues are part of the inbox transaction
//! (`db::queue::enqueue_in_tx` writes the row apalis-postgres's own push writes).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use odis_worker::db::queue::{self, DispatchCall, Job};
use odis_worker::domain::dispatch_meta;
use odis_worker::webhooks::fixtures::Fixture;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

const ROW_B4: &str = "0f1c0000-0000-4000-8000-0000000000b4";

fn vapi_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/vapi")
        .join(format!("{name}.json"));
    Fixture::load(&path).unwrap().raw_body().to_vec()
}

/// A row the dispatcher claimed, sent and retried once, then not answered: its retry row must
/// not inherit the claim, or the dispatcher refuses it and the stale-claim sweep fails it.
#[sqlx::test(migrations = "./migrations")]
async fn retry_row_of_a_dispatched_call_carries_no_dispatch_keys(pool: PgPool) {
    sqlx::raw_sql(include_str!("../fixtures/vapi/seed.sql"))
        .execute(&pool)
        .await
        .unwrap();
    let claim = serde_json::json!({
        dispatch_meta::CLAIMED_AT: "2026-11-20T22:00:00Z",
        dispatch_meta::CLAIMED_BY: "worker-1",
        dispatch_meta::SENDING_AT: "2026-11-20T22:00:01Z",
        dispatch_meta::RETRY_AT: "2026-11-20T21:59:00Z",
        dispatch_meta::RETRIES: 1,
        "keep_me": "yes",
    });
    sqlx::query(
        "UPDATE outbound_calls SET metadata = COALESCE(metadata, '{}'::jsonb) || $2 WHERE id = $1::uuid",
    )
    .bind(ROW_B4)
    .bind(&claim)
    .execute(&pool)
    .await
    .unwrap();

    let st = state(&pool);
    let (status, json) = send(
        &st,
        vapi_request(&vapi_fixture("outbound-end-of-call-no-answer")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["status"], "processed", "{json}");

    let metas: Vec<Value> =
        sqlx::query_scalar("SELECT metadata FROM outbound_calls WHERE metadata->>'retry_of' = $1")
            .bind(ROW_B4)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(metas.len(), 1, "one retry row");
    let meta = metas[0].as_object().unwrap();
    let leaked: Vec<&String> = meta.keys().filter(|k| k.starts_with("dispatch_")).collect();
    assert!(leaked.is_empty(), "dispatch keys copied: {leaked:?}");
    assert_eq!(meta["attempt"], 2);
    assert_eq!(meta["keep_me"], "yes", "other metadata is still copied");
}

/// `enqueue_in_tx` inside a transaction that rolls back leaves no job.
#[sqlx::test(migrations = "./migrations")]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(pool: PgPool) {
    queue::setup(&pool).await.unwrap();
    let job = DispatchCall {
        outbound_call_id: Uuid::new_v4(),
    };
    let mut tx = pool.begin().await.unwrap();
    queue::enqueue_in_tx(&mut tx, &job, None).await.unwrap();
    let inside: i64 = sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE job_type = $1")
        .bind(DispatchCall::QUEUE)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(inside, 1, "visible inside its transaction");
    tx.rollback().await.unwrap();
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE job_type = $1")
        .bind(DispatchCall::QUEUE)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(after, 0);
}

type JobRow = (
    String,
    String,
    Vec<u8>,
    String,
    i32,
    i32,
    i32,
    Option<String>,
    Option<String>,
    f64,
);

async fn job_rows(pool: &PgPool) -> Vec<JobRow> {
    sqlx::query_as(
        "SELECT id, job_type, job, status, attempts, max_attempts, priority, metadata::text,
                idempotency_key, extract(epoch FROM run_at - now())::float8
         FROM apalis.jobs ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The row `enqueue_in_tx` writes is the row apalis-postgres's push writes (bar the id).
#[sqlx::test(migrations = "./migrations")]
async fn enqueue_in_tx_writes_the_row_apalis_writes(pool: PgPool) {
    queue::setup(&pool).await.unwrap();
    let job = DispatchCall {
        outbound_call_id: Uuid::new_v4(),
    };
    let delay = Some(Duration::from_secs(600));
    queue::enqueue(&pool, job.clone(), delay).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    queue::enqueue_in_tx(&mut conn, &job, delay).await.unwrap();
    drop(conn);
    let rows = job_rows(&pool).await;
    assert_eq!(rows.len(), 2);
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!(a.0.len(), 26, "a ULID: {}", a.0);
    assert_eq!(b.0.len(), 26, "a ULID: {}", b.0);
    assert_ne!(a.0, b.0);
    assert_eq!(
        (&a.1, &a.2, &a.3, a.4, a.5, a.6, &a.7, &a.8),
        (&b.1, &b.2, &b.3, b.4, b.5, b.6, &b.7, &b.8)
    );
    assert_eq!(a.1, DispatchCall::QUEUE);
    assert_eq!(serde_json::from_slice::<DispatchCall>(&a.2).unwrap(), job);
    assert!((a.9 - b.9).abs() <= 2.0, "run_at {} vs {}", a.9, b.9);
    assert!(a.9 > 590.0 && a.9 <= 600.0, "run_at in 10 minutes: {}", a.9);
}
