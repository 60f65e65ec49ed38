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

// ==== end bench ingest (bench/ingest, bench/mod) ====

// ==== bench jobs (bench/jobs) ====

// ==== end bench jobs (bench/jobs) ====

// ==== bench autoschedule (bench/autoschedule) ====

/// Seeds `clinics` clinics with auto-scheduling enabled (cases up to 30 days old) and a
/// `clinic_settings` row each, spread over the given zones.
pub async fn seed_autoschedule_clinics(
    ex: impl PgExecutor<'_>,
    clinics: i64,
    zones: &[&str],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH c AS ( \
           INSERT INTO clinics (name, slug, timezone, phone, email) \
           SELECT 'Bench Clinic ' || lpad(g::text, 4, '0'), 'bench-clinic-' || g, \
                  $2[1 + g % cardinality($2)], \
                  '(555) 010-' || lpad(g::text, 4, '0'), 'clinic' || g || '@example.com' \
           FROM generate_series(1, $1) g \
           RETURNING id), \
         cfg AS ( \
           INSERT INTO auto_scheduling_config (clinic_id, is_enabled, scheduling_criteria) \
           SELECT id, true, '{\"maxCaseAgeDays\": 30}' FROM c RETURNING clinic_id) \
         INSERT INTO clinic_settings (clinic_id) SELECT clinic_id FROM cfg",
    )
    .bind(clinics)
    .bind(zones)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Seeds `n` cases in `case_status`, 1 hour to 20 days before `now`, each with a client
/// (phone and email) and a patient, spread evenly over the first `clinics` clinics; then one
/// discharge summary per case.
pub async fn seed_autoschedule_cases(
    pool: &PgPool,
    n: i64,
    clinics: i64,
    case_status: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH k AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM clinics), \
         cl AS ( \
           INSERT INTO clients (clinic_id, display_name, phone, email) \
           SELECT k.id, 'Owner ' || g, '408555' || lpad((g % 10000)::text, 4, '0'), 'o' || g || '@example.com' \
           FROM generate_series(1, $1) g JOIN k ON k.k = g % $2 \
           RETURNING id, clinic_id), \
         pa AS ( \
           INSERT INTO patients (clinic_id, client_id, name, species) \
           SELECT clinic_id, id, 'Pet', 'dog' FROM cl RETURNING id, client_id, clinic_id) \
         INSERT INTO cases (clinic_id, client_id, patient_id, status, created_at) \
         SELECT clinic_id, client_id, id, $4, \
                $3::timestamptz - interval '1 hour' - random() * interval '20 days' \
         FROM pa",
    )
    .bind(n)
    .bind(clinics)
    .bind(now)
    .bind(case_status)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO discharge_summaries (case_id, clinic_id, content) \
         SELECT id, clinic_id, 'Rest and recheck in two weeks.' FROM cases",
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// Fresh planner statistics after seeding.
pub async fn vacuum_analyze(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM ANALYZE")
        .execute(pool)
        .await
        .map(|_| ())
}

// ==== end bench autoschedule (bench/autoschedule) ====
