//! Enqueueing on a caller's transaction (`db::queue::enqueue_in_tx`, used by the QStash
//! processor so a job exists exactly when its inbox event is recorded): atomic with the
//! transaction, and the same row apalis-postgres's own push writes.

use std::time::Duration;

use odis_worker::db::queue::{self, DispatchCall, Job};
use sqlx::PgPool;
use uuid::Uuid;

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
