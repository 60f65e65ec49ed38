//! `odis-worker bench ingest` compares the HTTP path with a ceiling that does the same database
//! work in plain SQL. That comparison is only fair if the ceiling writes what the service
//! writes: an end-of-call report through the real router and another through the ceiling must
//! leave the same kind of rows (event processed and linked to the clinic, one ended inbound call
//! with its transcript, one analysis).

use axum::http::StatusCode;
use odis_worker::bench::ingest::end_of_call_report;
use odis_worker::db::bench::{ceiling_insert, seed_ingest_clinic};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::app::{send, state};
use crate::helpers::sign::vapi_request;

/// What one delivery left: (event status, event clinic, call clinic, call status, transcript
/// length, messages, analyses of the call).
type Written = (String, Option<Uuid>, Uuid, Option<String>, i32, i32, i64);

async fn written(pool: &PgPool, delivery_id: &str, call_id: &str) -> Written {
    sqlx::query_as(
        "SELECT e.status, e.clinic_id, c.clinic_id, c.status, length(c.transcript), \
                jsonb_array_length(c.transcript_messages), \
                (SELECT count(*) FROM call_analysis a WHERE a.inbound_call_id = c.id) \
         FROM webhook_events e, inbound_calls c WHERE e.delivery_id = $1 AND c.vapi_call_id = $2",
    )
    .bind(delivery_id)
    .bind(call_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_ingest_ceiling_writes_what_the_http_path_writes(pool: PgPool) {
    let http_body = serde_json::to_vec(&end_of_call_report("bench-http-1")).unwrap();
    let sql_body = serde_json::to_vec(&end_of_call_report("bench-sql-1")).unwrap();
    let report: Value = serde_json::from_slice(&http_body).unwrap();
    let assistant = report["message"]["call"]["assistantId"].as_str().unwrap();
    let clinic = seed_ingest_clinic(&pool, assistant).await.unwrap();

    let (status, json) = send(&state(&pool), vapi_request(&http_body)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["status"], "processed", "{json}");
    ceiling_insert(&pool, assistant, "ceiling-1", &sql_body)
        .await
        .unwrap();

    let http_id = odis_worker::webhooks::verify::sha256_hex(&http_body);
    let by_http = written(&pool, &http_id, "bench-http-1").await;
    let by_sql = written(&pool, "ceiling-1", "bench-sql-1").await;
    assert_eq!(by_http.0, "processed");
    assert_eq!(by_http.1, Some(clinic));
    assert_eq!(by_http.2, clinic);
    assert_eq!(by_http.3.as_deref(), Some("ended"));
    assert_eq!(by_http.6, 1);
    assert_eq!(by_sql, by_http);
}
