//! VAPI processing through the real router: every fixture into rows, idempotency under
//! redelivery and concurrency, order independence, unmatched → replay, outbound retries,
//! synchronous answers, and a fuzz pass that must never produce a 5xx.

// Row tuples read inline next to their SELECT are easier to check than named aliases.
#![allow(clippy::type_complexity)]

use std::path::PathBuf;

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use odis_worker::domain::status::EventStatus;
use odis_worker::replay::{replay_inbox, InboxFilter};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::app::{send, state, AppState};
use crate::helpers::seed::{self, AssistantMappingOpts};
use crate::helpers::sign::{fixture_paths, fixture_request, vapi_request, Fixture};

const CLINIC: &str = "0f1c0000-0000-4000-8000-000000000001";
const IN_CALL: &str = "c0ffee00-0000-4000-8000-000000000101";
const IN_SHORT: &str = "c0ffee00-0000-4000-8000-000000000102";
/// The call of the voice-tool fixtures `tool-calls-01…10`.
const TOOLS_CALL: &str = "c0ffee00-0000-4000-8000-000000000105";
const OUT_CALL: &str = "c0ffee00-0000-4000-8000-000000000201";
const CRIT_CALL: &str = "c0ffee00-0000-4000-8000-000000000202";
const VM_CALL: &str = "c0ffee00-0000-4000-8000-000000000203";
const NA_CALL: &str = "c0ffee00-0000-4000-8000-000000000204";
const ROW_B1: &str = "0f1c0000-0000-4000-8000-0000000000b1";
const ROW_B3: &str = "0f1c0000-0000-4000-8000-0000000000b3";
const ROW_B4: &str = "0f1c0000-0000-4000-8000-0000000000b4";
const CASE_C2: &str = "0f1c0000-0000-4000-8000-0000000000c2";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/vapi")
}

fn all_fixtures() -> Vec<PathBuf> {
    fixture_paths("vapi")
}

fn body(name: &str) -> Vec<u8> {
    Fixture::load(&dir().join(format!("{name}.json")))
        .unwrap()
        .raw_body()
        .to_vec()
}

/// The fixture with ids swapped, so the same story can be told again on fresh rows.
fn variant(name: &str, swaps: &[(&str, &str)]) -> Vec<u8> {
    let mut s = String::from_utf8(body(name)).unwrap();
    for (from, to) in swaps {
        s = s.replace(from, to);
    }
    s.into_bytes()
}

async fn post(st: &AppState, body: &[u8]) -> (StatusCode, Value) {
    send(st, vapi_request(body)).await
}

/// A call row and its analysis as JSON, without ids and bookkeeping timestamps, so two
/// stories on different ids can be compared.
async fn snapshot(pool: &PgPool, table: &str, vapi_call_id: &str) -> Value {
    let fk = if table == "inbound_calls" {
        "inbound_call_id"
    } else {
        "outbound_call_id"
    };
    let sql = format!(
        "SELECT jsonb_build_object(
            'call', to_jsonb(c) - 'id' - 'vapi_call_id' - 'created_at' - 'updated_at',
            'analyses', (SELECT COALESCE(jsonb_agg(to_jsonb(a) - 'id' - '{fk}' - 'created_at'), '[]')
                         FROM call_analysis a WHERE a.{fk} = c.id))
         FROM {table} c WHERE c.vapi_call_id = $1"
    );
    let v: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(vapi_call_id)
        .fetch_optional(pool)
        .await
        .unwrap()
        .unwrap_or(Value::Null);
    // Recording URLs embed the VAPI call id.
    serde_json::from_str(&v.to_string().replace(vapi_call_id, "CALL")).unwrap()
}

/// Everything the VAPI processor writes, with ids (for "same rows after redelivery"): call rows,
/// analyses, cases, and what the voice tools write (bookings, messages, refills, audit rows,
/// stored tool answers, Slack alert jobs). Needs the job tables (`jobs::setup`).
async fn everything(pool: &PgPool) -> Value {
    sqlx::query_scalar(
        "SELECT jsonb_build_object(
           'inbound', (SELECT COALESCE(jsonb_agg(to_jsonb(t) - 'updated_at' ORDER BY t.id), '[]') FROM inbound_calls t),
           'outbound', (SELECT COALESCE(jsonb_agg(to_jsonb(t) - 'updated_at' ORDER BY t.id), '[]') FROM outbound_calls t),
           'analysis', (SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.id), '[]') FROM call_analysis t),
           'cases', (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id, 'is_urgent', is_urgent) ORDER BY id), '[]') FROM cases),
           'bookings', (SELECT COALESCE(jsonb_agg(to_jsonb(t) - 'updated_at' ORDER BY t.id), '[]') FROM vapi_bookings t),
           'messages', (SELECT COALESCE(jsonb_agg(to_jsonb(t) - 'updated_at' ORDER BY t.id), '[]') FROM clinic_messages t),
           'refills', (SELECT COALESCE(jsonb_agg(to_jsonb(t) - 'updated_at' ORDER BY t.id), '[]') FROM refill_requests t),
           'audit', (SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.id), '[]') FROM appointment_audit_log t),
           'tool_results', (SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.vapi_call_id, t.tool_call_id), '[]') FROM vapi_tool_results t),
           'slack_jobs', (SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.id), '[]') FROM apalis.jobs t
                          WHERE t.job_type = 'odis.slack_alert'))",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// `everything()` equal to `baseline`, compared table by table (a failure names the table).
fn assert_same(now: &Value, baseline: &Value) {
    for (table, rows) in baseline.as_object().unwrap() {
        let (was, is) = (rows.as_array().unwrap(), now[table].as_array().unwrap());
        assert_eq!(is.len(), was.len(), "{table}: rows added or removed");
        for (a, b) in was.iter().zip(is) {
            let changed: Vec<String> = a
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| b.get(k.as_str()) != Some(v))
                .map(|(k, v)| format!("{k}: {v} -> {}", b[k]))
                .collect();
            assert!(changed.is_empty(), "{table} row {}: {changed:?}", a["id"]);
        }
    }
    assert_eq!(now, baseline);
}

async fn send_all(st: &AppState) -> Vec<(String, StatusCode, Value)> {
    let mut out = Vec::new();
    for path in all_fixtures() {
        let (status, json) = send(st, fixture_request(&path)).await;
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        out.push((name, status, json));
    }
    out
}

async fn event_statuses(pool: &PgPool) -> Vec<(Option<String>, String)> {
    sqlx::query_as("SELECT event_type, status FROM webhook_events ORDER BY event_type, status")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn every_fixture_is_processed_into_the_expected_rows(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    // The message tools enqueue staff alerts.
    odis_worker::jobs::setup(&pool).await.unwrap();
    let st = state(&pool);
    for (name, status, json) in send_all(&st).await {
        assert_eq!(status, StatusCode::OK, "{name}: {json}");
        match name.as_str() {
            n if n.starts_with("tool-calls") => assert_tool_answer(n, &json),
            "assistant-request" => assert!(json["error"].is_string(), "{json}"),
            "transfer-destination-request" => {
                assert_eq!(json["destination"]["type"], "number");
                assert_eq!(json["destination"]["number"], "+14155550199");
            }
            n if n.starts_with("inbound") || n.starts_with("outbound") => {
                assert_eq!(json["status"], "processed", "{name}: {json}")
            }
            _ => assert_eq!(json["status"], "skipped", "{name}: {json}"),
        }
    }
    let statuses = event_statuses(&pool).await;
    assert_eq!(statuses.len(), all_fixtures().len());
    assert!(statuses
        .iter()
        .all(|(_, s)| s == "processed" || s == "skipped"));
    assert_fixture_rows(&pool).await;
}

/// The rows the fixtures produce on the seed, each exactly once (`fixtures/README.md`).
async fn assert_fixture_rows(pool: &PgPool) {
    let pool = pool.clone();
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM inbound_calls), (SELECT count(*) FROM outbound_calls), \
                (SELECT count(*) FROM call_analysis)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        counts,
        (3, 5, 6),
        "inbound calls (2 + the voice tools' call …0105), outbound calls (4 seeded + 1 retry), \
         analyses"
    );

    // Inbound: booked appointment.
    let r: (String, String, String, String, Option<String>, i32, f64, String, String, String) = sqlx::query_as(
        "SELECT clinic_id::text, assistant_id, phone_number_id, customer_phone, status, duration_seconds,
                cost::float8, ended_reason, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS'),
                to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS')
         FROM inbound_calls WHERE vapi_call_id = $1",
    )
    .bind(IN_CALL)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(r.0, CLINIC);
    assert_eq!(r.1, "asst_inbound_fixture");
    assert_eq!(r.2, "3f6e1d2c-7b8a-4c9d-8e0f-1a2b3c4d5e6f");
    assert_eq!(r.3, "+14085550142");
    assert_eq!(r.4.as_deref(), Some("ended"));
    assert_eq!(r.5, 195);
    assert!((r.6 - 0.33).abs() < 1e-9, "cost {}", r.6);
    assert_eq!(r.7, "customer-ended-call");
    assert_eq!(r.8, "2026-11-20T18:30:02.114");
    assert_eq!(r.9, "2026-11-20T18:33:17.402");
    let r: (
        String,
        String,
        String,
        Value,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Value,
    ) = sqlx::query_as(
        "SELECT recording_url, stereo_recording_url, transcript, transcript_messages, outcome,
                    extracted_caller_phone, extracted_caller_name, extracted_pet_name, metadata
             FROM inbound_calls WHERE vapi_call_id = $1",
    )
    .bind(IN_CALL)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(r.0, format!("https://storage.vapi.ai/{IN_CALL}-mono.wav"));
    assert_eq!(r.1, format!("https://storage.vapi.ai/{IN_CALL}-stereo.wav"));
    assert!(r.2.starts_with("AI: Thank you for calling"));
    assert_eq!(r.3.as_array().unwrap().len(), 8);
    assert_eq!(r.4.as_deref(), Some("appointment_booked"));
    assert_eq!(r.5.as_deref(), Some("+14085550142"));
    assert_eq!(r.6.as_deref(), Some("Maria Lopez"));
    assert_eq!(r.7.as_deref(), Some("Luna"));
    assert_eq!(r.8["last_hang_at"], "2026-11-20T18:31:40+00:00");
    assert_eq!(r.8["incomplete_call"], false);

    let a: (String, Option<String>, Option<String>, Option<String>, Value, Vec<String>, Option<String>, bool) =
        sqlx::query_as(
            "SELECT a.clinic_id::text, a.summary, a.success_evaluation, a.call_outcome, a.structured_data,
                    a.attention_types, a.attention_severity, a.escalation_triggered
             FROM call_analysis a JOIN inbound_calls c ON c.id = a.inbound_call_id
             WHERE c.vapi_call_id = $1",
        )
        .bind(IN_CALL)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(a.0, CLINIC);
    assert!(a.1.unwrap().starts_with("Maria Lopez booked"));
    assert_eq!(a.2.as_deref(), Some("true"));
    assert_eq!(a.3.as_deref(), Some("appointment_booked"));
    assert_eq!(a.4["card_type"], "scheduled");
    assert!(a.5.is_empty());
    assert_eq!(a.6, None);
    assert!(!a.7);

    // Inbound: an 8-second silent call is incomplete: card dropped, no outcome, no caller.
    let r: (String, Option<i32>, Option<String>, Option<String>, Value, Option<Value>) = sqlx::query_as(
        "SELECT c.status, c.duration_seconds, c.outcome, c.extracted_caller_name, c.metadata, a.structured_data
         FROM inbound_calls c JOIN call_analysis a ON a.inbound_call_id = c.id WHERE c.vapi_call_id = $1",
    )
    .bind(IN_SHORT)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(r.0, "failed");
    assert_eq!(r.1, Some(8));
    assert_eq!(r.2, None);
    assert_eq!(r.3, None);
    assert_eq!(r.4["incomplete_call"], true);
    assert_eq!(r.5, None);

    // Outbound: the normal discharge follow-up.
    let r: (String, String, String, i32, f64, String, Option<String>) = sqlx::query_as(
        "SELECT id::text, status, ended_reason, duration_seconds, cost::float8, outbound_phone_number_id, recording_url
         FROM outbound_calls WHERE vapi_call_id = $1",
    )
    .bind(OUT_CALL)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(r.0, ROW_B1);
    assert_eq!(r.1, "ended");
    assert_eq!(r.2, "assistant-ended-call");
    assert_eq!(r.3, 248);
    assert!((r.4 - 0.29).abs() < 1e-9);
    assert_eq!(r.5, "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a");
    assert_eq!(
        r.6,
        Some(format!("https://storage.vapi.ai/{OUT_CALL}-mono.wav"))
    );
    let a: (Option<String>, Option<String>, Option<String>, Option<String>, bool, bool, Option<String>, Value, Option<Value>) =
        sqlx::query_as(
            "SELECT call_outcome, pet_recovery_status, medication_compliance, owner_sentiment,
                    escalation_triggered, follow_up_needed, attention_severity, structured_data, follow_up_details
             FROM call_analysis WHERE outbound_call_id = $1::uuid",
        )
        .bind(ROW_B1)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(a.0.as_deref(), Some("successful"));
    assert_eq!(a.1.as_deref(), Some("improving"));
    assert_eq!(a.2.as_deref(), Some("compliant"));
    assert_eq!(a.3.as_deref(), Some("positive"));
    assert!(!a.4);
    assert!(!a.5);
    assert_eq!(a.6, None);
    assert_eq!(a.7, json!({"owner_available": true}));
    assert_eq!(a.8.unwrap()["recheck_reminder_delivered"], true);

    // Outbound: critical attention → flags and an urgent case.
    let a: (Vec<String>, Option<String>, Option<String>, Option<String>, bool, Option<String>) = sqlx::query_as(
        "SELECT a.attention_types, a.attention_severity, a.attention_summary,
                to_char(a.attention_flagged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS'),
                a.escalation_triggered, a.pet_recovery_status
         FROM call_analysis a JOIN outbound_calls c ON c.id = a.outbound_call_id WHERE c.vapi_call_id = $1",
    )
    .bind(CRIT_CALL)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(a.0, vec!["health_concern", "medication_issue"]);
    assert_eq!(a.1.as_deref(), Some("critical"));
    assert!(a.2.unwrap().contains("vomiting blood"));
    assert_eq!(a.3.as_deref(), Some("2026-11-20T22:13:32.500"));
    assert!(a.4);
    assert_eq!(a.5.as_deref(), Some("declining"));
    let urgent: Vec<(String, bool)> =
        sqlx::query_as("SELECT id::text, is_urgent FROM cases WHERE is_urgent ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(urgent, vec![(CASE_C2.to_string(), true)]);

    // Outbound: voicemail is a completed call, never retried.
    let vm: (String, String) =
        sqlx::query_as("SELECT id::text, status FROM outbound_calls WHERE vapi_call_id = $1")
            .bind(VM_CALL)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(vm, (ROW_B3.to_string(), "ended".to_string()));
    let vm_retries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbound_calls WHERE metadata->>'retry_of' = $1")
            .bind(ROW_B3)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(vm_retries, 0);

    // Outbound: no answer → failed, and one retry row 10 minutes later shifted into 16:00 PST.
    let na: (String, String, Option<i32>, f64) = sqlx::query_as(
        "SELECT id::text, status, duration_seconds, cost::float8 FROM outbound_calls WHERE vapi_call_id = $1",
    )
    .bind(NA_CALL)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (na.0.as_str(), na.1.as_str(), na.2),
        (ROW_B4, "failed", None)
    );
    assert!((na.3 - 0.004).abs() < 1e-9);
    assert_retry(&pool, ROW_B4, 2, "2026-11-21T00:00:00").await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM outbound_calls")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 5, "4 seeded rows + 1 retry");
    assert_tool_rows(&pool).await;
}

/// The parsed `result` of each entry of a `tool-calls` answer, in order.
fn tool_results(name: &str, json: &Value) -> Vec<Value> {
    let entries = json["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: {json}"));
    entries
        .iter()
        .map(|e| {
            let text = e["result"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {json}"));
            serde_json::from_str(text).unwrap()
        })
        .collect()
}

/// What each `tool-calls` fixture answers (`fixtures/README.md`): per tool call, `success`, the
/// `error` code and the data that says what happened. The dates are relative ("next
/// Wednesday", "yesterday"), so the answers are the same on any day.
fn assert_tool_answer(name: &str, json: &Value) {
    let results = tool_results(name, json);
    let expected: &[(bool, Option<&str>)] = match name {
        "tool-calls" => &[(false, Some("past_date")), (true, None)],
        "tool-calls-10-get-clinic-hours" => &[(false, Some("hours_not_configured"))],
        _ => &[(true, None)],
    };
    assert_eq!(results.len(), expected.len(), "{name}: {json}");
    for (r, (success, error)) in results.iter().zip(expected) {
        assert_eq!(r["success"], *success, "{name}: {r}");
        assert_eq!(r["error"].as_str(), *error, "{name}: {r}");
        assert!(!r["message"].as_str().unwrap().is_empty(), "{name}: {r}");
    }
    let d = &results[results.len() - 1]["data"];
    match name {
        "tool-calls" => assert!(d["confirmation_number"]
            .as_str()
            .unwrap()
            .starts_with("ODIS-")),
        "tool-calls-01-check-availability" => {
            assert_eq!(d["available"], true, "{d}");
            // Next Wednesday, 08:00–18:00 in 15-minute slots (the seed has no schedule).
            assert_eq!(d["count"], 40, "{d}");
            assert_eq!(
                d["formatted_date"].as_str().unwrap().split(',').next(),
                Some("Wednesday")
            );
            assert_eq!(d["blocked_times"], json!([]));
        }
        "tool-calls-02-check-availability-range" => {
            assert_eq!(d["date_range"]["days_checked"], 7, "{d}");
            assert_eq!(d["availability"].as_array().unwrap().len(), 7);
            assert_eq!(d["available"], true);
        }
        "tool-calls-03-book-appointment" => {
            assert!(d["confirmation_number"]
                .as_str()
                .unwrap()
                .starts_with("ODIS-"));
            assert_eq!(d["appointment"]["formatted_time"], "2:30 PM");
            assert_eq!(d["appointment"]["patient_name"], "Biscuit");
        }
        "tool-calls-04-verify-appointment" => {
            assert_eq!(d["status"], "FOUND", "{d}");
            assert_eq!(d["formatted_time"], "2:30 PM");
            assert_eq!(d["source"], "booking");
        }
        "tool-calls-05-reschedule-appointment" => {
            assert_eq!(d["rescheduled"], true, "{d}");
            assert_eq!(d["old_datetime"]["time"], "14:30:00");
            assert_eq!(d["new_datetime"]["time"], "09:00:00");
        }
        "tool-calls-06-cancel-appointment" => {
            assert_eq!(d["cancelled"], true, "{d}");
            assert_eq!(d["appointment"]["appointment_time"], "09:00:00");
        }
        "tool-calls-07-leave-message" => assert_eq!(d["is_urgent"], true, "{d}"),
        "tool-calls-08-log-emergency-triage" => {
            assert_eq!(d["urgency"], "critical", "{d}");
            assert_eq!(d["er_referred"], true);
        }
        "tool-calls-09-create-refill-request" => {
            assert!(
                is_refill_reference(d["reference_id"].as_str().unwrap()),
                "{d}"
            )
        }
        "tool-calls-10-get-clinic-hours" => {}
        other => panic!("{other}: a tool-calls fixture without expectations"),
    }
}

/// `RX-YYYYMMDD-XXXX` (4 base-36 characters).
fn is_refill_reference(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    matches!(parts.as_slice(), ["RX", date, code]
        if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit())
            && code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
}

/// The clinic-local date of `at` in the fixture clinic's zone, and the first `weekday` strictly
/// after it (how "next Wednesday" is read, `docs/behaviour.md#vapi-tools-dates`).
fn la_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
}

fn next_weekday(today: NaiveDate, weekday: Weekday) -> NaiveDate {
    (1..=7)
        .map(|n| today + Days::new(n))
        .find(|d| d.weekday() == weekday)
        .unwrap()
}

async fn inbound_row(pool: &PgPool, vapi_call_id: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM inbound_calls WHERE vapi_call_id = $1")
        .bind(vapi_call_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// What the voice-tool fixtures wrote (`fixtures/README.md`). Expected dates come from each
/// row's own `created_at` (the fixtures say "next Wednesday"), so any day will do.
async fn assert_tool_rows(pool: &PgPool) {
    assert_tool_bookings(pool).await;
    assert_tool_messages(pool).await;
    assert_tool_refill_and_answers(pool).await;
}

/// One booking as `assert_tool_bookings` reads it.
#[derive(Debug, sqlx::FromRow)]
struct BookingRow {
    id: Uuid,
    vapi_call_id: String,
    patient_name: String,
    status: String,
    rescheduled_from_id: Option<Uuid>,
    /// Clinic-local `YYYY-MM-DD HH:MM`.
    local_start: String,
    local_end: String,
    cancelled_reason: Option<String>,
    inbound_call_id: Option<Uuid>,
    rescheduled_reason: Option<String>,
    original_start: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    start: DateTime<Utc>,
    held: bool,
}

impl BookingRow {
    /// `YYYY-MM-DD HH:MM` of the first `weekday` after the day the row was written.
    fn next(&self, weekday: Weekday, time: &str) -> String {
        format!("{} {time}", next_weekday(la_date(self.created_at), weekday))
    }
}

/// The holds of `tool-calls` (Luna) and of 03 (Biscuit, Wednesday 2:30 PM), moved by 05 to
/// Thursday 9 AM (the original cancelled in the same transaction as the new hold), cancelled by
/// 06; one audit row each for the reschedule and the cancel.
async fn assert_tool_bookings(pool: &PgPool) {
    let b: Vec<BookingRow> = sqlx::query_as(
        "SELECT id, vapi_call_id, patient_name, status, rescheduled_from_id,
                to_char(lower(time_range) AT TIME ZONE 'America/Los_Angeles', 'YYYY-MM-DD HH24:MI') AS local_start,
                to_char(upper(time_range) AT TIME ZONE 'America/Los_Angeles', 'HH24:MI') AS local_end,
                cancelled_reason, inbound_call_id, rescheduled_reason,
                lower(original_time_range) AS original_start, created_at, lower(time_range) AS start,
                hold_expires_at IS NOT NULL AS held
         FROM vapi_bookings ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        b.len(),
        3,
        "Biscuit's hold, its reschedule and Luna's hold: {b:?}"
    );
    let (row_0101, row_0105) = (
        inbound_row(pool, IN_CALL).await,
        inbound_row(pool, TOOLS_CALL).await,
    );
    // In path order `tool-calls-01…10` come before `tool-calls`.
    let (wed, thu, luna) = (&b[0], &b[1], &b[2]);
    // `tool-calls`: Luna on Tuesday 10:00, a pending hold of call …0101.
    assert_eq!(
        (
            luna.vapi_call_id.as_str(),
            luna.patient_name.as_str(),
            luna.status.as_str()
        ),
        (IN_CALL, "Luna", "pending")
    );
    assert_eq!(luna.local_start, luna.next(Weekday::Tue, "10:00"));
    assert_eq!(
        (luna.local_end.as_str(), luna.inbound_call_id, luna.held),
        ("10:15", Some(row_0101), true)
    );
    assert_eq!(
        (
            wed.vapi_call_id.as_str(),
            wed.patient_name.as_str(),
            wed.status.as_str()
        ),
        (TOOLS_CALL, "Biscuit", "cancelled")
    );
    assert_eq!(wed.local_start, wed.next(Weekday::Wed, "14:30"));
    assert_eq!(wed.inbound_call_id, Some(row_0105));
    let thu_start = thu.next(Weekday::Thu, "09:00");
    assert_eq!(
        wed.cancelled_reason,
        Some(format!("Rescheduled to {thu_start}:00"))
    );
    assert_eq!(
        (
            thu.vapi_call_id.as_str(),
            thu.patient_name.as_str(),
            thu.status.as_str()
        ),
        (TOOLS_CALL, "Biscuit", "cancelled")
    );
    assert_eq!(thu.local_start, thu_start);
    assert_eq!(thu.rescheduled_from_id, Some(wed.id));
    assert_eq!(thu.original_start, Some(wed.start));
    assert_eq!(thu.rescheduled_reason.as_deref(), Some("Work conflict"));
    assert_eq!(thu.cancelled_reason.as_deref(), Some("Feeling better"));
    let details: (String, String, String, bool, String) = sqlx::query_as(
        "SELECT client_name, species, breed, is_new_client, reason FROM vapi_bookings WHERE id = $1",
    )
    .bind(wed.id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        details,
        (
            "James Chen".into(),
            "cat".into(),
            "Maine Coon".into(),
            true,
            "Limping".into()
        )
    );

    let audit: Vec<(String, Option<Uuid>, DateTime<Utc>, Option<DateTime<Utc>>, String, String)> = sqlx::query_as(
        "SELECT action, booking_id, lower(old_time_range), lower(new_time_range), reason, vapi_call_id
         FROM appointment_audit_log WHERE clinic_id = $1::uuid ORDER BY created_at",
    )
    .bind(CLINIC)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        vec![
            (
                "reschedule".into(),
                Some(thu.id),
                wed.start,
                Some(thu.start),
                "Work conflict".into(),
                TOOLS_CALL.into()
            ),
            (
                "cancel".into(),
                Some(thu.id),
                thu.start,
                None,
                "Feeling better".into(),
                TOOLS_CALL.into()
            ),
        ]
    );
}

/// Call …0105's row (created by the booking tool; its last outcome is the cancel, in the spec's
/// vocabulary, `docs/behaviour.md#vapi-tools-outcome`), the two urgent messages of 07 and 08 on
/// it, and one Slack alert job each (the seed has no Slack workspace: the jobs exist, nothing is
/// sent).
async fn assert_tool_messages(pool: &PgPool) {
    let row_0105 = inbound_row(pool, TOOLS_CALL).await;
    let call: (Uuid, Option<String>, Option<String>, Option<String>, Value) = sqlx::query_as(
        "SELECT clinic_id, outcome, extracted_caller_name, extracted_pet_name, metadata
         FROM inbound_calls WHERE id = $1",
    )
    .bind(row_0105)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(call.0.to_string(), CLINIC);
    assert_eq!(call.1.as_deref(), Some("appointment_cancelled"));
    assert_eq!(
        (call.2.as_deref(), call.3.as_deref()),
        (Some("James Chen"), Some("Biscuit"))
    );
    assert_eq!(call.4["tool_outcome"], "appointment_cancelled");

    let messages: Vec<(Uuid, String, String, Option<Uuid>, String, Option<Value>)> =
        sqlx::query_as(
            "SELECT id, message_type, priority, inbound_call_id, message_content, triage_data
         FROM clinic_messages ORDER BY created_at",
        )
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let (msg, triage) = (&messages[0], &messages[1]);
    assert_eq!(
        (msg.1.as_str(), msg.2.as_str(), msg.3),
        ("general", "urgent", Some(row_0105))
    );
    assert!(
        msg.4.starts_with("Please call me about Biscuit's diet"),
        "{}",
        msg.4
    );
    assert_eq!(
        (triage.1.as_str(), triage.2.as_str(), triage.3),
        ("emergency_triage", "urgent", Some(row_0105))
    );
    assert_eq!(
        triage.5,
        Some(
            json!({"urgency": "critical", "symptoms": "ate a lily", "action_taken": "sent_to_er",
                    "er_referred": true, "species": "cat"})
        )
    );
    let mut alerted: Vec<Uuid> = sqlx::query_scalar(
        "SELECT (convert_from(job, 'UTF8')::jsonb->>'message_id')::uuid FROM apalis.jobs
         WHERE job_type = 'odis.slack_alert' AND status = 'Pending'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    alerted.sort();
    let mut want = vec![msg.0, triage.0];
    want.sort();
    assert_eq!(alerted, want, "one SlackAlert job per urgent message");
}

/// 09's refill request (its reference on the clinic's date) and the stored answers: one per
/// tool call that wrote something (reads store nothing).
async fn assert_tool_refill_and_answers(pool: &PgPool) {
    let rx: (
        String,
        Option<String>,
        Option<NaiveDate>,
        String,
        String,
        Option<Uuid>,
        Value,
        DateTime<Utc>,
    ) = sqlx::query_as(
        "SELECT medication_name, medication_strength, last_refill_date, pharmacy_preference,
                    status, inbound_call_id, metadata, created_at
             FROM refill_requests",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        (rx.0.as_str(), rx.1.as_deref()),
        ("Gabapentin", Some("100 mg"))
    );
    let today = la_date(rx.7);
    // "October 1" is the last October 1 up to today.
    let oct1 = [today.year(), today.year() - 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, 10, 1))
        .find(|d| *d <= today);
    assert_eq!(rx.2, oct1);
    assert_eq!(
        (rx.3.as_str(), rx.4.as_str(), rx.5),
        (
            "pickup",
            "pending",
            Some(inbound_row(pool, TOOLS_CALL).await)
        )
    );
    let reference = rx.6["reference_id"].as_str().unwrap();
    assert!(is_refill_reference(reference), "{reference}");
    assert_eq!(reference[3..11], today.format("%Y%m%d").to_string());

    let stored: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT vapi_call_id, tool_call_id, tool FROM vapi_tool_results ORDER BY vapi_call_id, tool_call_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let want: Vec<(String, String, String)> = [
        (IN_CALL, "call_Bq7mz2", "book_appointment"),
        (TOOLS_CALL, "call_fx03", "book_appointment"),
        (TOOLS_CALL, "call_fx05", "reschedule_appointment"),
        (TOOLS_CALL, "call_fx06", "cancel_appointment"),
        (TOOLS_CALL, "call_fx07", "leave_message"),
        (TOOLS_CALL, "call_fx08", "log_emergency_triage"),
        (TOOLS_CALL, "call_fx09", "create_refill_request"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(stored, want);
}

async fn assert_retry(pool: &PgPool, of: &str, attempt: i64, scheduled_utc: &str) {
    let rows: Vec<(
        String,
        Option<String>,
        Value,
        String,
        String,
        String,
        Option<String>,
    )> = sqlx::query_as(
        "SELECT r.status, r.vapi_call_id, r.metadata,
                to_char(r.scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'),
                r.case_id::text, r.customer_phone, r.assistant_id
         FROM outbound_calls r JOIN outbound_calls o ON o.id = $1::uuid
         WHERE r.metadata->>'retry_of' = $1
           AND r.case_id = o.case_id AND r.clinic_id = o.clinic_id
           AND r.outbound_phone_number_id IS NOT DISTINCT FROM o.outbound_phone_number_id",
    )
    .bind(of)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1, "exactly one retry of {of}");
    let r = &rows[0];
    assert_eq!(r.0, "queued");
    assert_eq!(r.1, None);
    assert_eq!(r.2["attempt"], attempt);
    assert_eq!(r.2["retry_of"], of);
    assert_eq!(r.3, scheduled_utc);
    assert_eq!(r.5, "+16505550177");
    assert_eq!(r.6.as_deref(), Some("asst_outbound_fixture"));
}

/// A storm of *first* deliveries: each fixture arrives ten times at once before any copy of it
/// was seen: five identical copies (one delivery id: they race in the inbox) and five with
/// distinct trailing whitespace (five delivery ids: their processors race on the same call).
/// The rows are those of one sequential delivery, each inbox event is stored once and none
/// failed.
#[sqlx::test(migrations = "./migrations")]
async fn each_first_delivery_ten_times_at_once_gives_the_rows_of_one(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    // The message tools enqueue staff alerts.
    odis_worker::jobs::setup(&pool).await.unwrap();
    let st = state(&pool);
    for path in all_fixtures() {
        let body = Fixture::load(&path).unwrap().raw_body().to_vec();
        let mut set = tokio::task::JoinSet::new();
        for copy in 0..10usize {
            let mut bytes = body.clone();
            bytes.extend(std::iter::repeat_n(b' ', copy.saturating_sub(4)));
            let st = st.clone();
            set.spawn(async move { post(&st, &bytes).await });
        }
        let (mut duplicates, mut answers) = (0, 0);
        while let Some(r) = set.join_next().await {
            let (status, json) = r.unwrap();
            assert_eq!(status, StatusCode::OK, "{path:?}: {json}");
            match json.get("status").and_then(Value::as_str) {
                Some("duplicate") => duplicates += 1,
                Some(s) => assert!(s == "processed" || s == "skipped", "{path:?}: {json}"),
                // Messages VAPI waits on are answered in their own shape, duplicates too.
                None => answers += 1,
            }
        }
        assert!(
            duplicates == 4 || answers == 10,
            "{path:?}: {duplicates} duplicates of the five identical copies"
        );
    }
    let per_delivery: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT delivery_id, count(*), min(status) FROM webhook_events GROUP BY delivery_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(per_delivery.len(), all_fixtures().len() * 6);
    for (id, n, status) in &per_delivery {
        assert_eq!(*n, 1, "delivery {id} stored {n} times");
        assert!(
            status == "processed" || status == "skipped",
            "delivery {id} ended {status}"
        );
    }
    assert_fixture_rows(&pool).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn each_delivery_ten_times_sequentially_and_concurrently_gives_one_set_of_rows(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    // The message tools enqueue staff alerts.
    odis_worker::jobs::setup(&pool).await.unwrap();
    let st = state(&pool);
    send_all(&st).await;
    // The rows at rest: `tool-calls` books Luna on call …0101 after that call's end-of-call
    // report, so the hold waits for the sweeper (`docs/behaviour.md#vapi-tools-holds`); a
    // replayed report would confirm it the same way. Sweep first, then compare.
    let swept = odis_worker::db::bookings::sweep_holds(&pool, 5)
        .await
        .unwrap();
    assert_eq!(
        (swept.confirmed, swept.extended, swept.expired),
        (1, 0, 0),
        "{swept:?}"
    );
    let baseline = everything(&pool).await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();

    for path in all_fixtures() {
        for _ in 0..10 {
            let (status, _) = send(&st, fixture_request(&path)).await;
            assert!(status.is_success(), "{path:?}: {status}");
        }
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let st = st.clone();
            let path = path.clone();
            set.spawn(async move { send(&st, fixture_request(&path)).await.0 });
        }
        while let Some(status) = set.join_next().await {
            assert!(status.unwrap().is_success());
        }
    }
    assert_same(&everything(&pool).await, &baseline);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(after, events, "redeliveries are deduplicated in the inbox");

    // The processor itself is idempotent too: re-run every stored event, and send every body
    // again with different bytes (a trailing newline defeats the inbox dedupe).
    replay_inbox(
        &st,
        &InboxFilter {
            statuses: vec![EventStatus::Processed, EventStatus::Skipped],
            ..InboxFilter::default()
        },
    )
    .await
    .unwrap();
    assert_same(&everything(&pool).await, &baseline);
    let mut set = tokio::task::JoinSet::new();
    for path in all_fixtures() {
        let st = st.clone();
        let mut bytes = Fixture::load(&path).unwrap().raw_body().to_vec();
        bytes.push(b'\n');
        set.spawn(async move { post(&st, &bytes).await.0 });
    }
    while let Some(status) = set.join_next().await {
        assert!(status.unwrap().is_success());
    }
    assert_same(&everything(&pool).await, &baseline);
}

/// The inbound and the outbound story, in the given order, on the given ids.
async fn tell(st: &AppState, names: &[&str], swaps: &[(&str, &str)]) {
    for name in names {
        let (status, json) = post(st, &variant(name, swaps)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {json}");
        assert_eq!(json["status"], "processed", "{name}: {json}");
    }
}

const INBOUND_STORY: &[&str] = &[
    "inbound-status-1-queued",
    "inbound-status-2-ringing",
    "inbound-status-3-in-progress",
    "inbound-hang",
    "inbound-status-4-forwarding",
    "inbound-status-5-ended",
    "inbound-end-of-call-report",
];
const OUTBOUND_STORY: &[&str] = &[
    "outbound-status-1-queued",
    "outbound-status-2-ringing",
    "outbound-status-3-in-progress",
    "outbound-status-4-forwarding",
    "outbound-status-5-ended",
    "outbound-end-of-call-report",
];

#[sqlx::test(migrations = "./migrations")]
async fn end_of_call_before_status_updates_gives_the_same_rows(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    let st = state(&pool);
    // Natural order on the fixture ids.
    tell(&st, INBOUND_STORY, &[]).await;
    tell(&st, OUTBOUND_STORY, &[]).await;

    // Reversed (report first, then every status-update) on fresh ids.
    let reversed_in: Vec<&str> = INBOUND_STORY.iter().rev().copied().collect();
    let in2 = "c0ffee00-0000-4000-8000-00000000f101";
    tell(&st, &reversed_in, &[(IN_CALL, in2)]).await;
    // A fresh dispatcher row for the reversed story.
    let row2 = seed::copy_of_outbound_call(&pool, ROW_B1.parse().unwrap())
        .await
        .to_string();
    let out2 = "c0ffee00-0000-4000-8000-00000000f201";
    let reversed_out: Vec<&str> = OUTBOUND_STORY.iter().rev().copied().collect();
    tell(
        &st,
        &reversed_out,
        &[(OUT_CALL, out2), (ROW_B1, row2.as_str())],
    )
    .await;

    let a = snapshot(&pool, "inbound_calls", IN_CALL).await;
    assert_eq!(a["call"]["status"], "ended");
    assert_eq!(a, snapshot(&pool, "inbound_calls", in2).await);
    let a = snapshot(&pool, "outbound_calls", OUT_CALL).await;
    assert_eq!(a["call"]["status"], "ended");
    assert_eq!(a, snapshot(&pool, "outbound_calls", out2).await);

    // And every delivery of a third copy at once.
    let in3 = "c0ffee00-0000-4000-8000-00000000f301";
    let mut set = tokio::task::JoinSet::new();
    for name in INBOUND_STORY {
        let st = st.clone();
        let bytes = variant(name, &[(IN_CALL, in3)]);
        set.spawn(async move { post(&st, &bytes).await });
    }
    while let Some(r) = set.join_next().await {
        let (status, json) = r.unwrap();
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["status"], "processed", "{json}");
    }
    assert_eq!(
        snapshot(&pool, "inbound_calls", IN_CALL).await,
        snapshot(&pool, "inbound_calls", in3).await
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn late_status_update_never_moves_an_ended_call_back(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    let st = state(&pool);
    /// A call that ended, then status-updates of earlier states arriving late.
    struct Case {
        name: &'static str,
        table: &'static str,
        vapi_call_id: &'static str,
        ending: &'static str,
        late: &'static [&'static str],
        /// Id swaps turning the late fixtures into updates of this call.
        swaps: &'static [(&'static str, &'static str)],
        status: &'static str,
        /// Whether the late updates leave the whole row and its analysis as they were; they may
        /// fill what the ending left empty (a no-answer outbound call has no `started_at`).
        unchanged: bool,
    }
    let cases = [
        Case {
            name: "inbound: ended, then queued, ringing and in-progress arrive",
            table: "inbound_calls",
            vapi_call_id: IN_CALL,
            ending: "inbound-end-of-call-report",
            late: &[
                "inbound-status-2-ringing",
                "inbound-status-3-in-progress",
                "inbound-status-1-queued",
            ],
            swaps: &[],
            status: "ended",
            unchanged: true,
        },
        Case {
            name: "outbound: failed (no answer), then a stale in-progress arrives",
            table: "outbound_calls",
            vapi_call_id: NA_CALL,
            ending: "outbound-end-of-call-no-answer",
            late: &["outbound-status-3-in-progress"],
            swaps: &[(OUT_CALL, NA_CALL), (ROW_B1, ROW_B4)],
            status: "failed",
            unchanged: false,
        },
    ];
    for case in cases {
        tell(&st, &[case.ending], &[]).await;
        let before = snapshot(&pool, case.table, case.vapi_call_id).await;
        assert_eq!(before["call"]["status"], case.status, "{}", case.name);
        tell(&st, case.late, case.swaps).await;
        let after = snapshot(&pool, case.table, case.vapi_call_id).await;
        assert_eq!(after["call"]["status"], case.status, "{}", case.name);
        if case.unchanged {
            assert_eq!(after, before, "{}", case.name);
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn unknown_assistant_is_unmatched_until_a_mapping_exists_then_replays(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    sqlx::query("DELETE FROM vapi_assistant_mappings WHERE assistant_id = 'asst_inbound_fixture'")
        .execute(&pool)
        .await
        .unwrap();
    let st = state(&pool);
    for name in ["inbound-status-3-in-progress", "inbound-end-of-call-report"] {
        let (status, json) = post(&st, &body(name)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["status"], "unmatched", "{json}");
    }
    // An outbound call whose row does not exist is unmatched too.
    let orphan = variant(
        "outbound-status-3-in-progress",
        &[(ROW_B1, "0f1c0000-0000-4000-8000-0000000000ff")],
    );
    let (_, json) = post(&st, &orphan).await;
    assert_eq!(json["status"], "unmatched");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_calls")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let note: String = sqlx::query_scalar(
        "SELECT last_error FROM webhook_events WHERE event_type = 'end-of-call-report'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(note.contains("asst_inbound_fixture"), "{note}");

    seed::assistant_mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id: CLINIC.parse().unwrap(),
            assistant_id: "asst_inbound_fixture".into(),
            ..Default::default()
        },
    )
    .await;
    let summary = replay_inbox(&st, &InboxFilter::default()).await.unwrap();
    assert_eq!(summary.results.get("processed"), Some(&2), "{summary:?}");
    assert_eq!(summary.results.get("unmatched"), Some(&1), "{summary:?}");
    let (status, outcome, clinic): (String, Option<String>, Uuid) = sqlx::query_as(
        "SELECT status, outcome, clinic_id FROM inbound_calls WHERE vapi_call_id = $1",
    )
    .bind(IN_CALL)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "ended");
    assert_eq!(outcome.as_deref(), Some("appointment_booked"));
    assert_eq!(clinic.to_string(), CLINIC);
    let ev_clinic: Option<Uuid> = sqlx::query_scalar(
        "SELECT clinic_id FROM webhook_events WHERE event_type = 'end-of-call-report'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(ev_clinic.map(|c| c.to_string()).as_deref(), Some(CLINIC));
}

#[sqlx::test(migrations = "./migrations")]
async fn outbound_retry_is_created_once_and_stops_at_max_call_retries(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    sqlx::query("UPDATE clinic_settings SET max_call_retries = 2")
        .execute(&pool)
        .await
        .unwrap();
    let st = state(&pool);
    tell(&st, &["outbound-end-of-call-no-answer"], &[]).await;
    // The matching status-update (different bytes, same ending) and a reprocess: still one.
    let su = variant(
        "outbound-status-5-ended",
        &[(OUT_CALL, NA_CALL), (ROW_B1, ROW_B4)],
    );
    let su = String::from_utf8(su)
        .unwrap()
        .replace("assistant-ended-call", "customer-did-not-answer");
    let (_, json) = post(&st, su.as_bytes()).await;
    assert_eq!(json["status"], "processed");
    replay_inbox(
        &st,
        &InboxFilter {
            statuses: vec![EventStatus::Processed],
            ..InboxFilter::default()
        },
    )
    .await
    .unwrap();
    assert_retry(&pool, ROW_B4, 2, "2026-11-21T00:00:00").await;

    // Attempt 2 is dialed (a new VAPI call on the retry row) and is busy, at 19:30 PST:
    // retry 2 of 2 is created for the next day's 16:00 PST.
    let retry1: String =
        sqlx::query_scalar("SELECT id::text FROM outbound_calls WHERE metadata->>'retry_of' = $1")
            .bind(ROW_B4)
            .fetch_one(&pool)
            .await
            .unwrap();
    let call2 = "c0ffee00-0000-4000-8000-00000000e202";
    let busy = variant(
        "outbound-end-of-call-no-answer",
        &[
            (NA_CALL, call2),
            (ROW_B4, retry1.as_str()),
            ("customer-did-not-answer", "customer-busy"),
            ("2026-11-20T22:05:00.000Z", "2026-11-21T03:30:00.000Z"),
        ],
    );
    let (_, json) = post(&st, &busy).await;
    assert_eq!(json["status"], "processed", "{json}");
    assert_retry(&pool, &retry1, 3, "2026-11-22T00:00:00").await;

    // Attempt 3 fails too: max_call_retries = 2 retries are used up, no attempt 4.
    let retry2: String =
        sqlx::query_scalar("SELECT id::text FROM outbound_calls WHERE metadata->>'retry_of' = $1")
            .bind(&retry1)
            .fetch_one(&pool)
            .await
            .unwrap();
    let call3 = "c0ffee00-0000-4000-8000-00000000e203";
    let third = variant(
        "outbound-end-of-call-no-answer",
        &[(NA_CALL, call3), (ROW_B4, retry2.as_str())],
    );
    let (_, json) = post(&st, &third).await;
    assert_eq!(json["status"], "processed");
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbound_calls WHERE metadata->>'retry_of' = $1")
            .bind(&retry2)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(n, 0);
    let status: String =
        sqlx::query_scalar("SELECT status FROM outbound_calls WHERE id = $1::uuid")
            .bind(&retry2)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    // History of every attempt is kept: 4 seeded + 2 retries.
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM outbound_calls")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 6);

    // Voicemail: never retried.
    tell(&st, &["outbound-end-of-call-voicemail"], &[]).await;
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbound_calls WHERE metadata->>'retry_of' = $1")
            .bind(ROW_B3)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn retries_default_to_three_without_clinic_settings(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    sqlx::query("DELETE FROM clinic_settings")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE outbound_calls SET metadata = '{\"attempt\": 3}' WHERE id = $1::uuid")
        .bind(ROW_B4)
        .execute(&pool)
        .await
        .unwrap();
    let st = state(&pool);
    tell(&st, &["outbound-end-of-call-no-answer"], &[]).await;
    assert_retry(&pool, ROW_B4, 4, "2026-11-21T00:00:00").await;
}

#[sqlx::test(migrations = "./migrations")]
async fn critical_attention_marks_the_case_urgent(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    let st = state(&pool);
    tell(&st, &["outbound-end-of-call-critical"], &[]).await;
    let urgent: bool = sqlx::query_scalar("SELECT is_urgent FROM cases WHERE id = $1::uuid")
        .bind(CASE_C2)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(urgent);
    let others: i64 = sqlx::query_scalar("SELECT count(*) FROM cases WHERE is_urgent")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(others, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn synchronous_answers_have_the_shapes_vapi_expects(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    let st = state(&pool);
    let (status, json) = post(&st, &body("tool-calls")).await;
    assert_eq!(status, StatusCode::OK);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["toolCallId"], "call_Xk3lq9");
    assert_eq!(results[0]["name"], "check_availability");
    let first: Value = serde_json::from_str(results[0]["result"].as_str().unwrap()).unwrap();
    // The fixture asks for `yesterday`: past on any day.
    assert_eq!(first["error"], "past_date");
    assert_eq!(results[1]["toolCallId"], "call_Bq7mz2");
    let second: Value = serde_json::from_str(results[1]["result"].as_str().unwrap()).unwrap();
    assert_eq!(second["success"], true, "{second}");
    assert!(second["data"]["confirmation_number"]
        .as_str()
        .unwrap()
        .starts_with("ODIS-"));
    // A redelivered tool call still gets its answer.
    let (_, again) = post(&st, &body("tool-calls")).await;
    assert_eq!(again, json);
    let (_, json) = post(
        &st,
        br#"{"message":{"type":"tool-calls","toolCallList":"nope"}}"#,
    )
    .await;
    assert_eq!(json, json!({"results": []}));

    let (status, json) = post(&st, &body("transfer-destination-request")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["destination"]["type"], "number");
    assert_eq!(json["destination"]["number"], "+14155550199");
    assert_eq!(json["message"]["type"], "request-start");
    // Without emergency phone: the clinic's phone; unknown clinic: a spoken error.
    sqlx::query("UPDATE clinic_settings SET emergency_phone = NULL")
        .execute(&pool)
        .await
        .unwrap();
    let other = variant(
        "transfer-destination-request",
        &[("2026-11-20T18:32", "2026-11-20T18:33")],
    );
    let (_, json) = post(&st, &other).await;
    assert_eq!(json["destination"]["number"], "+14155550100");
    let unknown = variant(
        "transfer-destination-request",
        &[
            ("asst_inbound_fixture", "asst_nobody"),
            (IN_CALL, "c0ffee00-0000-4000-8000-00000000dead"),
        ],
    );
    let (status, json) = post(&st, &unknown).await;
    assert_eq!(status, StatusCode::OK);
    assert!(json["error"].is_string(), "{json}");

    let (status, json) = post(&st, &body("assistant-request")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(json["error"].is_string());

    let statuses = event_statuses(&pool).await;
    assert!(statuses.iter().all(|(_, s)| s == "skipped"), "{statuses:?}");
}

/// A message VAPI waits on is stored with its outcome in one statement; that row is what
/// processing the delivery writes, and processing it again (replay) changes nothing but the
/// attempt count.
#[sqlx::test(migrations = "./migrations")]
async fn synchronous_messages_are_stored_already_settled(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    let st = state(&pool);
    for name in [
        "tool-calls",
        "assistant-request",
        "transfer-destination-request",
    ] {
        let (status, _) = post(&st, &body(name)).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let (id, status, note, attempts, processed, clinic): (
            Uuid,
            String,
            Option<String>,
            i32,
            bool,
            Option<Uuid>,
        ) = sqlx::query_as(
            "SELECT id, status, last_error, attempts, processed_at IS NOT NULL, clinic_id
             FROM webhook_events WHERE event_type = $1",
        )
        .bind(name)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            (status.as_str(), attempts, processed, clinic),
            ("skipped", 1, true, None),
            "{name}"
        );
        assert_eq!(
            note.as_deref(),
            Some(format!("{name}: answered synchronously").as_str())
        );
        // Processing the stored delivery records exactly that outcome.
        let again = odis_worker::webhooks::inbox::process(&st, id)
            .await
            .unwrap();
        let odis_worker::webhooks::inbox::Processed::Done(outcome) = again else {
            panic!("{name}: {again:?}");
        };
        assert_eq!(
            (outcome.status, outcome.clinic_id, outcome.note),
            (EventStatus::Skipped, None, note),
            "{name}"
        );
    }
    // Redelivered: one row each, answered as a duplicate or with the same answer.
    let (_, again) = post(&st, &body("assistant-request")).await;
    assert!(again["error"].is_string(), "{again}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 3);
}

#[sqlx::test(migrations = "./migrations")]
async fn missing_required_fields_are_400_naming_the_field(pool: PgPool) {
    let st = state(&pool);
    let cases: [(&[u8], &str); 6] = [
        (br#"{"nope":1}"#, "message"),
        (br#"{"message":"x"}"#, "message"),
        (br#"{"message":{"call":{"id":"x"}}}"#, "message.type"),
        (
            br#"{"message":{"type":"status-update","status":"ringing"}}"#,
            "message.call",
        ),
        (
            br#"{"message":{"type":"end-of-call-report","call":{"type":"inboundPhoneCall"}}}"#,
            "message.call.id",
        ),
        (
            br#"{"message":{"type":"hang","call":{"id":42}}}"#,
            "message.call.id",
        ),
    ];
    for (b, field) in cases {
        let (status, json) = post(&st, b).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(b)
        );
        assert_eq!(json["field"], field, "{json}");
    }
    let invalid: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE status = 'invalid'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(invalid, 6, "verified deliveries are kept even when invalid");
}

/// xorshift64*: deterministic, dependency-free randomness for the fuzz test.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &[
    "message",
    "type",
    "call",
    "id",
    "status",
    "endedReason",
    "startedAt",
    "endedAt",
    "assistantId",
    "assistantOverrides",
    "metadata",
    "outbound_call_id",
    "artifact",
    "analysis",
    "structuredData",
    "structuredOutputs",
    "costs",
    "cost",
    "customer",
    "number",
    "toolCallList",
    "function",
    "name",
    "arguments",
    "messages",
    "transcript",
    "needs_attention",
    "attention_severity",
    "durationSeconds",
    "phoneNumber",
    "recordingUrl",
    "result",
    "attempt",
];
const STRINGS: &[&str] = &[
    "status-update",
    "end-of-call-report",
    "hang",
    "tool-calls",
    "assistant-request",
    "transfer-destination-request",
    "inboundPhoneCall",
    "outboundPhoneCall",
    "webCall",
    "ended",
    "in-progress",
    "queued",
    "customer-did-not-answer",
    "voicemail",
    "asst_inbound_fixture",
    "asst_outbound_fixture",
    "0f1c0000-0000-4000-8000-0000000000b4",
    "2026-11-20T22:05:00.000Z",
    "not a date",
    "critical",
    "true",
    "",
    "\u{0}",
    "💥",
    "-1",
];

fn random_json(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 4 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => json!((rng.next() as i64) >> rng.below(60)),
        3 => json!(f64::from(rng.below(100_000) as u32) / 7.0),
        4 => Value::String(rng.pick(STRINGS).to_string()),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(6))
                .map(|_| (rng.pick(KEYS).to_string(), random_json(rng, depth + 1)))
                .collect(),
        ),
    }
}

/// A VAPI-shaped envelope with random holes, wrong types and random values, so the fuzz
/// reaches the processors and not only the JSON parser.
fn random_envelope(rng: &mut Rng) -> Value {
    let mut call = json!({
        "id": format!("fuzz-{}", rng.below(20)),
        "type": rng.pick(&["inboundPhoneCall", "outboundPhoneCall", "webCall"]),
        "assistantId": rng.pick(&["asst_inbound_fixture", "asst_outbound_fixture", "x"]),
        "assistantOverrides": {"metadata": {"outbound_call_id": rng.pick(&[
            "0f1c0000-0000-4000-8000-0000000000b4", "0f1c0000-0000-4000-8000-0000000000b1", "nope"])}},
        "status": rng.pick(STRINGS),
        "endedReason": rng.pick(STRINGS),
    });
    let mut msg = json!({"type": rng.pick(STRINGS), "call": call.take()});
    for _ in 0..rng.below(6) {
        let key = rng.pick(KEYS).to_string();
        let value = random_json(rng, 1);
        if rng.below(2) == 0 {
            msg[key] = value;
        } else if let Some(c) = msg.get_mut("call").and_then(Value::as_object_mut) {
            c.insert(key, value);
        }
    }
    json!({ "message": msg })
}

#[sqlx::test(migrations = "./migrations")]
async fn random_bodies_never_produce_a_5xx(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    let st = state(&pool);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..500 {
        let len = rng.below(200) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let (status, _) = post(&st, &bytes).await;
        assert!(status.as_u16() < 500, "bytes #{i}: {status}");
    }
    for i in 0..500 {
        let v = if i % 2 == 0 {
            random_envelope(&mut rng)
        } else {
            random_json(&mut rng, 0)
        };
        let bytes = serde_json::to_vec(&v).unwrap();
        let (status, json) = post(&st, &bytes).await;
        assert!(status.as_u16() < 500, "json #{i} {v}: {status} {json}");
    }
    let failed: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT event_type, last_error FROM webhook_events WHERE status = 'failed'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(failed.is_empty(), "processing errors: {failed:?}");
}

#[sqlx::test(migrations = "./migrations")]
async fn calls_that_are_not_ours_are_skipped_and_chatter_writes_nothing(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    let st = state(&pool);
    // A dashboard web call: not inbound, no outbound metadata, no row → skipped, not unmatched.
    let web = br#"{"message":{"type":"status-update","status":"in-progress","call":{"id":"web-1","type":"webCall","assistantId":"asst_outbound_fixture"}}}"#;
    let (status, json) = post(&st, web).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "skipped", "{json}");
    for name in ["transcript", "speech-update", "conversation-update"] {
        let (_, json) = post(&st, &body(name)).await;
        assert_eq!(json["status"], "skipped", "{name}: {json}");
    }
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM inbound_calls) + (SELECT count(*) FROM call_analysis)
              + (SELECT count(*) FROM outbound_calls WHERE vapi_call_id IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rows, 0);
}

/// A row the dispatcher claimed, sent and retried once, then not answered: its retry row must
/// not inherit the claim, or the dispatcher refuses it and the stale-claim sweep fails it.
#[sqlx::test(migrations = "./migrations")]
async fn retry_row_of_a_dispatched_call_carries_no_dispatch_keys(pool: PgPool) {
    seed::vapi_fixture_rows(&pool).await;
    let claim = serde_json::json!({
        odis_worker::domain::dispatch_meta::CLAIMED_AT: "2026-11-20T22:00:00Z",
        odis_worker::domain::dispatch_meta::CLAIMED_BY: "worker-1",
        odis_worker::domain::dispatch_meta::SENDING_AT: "2026-11-20T22:00:01Z",
        odis_worker::domain::dispatch_meta::RETRY_AT: "2026-11-20T21:59:00Z",
        odis_worker::domain::dispatch_meta::RETRIES: 1,
        "keep_me": "yes",
    });
    sqlx::query(
        "UPDATE outbound_calls SET metadata = COALESCE(metadata, '{}'::jsonb) || $2 WHERE id = $1::uuid",
    )
    .bind("0f1c0000-0000-4000-8000-0000000000b4")
    .bind(&claim)
    .execute(&pool)
    .await
    .unwrap();

    let st = state(&pool);
    let (status, json) = send(&st, vapi_request(&body("outbound-end-of-call-no-answer"))).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["status"], "processed", "{json}");

    let metas: Vec<Value> =
        sqlx::query_scalar("SELECT metadata FROM outbound_calls WHERE metadata->>'retry_of' = $1")
            .bind("0f1c0000-0000-4000-8000-0000000000b4")
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
