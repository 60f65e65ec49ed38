//! Scratch databases and bulk seeding for `odis-worker bench` (never used by the service).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

// --- bench ingest (bench/ingest, bench/mod) ---

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

/// The ingest ceiling: the database work the service does for an end-of-call report, with
/// plain SQL and none of the service's code. Like the service it commits twice: the inbox row
/// first (stored before processing, `docs/behaviour.md#inbox`), then one transaction that
/// locks the event, sets the savepoint processing runs under, looks up the assistant's clinic, upserts the inbound call, writes the
/// analysis and marks the event processed.
pub async fn ceiling_insert(
    pool: &PgPool,
    assistant_id: &str,
    delivery_id: &str,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    use crate::domain::status::{CallStatus, EventStatus};
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let m = &v["message"];
    let event: Uuid = sqlx::query_scalar(
        "INSERT INTO webhook_events (source, delivery_id, event_type, payload, status) \
         VALUES ('vapi', $1, 'end-of-call-report', $2, $3) \
         ON CONFLICT (source, delivery_id) DO NOTHING RETURNING id",
    )
    .bind(delivery_id)
    .bind(body)
    .bind(EventStatus::Pending.as_str())
    .fetch_one(pool)
    .await?;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT id FROM webhook_events WHERE id = $1 FOR UPDATE SKIP LOCKED")
        .bind(event)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("SAVEPOINT processing")
        .execute(&mut *tx)
        .await?;
    let clinic: Uuid = sqlx::query_scalar(
        "SELECT clinic_id FROM vapi_assistant_mappings WHERE assistant_id = $1 AND is_active",
    )
    .bind(assistant_id)
    .fetch_one(&mut *tx)
    .await?;
    let call: Uuid = sqlx::query_scalar(
        "INSERT INTO inbound_calls (clinic_id, vapi_call_id, assistant_id, customer_phone, status, started_at, ended_at,
           ended_reason, duration_seconds, cost, recording_url, stereo_recording_url, transcript, transcript_messages)
         VALUES ($1, $2, $3, $4, $11, now(), now(), $5, 300, $6, $7, $8, $9, $10)
         ON CONFLICT (vapi_call_id) DO UPDATE SET status = EXCLUDED.status, ended_at = EXCLUDED.ended_at,
           transcript = EXCLUDED.transcript, transcript_messages = EXCLUDED.transcript_messages
         RETURNING id",
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
    sqlx::query(
        "UPDATE webhook_events SET status = $2, processed_at = now(), clinic_id = $3 WHERE id = $1",
    )
    .bind(event)
    .bind(EventStatus::Processed.as_str())
    .bind(clinic)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

// --- bench jobs (bench/jobs) ---

/// Deletes every job of `queue` and re-analyses apalis's table, so the next phase starts on an
/// unbloated one.
pub async fn clear_queue(pool: &PgPool, queue: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM apalis.jobs WHERE job_type = $1")
        .bind(queue)
        .execute(pool)
        .await?;
    sqlx::query("VACUUM ANALYZE apalis.jobs")
        .execute(pool)
        .await
        .map(|_| ())
}

/// Jobs of `queue` by apalis status: (done, failed, killed, anything else).
pub async fn queue_status_counts(
    pool: &PgPool,
    queue: &str,
) -> Result<(i64, i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'Done'), count(*) FILTER (WHERE status = 'Failed'), \
           count(*) FILTER (WHERE status = 'Killed'), \
           count(*) FILTER (WHERE status NOT IN ('Done', 'Failed', 'Killed')) \
         FROM apalis.jobs WHERE job_type = $1",
    )
    .bind(queue)
    .fetch_one(pool)
    .await
}

/// Seeds one clinic, 100 cases with discharge summaries and `n` due `queued` emails spread over
/// them, the clinic in zone `tz`; returns the emails' ids (then `ANALYZE`s, so the dispatch
/// phase gets good plans).
pub async fn seed_dispatch_emails(
    pool: &PgPool,
    n: i64,
    tz: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids = sqlx::query_scalar(SEED_DISPATCH_SQL)
        .bind(n)
        .bind(tz)
        // `cases.status` has no enum in `domain::status`; its "completed" is spelled the same.
        .bind(crate::domain::status::ScheduledItemStatus::Completed.as_str())
        .bind(crate::domain::status::EmailStatus::Queued.as_str())
        .fetch_all(pool)
        .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(ids)
}

/// Transactions committed or rolled back so far in this database (the statistics collector's
/// count, as of this statement).
pub async fn transactions(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (xact_commit + xact_rollback)::int8 FROM pg_stat_database \
         WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await
}

/// The pids of the backends connected to this database now (the pool's connections), whose
/// CPU time `bench tools` reads from `/proc`.
pub async fn backend_pids(pool: &PgPool) -> Result<Vec<i32>, sqlx::Error> {
    sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        .fetch_all(pool)
        .await
}

/// The server's current WAL insert position (`pg_current_wal_lsn`), to measure how much WAL a
/// benchmarked step wrote with [`wal_bytes_since`]. The WAL is the whole server's: other
/// databases' writes in between count too.
pub async fn wal_lsn(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(pool)
        .await
}

/// WAL bytes written since `lsn` (a [`wal_lsn`] answer).
pub async fn wal_bytes_since(pool: &PgPool, lsn: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::int8")
        .bind(lsn)
        .fetch_one(pool)
        .await
}

/// Emails actually sent (status and provider id both written).
pub async fn count_sent_emails(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM outbound_emails WHERE status = $1 AND resend_email_id IS NOT NULL",
    )
    .bind(crate::domain::status::EmailStatus::Sent.as_str())
    .fetch_one(pool)
    .await
}

const SEED_DISPATCH_SQL: &str = r#"
WITH n AS (SELECT count(*) + 1 AS seq FROM clinics),
clinic AS (
  -- Numbered: the pickup and dispatch phases of one run each seed a clinic (names are unique).
  INSERT INTO clinics (name, slug, phone, timezone)
  SELECT 'Bench Dispatch Clinic ' || seq, 'bench-dispatch-clinic-' || seq, '(408) 555-0100', $2 FROM n
  RETURNING id),
st AS (INSERT INTO clinic_settings (clinic_id) SELECT id FROM clinic RETURNING clinic_id),
cl AS (
  INSERT INTO clients (clinic_id, display_name, phone, email)
  SELECT clinic.id, 'Owner ' || g, '408555' || lpad(g::text, 4, '0'), 'owner' || g || '@example.com'
  FROM clinic, generate_series(1, 100) g
  RETURNING id, clinic_id),
pa AS (
  INSERT INTO patients (clinic_id, client_id, name, species)
  SELECT clinic_id, id, 'Pet', 'dog' FROM cl RETURNING id, client_id, clinic_id),
ca AS (
  INSERT INTO cases (clinic_id, client_id, patient_id, status)
  SELECT clinic_id, client_id, id, $3 FROM pa RETURNING id, clinic_id),
ds AS (
  INSERT INTO discharge_summaries (case_id, clinic_id, content)
  SELECT id, clinic_id, 'Rest and recheck in two weeks.' FROM ca RETURNING case_id),
numbered AS (SELECT id, clinic_id, row_number() OVER () - 1 AS k FROM ca)
INSERT INTO outbound_emails (clinic_id, case_id, recipient_email, recipient_name, subject,
  html_content, text_content, scheduled_for, status)
SELECT numbered.clinic_id, numbered.id, 'owner' || g || '@example.com', 'Owner ' || g,
  'Discharge instructions for Pet', '<p>Rest and recheck in two weeks.</p>',
  'Rest and recheck in two weeks.', now() - interval '1 minute', $4
FROM generate_series(1, $1) g JOIN numbered ON numbered.k = g % 100
RETURNING id
"#;

// --- bench autoschedule (bench/autoschedule) ---

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

// --- bench tools (bench/tools) ---

/// A busy calendar: `n` scheduled appointments of `minutes` over the `days` days after the
/// clinic-local `first_day`, from 08:00 in `minutes` steps, two per slot until they run out.
pub async fn seed_busy_calendar(
    pool: &PgPool,
    clinic: Uuid,
    first_day: chrono::NaiveDate,
    days: i32,
    minutes: i32,
    n: i32,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO schedule_appointments (clinic_id, time_range, client_name, patient_name, status, source)
         SELECT $1, tstzrange(s, s + make_interval(mins => $4)), 'Bench Owner ' || i, 'Pet ' || i, $6, 'pims'
         FROM generate_series(0, $5 - 1) AS i,
              LATERAL (SELECT (($2::date + (i % $3)) + make_interval(mins => 480 + $4 * ((i / $3) % (600 / $4))))
                              AT TIME ZONE c.timezone AS s
                       FROM clinics c WHERE c.id = $1) t",
    )
    .bind(clinic)
    .bind(first_day)
    .bind(days)
    .bind(minutes)
    .bind(n)
    .bind(crate::domain::status::AppointmentStatus::Scheduled.as_str())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

/// Live bookings whose slot holds more than `capacity` live appointments and bookings: must be
/// zero.
pub async fn overbooked(pool: &PgPool, clinic: Uuid, capacity: i64) -> Result<i64, sqlx::Error> {
    use crate::domain::status::{AppointmentStatus, BookingStatus};
    sqlx::query_scalar(
        "SELECT count(*) FROM vapi_bookings b
         WHERE b.clinic_id = $1 AND b.status IN ($3, $4)
           AND (SELECT count(*) FROM vapi_bookings o WHERE o.clinic_id = $1 AND o.status IN ($3, $4)
                  AND o.time_range && b.time_range)
             + (SELECT count(*) FROM schedule_appointments a WHERE a.clinic_id = $1
                  AND a.deleted_at IS NULL AND a.status IS DISTINCT FROM $5
                  AND a.time_range && b.time_range) > $2",
    )
    .bind(clinic)
    .bind(capacity)
    .bind(BookingStatus::Pending.as_str())
    .bind(BookingStatus::Confirmed.as_str())
    .bind(AppointmentStatus::Cancelled.as_str())
    .fetch_one(pool)
    .await
}

// --- bench inbox (bench/inbox) ---

/// Seeds `n` inbox events, one second apart going back from now (newest first), over the three
/// sources in turn, every tenth `unmatched` and the rest `processed`, with small JSON payloads
/// naming a call id (`call-<i>`, kept in `vapi_call_id` for the VAPI ones, `i` a multiple of 3),
/// in one set-based statement. Then `ANALYZE`.
pub async fn seed_inbox_events(pool: &PgPool, n: i64) -> Result<(), sqlx::Error> {
    use crate::domain::status::EventStatus;
    sqlx::query(
        "INSERT INTO webhook_events (source, delivery_id, event_type, payload, status, attempts, \
                                     received_at, vapi_call_id) \
         SELECT (ARRAY['vapi', 'clerk', 'qstash'])[1 + i % 3], 'bench-' || i, 'status-update', \
                convert_to('{\"message\":{\"call\":{\"id\":\"call-' || i || '\"}}}', 'UTF8'), \
                CASE WHEN i % 10 = 0 THEN $2 ELSE $3 END, 1, \
                now() - make_interval(secs => i), CASE WHEN i % 3 = 0 THEN 'call-' || i END \
         FROM generate_series(1, $1) AS i",
    )
    .bind(n)
    .bind(EventStatus::Unmatched.as_str())
    .bind(EventStatus::Processed.as_str())
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE webhook_events").execute(pool).await?;
    Ok(())
}

/// The keyset cursor `(received_at, id)` of the `offset`-th newest event (the deep page).
pub async fn inbox_cursor_at(
    pool: &PgPool,
    offset: i64,
) -> Result<(DateTime<Utc>, Uuid), sqlx::Error> {
    sqlx::query_as(
        "SELECT received_at, id FROM webhook_events ORDER BY received_at DESC, id DESC \
         OFFSET $1 LIMIT 1",
    )
    .bind(offset)
    .fetch_one(pool)
    .await
}

/// The same deep page by OFFSET (what keyset pagination avoids), for comparison.
pub async fn inbox_offset_page(
    pool: &PgPool,
    offset: i64,
    limit: i64,
) -> Result<usize, sqlx::Error> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT id FROM webhook_events ORDER BY received_at DESC, id DESC OFFSET $1 LIMIT $2",
    )
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.len())
}

// --- bench import (bench/import) ---

/// The tables of schema `public`, parents before children (by foreign keys; a table's
/// references to itself do not count), so copying them in this order never breaks a key.
pub async fn tables_in_fk_order(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE t AS ( \
             SELECT c.oid, c.relname::text AS name FROM pg_class c \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')), \
         deps AS ( \
             SELECT conrelid AS child, confrelid AS parent FROM pg_constraint \
              WHERE contype = 'f' AND conrelid <> confrelid AND conrelid IN (SELECT oid FROM t)), \
         lvl(oid, depth) AS ( \
             SELECT oid, 0 FROM t \
             UNION ALL \
             SELECT d.child, l.depth + 1 FROM lvl l JOIN deps d ON d.parent = l.oid \
              WHERE l.depth < 64) \
         SELECT t.name FROM t JOIN (SELECT oid, max(depth) AS d FROM lvl GROUP BY oid) m USING (oid) \
          ORDER BY m.d, t.name",
    )
    .fetch_all(pool)
    .await
}

/// Empties the tables named (read from the catalog: spliced into the statement, quoted), and
/// whatever references them.
pub async fn truncate_tables(
    conn: &mut PgConnection,
    tables: &[String],
) -> Result<(), sqlx::Error> {
    if tables.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = tables
        .iter()
        .map(|t| format!("public.\"{}\"", t.replace('"', "\"\"")))
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "TRUNCATE {} CASCADE",
        list.join(", ")
    )))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Streams every row of `public.<table>` from `from` into the same table of `to` with
/// `COPY … TO STDOUT` / `COPY … FROM STDIN` (binary format, generated columns left to the
/// target), chunk by chunk; returns the rows written. `table` must be a name read from the
/// catalog ([`tables_in_fk_order`]): it is spliced into the statements, quoted.
pub async fn copy_table(
    from: &mut PgConnection,
    to: &mut PgConnection,
    table: &str,
) -> Result<u64, sqlx::Error> {
    use futures::TryStreamExt;
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    let mut sink = to
        .copy_in_raw(&format!("COPY public.{quoted} FROM STDIN (FORMAT binary)"))
        .await?;
    let mut source = from
        .copy_out_raw(&format!("COPY public.{quoted} TO STDOUT (FORMAT binary)"))
        .await?;
    while let Some(chunk) = source.try_next().await? {
        sink.send(chunk).await?;
    }
    sink.finish().await
}
