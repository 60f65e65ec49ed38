//! Scratch databases and bulk seeding for `odis-worker bench` (never used by the service).

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== bench ingest (bench/ingest, bench/mod) ====

/// Creates (after dropping a leftover of) the scratch database `name`. `name` is spliced into
/// the DDL (identifiers cannot be bound), so callers build it from constants only.
pub async fn recreate_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut *conn)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drops the scratch database `name`, disconnecting whoever is still on it.
pub async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(conn)
    .await
    .map(|_| ())
}

/// The ingest benchmark's clinic (default zone) and its inbound assistant mapping.
pub async fn seed_ingest_clinic(pool: &PgPool, assistant_id: &str) -> Result<Uuid, sqlx::Error> {
    let clinic: Uuid = sqlx::query_scalar(
        "INSERT INTO clinics (name, slug, timezone) VALUES ('Bench Clinic', 'bench-clinic', $1) RETURNING id",
    )
    .bind(crate::domain::clinic_policy::DEFAULT_TZ.name())
    .fetch_one(pool)
    .await?;
    sqlx::query("INSERT INTO vapi_assistant_mappings (clinic_id, assistant_id, assistant_type) VALUES ($1, $2, 'inbound')")
        .bind(clinic)
        .bind(assistant_id)
        .execute(pool)
        .await?;
    Ok(clinic)
}

/// The ingest ceiling: the rows an end-of-call report produces (inbox row, inbound call,
/// analysis), written directly in one transaction.
pub async fn ceiling_insert(
    pool: &PgPool,
    clinic: Uuid,
    delivery_id: &str,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    use crate::domain::status::{CallStatus, EventStatus};
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let m = &v["message"];
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO webhook_events (source, delivery_id, event_type, payload, status, processed_at) VALUES ('vapi', $1, 'end-of-call-report', $2, $3, now())")
        .bind(delivery_id)
        .bind(body)
        .bind(EventStatus::Processed.as_str())
        .execute(&mut *tx)
        .await?;
    let call: Uuid = sqlx::query_scalar(
        "INSERT INTO inbound_calls (clinic_id, vapi_call_id, assistant_id, customer_phone, status, started_at, ended_at,
           ended_reason, duration_seconds, cost, recording_url, stereo_recording_url, transcript, transcript_messages)
         VALUES ($1, $2, $3, $4, $11, now(), now(), $5, 300, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(clinic)
    .bind(m["call"]["id"].as_str())
    .bind(m["call"]["assistantId"].as_str())
    .bind(m["call"]["customer"]["number"].as_str())
    .bind(m["endedReason"].as_str())
    .bind(m["cost"].as_f64())
    .bind(m["artifact"]["recordingUrl"].as_str())
    .bind(m["artifact"]["stereoRecordingUrl"].as_str())
    .bind(m["artifact"]["transcript"].as_str())
    .bind(&m["artifact"]["messages"])
    .bind(CallStatus::Ended.as_str())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO call_analysis (clinic_id, inbound_call_id, summary, success_evaluation, structured_data) VALUES ($1, $2, $3, $4, $5)")
        .bind(clinic)
        .bind(call)
        .bind(m["analysis"]["summary"].as_str())
        .bind(m["analysis"]["successEvaluation"].as_str())
        .bind(&m["analysis"]["structuredData"])
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

// ==== end bench ingest (bench/ingest, bench/mod) ====

// ==== bench jobs (bench/jobs) ====

// ==== end bench jobs (bench/jobs) ====

// ==== bench autoschedule (bench/autoschedule) ====

// ==== end bench autoschedule (bench/autoschedule) ====
