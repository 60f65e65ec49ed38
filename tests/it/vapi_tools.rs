//! The inbound voice tools through the real router (`POST /webhooks/vapi`, `tool-calls`):
//! availability (blocked overlaps, capacity, DST, a half-hour zone), booking that never
//! overbooks (20 concurrent bookings of a capacity-2 slot), the hold lifecycle (confirmed by
//! the end-of-call report or the sweeper, expired by the sweeper), verify / cancel / reschedule
//! with their audit rows, messages, emergency triage and its Slack alert (fake Slack on
//! loopback), refills, clinic hours, every error code, and idempotent redeliveries.

// Row tuples read inline next to their SELECT are easier to check than named aliases.
#![allow(clippy::type_complexity)]

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use odis_worker::jobs::slack_alert::SlackAlert;
use odis_worker::jobs::JobKind;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::app::{context, count_rows, send, state, AppState};
use crate::helpers::seed::{
    self, AppointmentOpts, AssistantMappingOpts, ClinicOpts, ScheduleConfigOpts,
};
use crate::helpers::sign::vapi_request;

const ASSISTANT: &str = "asst_tools";

/// A clinic in `tz` whose inbound assistant is [`ASSISTANT`].
async fn clinic(pool: &PgPool, tz: &str) -> Uuid {
    let id = seed::clinic(pool, ClinicOpts::named("Tools Animal Hospital", tz)).await;
    seed::assistant_mapping(
        pool,
        AssistantMappingOpts {
            clinic_id: id,
            assistant_id: ASSISTANT.into(),
            assistant_type: None,
            ..Default::default()
        },
    )
    .await;
    id
}

/// A `tool-calls` message of inbound call `call_id` with one tool call.
fn tool_body(call_id: &str, tool_call_id: &str, name: &str, args: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"message": {
        "type": "tool-calls",
        "call": {"id": call_id, "type": "inboundPhoneCall", "assistantId": ASSISTANT},
        "toolCallList": [{"id": tool_call_id, "type": "function",
                          "function": {"name": name, "arguments": args.to_string()}}]
    }}))
    .unwrap()
}

/// Runs one tool and returns its parsed `result`.
async fn tool(st: &AppState, call_id: &str, name: &str, args: Value) -> Value {
    let tc = format!("tc-{}", Uuid::new_v4());
    tool_as(st, call_id, &tc, name, args).await
}

async fn tool_as(st: &AppState, call_id: &str, tc: &str, name: &str, args: Value) -> Value {
    let (status, body) = send(st, vapi_request(&tool_body(call_id, tc, name, args))).await;
    assert_eq!(status, 200, "{body}");
    let entry = &body["results"][0];
    assert_eq!(entry["toolCallId"], tc);
    let text = entry["result"]
        .as_str()
        .unwrap_or_else(|| panic!("no result: {body}"));
    assert!(!text.contains('\n'));
    serde_json::from_str(text).unwrap()
}

/// The first `weekday` at least `ahead` days after today in `tz`.
fn upcoming(tz: Tz, weekday: Weekday, ahead: u64) -> NaiveDate {
    let mut d = Utc::now().with_timezone(&tz).date_naive() + Days::new(ahead);
    while d.weekday() != weekday {
        d = d + Days::new(1);
    }
    d
}

fn at(tz: Tz, d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn times(result: &Value) -> Vec<String> {
    result["data"]["times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["time_12h"].as_str().unwrap().to_string())
        .collect()
}

/// A clinic closed on Mondays, open 09:00–12:00 on Tuesdays and Wednesdays in 30-minute slots
/// (other days: the default 08:00–18:00), capacity `capacity`.
async fn tuesday_clinic(pool: &PgPool, capacity: i32) -> (Uuid, Tz, NaiveDate) {
    let tz: Tz = "America/New_York".parse().unwrap();
    let id = clinic(pool, "America/New_York").await;
    seed::schedule_config(
        pool,
        ScheduleConfigOpts {
            clinic_id: id,
            daily_hours: Some(
                json!({"1": {"enabled": false}, "2": {"enabled": true, "open": "09:00", "close": "12:00"},
                                     "3": {"enabled": true, "open": "09:00", "close": "12:00"}}),
            ),
            slot_duration_minutes: Some(30),
            slot_capacity: Some(capacity),
            ..Default::default()
        },
    )
    .await;
    (id, tz, upcoming(tz, Weekday::Tue, 10))
}

#[sqlx::test(migrations = "./migrations")]
async fn availability_counts_capacity_and_blocks_overlapping_slots(pool: PgPool) {
    let (clinic_id, tz, day) = tuesday_clinic(&pool, 2).await;
    seed::blocked_period(&pool, clinic_id, "Staff meeting", "10:10", "10:40", &[2]).await;
    for _ in 0..2 {
        let o = AppointmentOpts {
            clinic_id,
            start: at(tz, day, 9, 0),
            end: at(tz, day, 9, 30),
            ..Default::default()
        };
        seed::appointment(&pool, o).await;
    }
    let o = AppointmentOpts {
        clinic_id,
        start: at(tz, day, 9, 30),
        end: at(tz, day, 10, 0),
        ..Default::default()
    };
    seed::appointment(&pool, o).await;
    // A cancelled appointment and a deleted one take no place.
    let o = AppointmentOpts {
        clinic_id,
        start: at(tz, day, 11, 0),
        end: at(tz, day, 11, 30),
        status: Some("cancelled".into()),
        ..Default::default()
    };
    seed::appointment(&pool, o).await;
    let st = state(&pool);

    let r = tool(
        &st,
        "call-avail",
        "check_availability",
        json!({"date": day.to_string(), "include_blocked": true}),
    )
    .await;
    assert_eq!(r["success"], true, "{r}");
    // 09:00 full; 10:00 and 10:30 overlap the 10:10–10:40 block (the old check missed 10:00).
    assert_eq!(times(&r), ["9:30 AM", "11:00 AM", "11:30 AM"]);
    assert_eq!(r["data"]["times"][0]["slots_remaining"], 1);
    assert_eq!(r["data"]["times"][1]["slots_remaining"], 2);
    assert_eq!(r["data"]["times"][0]["time_24h"], "09:30:00");
    let blocked: Vec<&str> = r["data"]["blocked_times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["time_12h"].as_str().unwrap())
        .collect();
    assert_eq!(blocked, ["10:00 AM", "10:30 AM"]);
    let spoken = format!("Tuesday, {} {}", month(day), day.day());
    assert_eq!(r["data"]["formatted_date"], spoken);
    assert_eq!(r["message"], format!("I have availability on {spoken}. Times include 9:30 AM, 11:00 AM, 11:30 AM. Which works best?"));

    // A closed day.
    let monday = day - Days::new(1);
    let r = tool(
        &st,
        "call-avail",
        "checkAvailability",
        json!({"date": monday.to_string()}),
    )
    .await;
    assert_eq!(r["data"]["available"], false);
    assert!(r["message"]
        .as_str()
        .unwrap()
        .starts_with("I don't have any appointments available on Monday"));

    // The range: one query per range, the first open day listed in full.
    let r = tool(
        &st,
        "call-avail",
        "check-availability-range",
        json!({"start_date": monday.to_string(), "days_ahead": 3}),
    )
    .await;
    assert_eq!(r["success"], true);
    assert_eq!(r["data"]["date_range"]["days_checked"], 3);
    assert_eq!(r["data"]["summary"]["days_with_availability"], 2);
    assert_eq!(r["data"]["summary"]["total_available_slots"], 3 + 6);
    assert_eq!(r["data"]["first_available"]["date"], day.to_string());
    assert_eq!(r["data"]["first_available"]["total_times"], 3);
    assert_eq!(r["data"]["availability"][0]["available_slots"], 0);
    assert_eq!(r["data"]["availability"][1]["earliest_time"], "9:30 AM");
    assert!(r["message"].as_str().unwrap().starts_with(&format!("I have availability on Tuesday, {} {}. Times include: 9:30 AM, 11:00 AM, 11:30 AM. We have 2 days", month(day), day.day())));
    // Days ahead are clamped to 1–14.
    let r = tool(
        &st,
        "call-avail",
        "check_availability_range",
        json!({"days_ahead": 40}),
    )
    .await;
    assert_eq!(r["data"]["date_range"]["days_checked"], 14);
}

/// The availability tools read the busy intervals of the days around today with the clinic
/// (one query) and the farther days with a query of their own: both count the same
/// appointments and live holds.
#[sqlx::test(migrations = "./migrations")]
async fn near_and_far_days_count_appointments_and_holds_alike(pool: PgPool) {
    let (clinic_id, tz, _) = tuesday_clinic(&pool, 1).await;
    let near = upcoming(tz, Weekday::Tue, 1);
    let far = upcoming(tz, Weekday::Tue, 40);
    for day in [near, far] {
        let o = AppointmentOpts {
            clinic_id,
            start: at(tz, day, 9, 0),
            end: at(tz, day, 9, 30),
            ..Default::default()
        };
        seed::appointment(&pool, o).await;
    }
    let st = state(&pool);
    for day in [near, far] {
        let booked = tool(
            &st,
            "call-near-far",
            "book_appointment",
            booking_args(day, "10:00", "Ann"),
        )
        .await;
        assert_eq!(booked["success"], true, "{booked}");
        let r = tool(
            &st,
            "call-near-far",
            "check_availability",
            json!({"date": day.to_string()}),
        )
        .await;
        assert_eq!(
            times(&r),
            ["9:30 AM", "10:30 AM", "11:00 AM", "11:30 AM"],
            "{day}"
        );
    }
    let r = tool(
        &st,
        "call-near-far",
        "check_availability_range",
        json!({"days_ahead": 14}),
    )
    .await;
    let listed = r["data"]["availability"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == near.to_string())
        .cloned()
        .unwrap();
    assert_eq!(listed["available_slots"], 4, "{r}");
    let r = tool(
        &st,
        "call-near-far",
        "check_availability_range",
        json!({"start_date": far.to_string(), "days_ahead": 1}),
    )
    .await;
    assert_eq!(r["data"]["availability"][0]["available_slots"], 4, "{r}");
}

fn month(d: NaiveDate) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][d.month0() as usize]
}

#[sqlx::test(migrations = "./migrations")]
async fn every_error_code(pool: PgPool) {
    let (clinic_id, tz, day) = tuesday_clinic(&pool, 2).await;
    let st = state(&pool);
    let cases: &[(&str, Value, &str)] = &[
        ("check_availability", json!({}), "validation_error"),
        (
            "check_availability",
            json!({"date": "someday"}),
            "invalid_date",
        ),
        // Past on every day of the year (an ISO date of an old year is read as this year's).
        (
            "check_availability",
            json!({"date": "yesterday"}),
            "past_date",
        ),
        (
            "check_availability_range",
            json!({"start_date": "someday", "days_ahead": 3}),
            "invalid_date",
        ),
        (
            "book_appointment",
            json!({"date": "tomorrow"}),
            "validation_error",
        ),
        (
            "book_appointment",
            json!({"date": "Feb 30", "time": "9 am", "client_name": "A", "client_phone": "1", "patient_name": "B"}),
            "invalid_date",
        ),
        (
            "book_appointment",
            json!({"date": day.to_string(), "time": "25:00", "client_name": "A", "client_phone": "1", "patient_name": "B"}),
            "invalid_time",
        ),
        (
            "book_appointment",
            json!({"date": "yesterday", "time": "9 am", "client_name": "A", "client_phone": "1", "patient_name": "B"}),
            "past_date",
        ),
        (
            "book_appointment",
            json!({"date": day.to_string(), "time": "9:10 am", "client_name": "A", "client_phone": "1", "patient_name": "B"}),
            "slot_not_available",
        ),
        (
            "verify_appointment",
            json!({"owner_name": "A"}),
            "validation_error",
        ),
        (
            "cancel_appointment",
            json!({"owner_name": "A", "appointment_date": day.to_string()}),
            "validation_error",
        ),
        (
            "cancel_appointment",
            json!({"owner_name": "A", "patient_name": "B", "appointment_date": day.to_string()}),
            "appointment_not_found",
        ),
        (
            "reschedule_appointment",
            json!({"owner_name": "A", "patient_name": "B", "appointment_date": day.to_string()}),
            "validation_error",
        ),
        (
            "reschedule_appointment",
            json!({"owner_name": "A", "patient_name": "B", "appointment_date": day.to_string(), "new_date": day.to_string(), "new_time": "9 am"}),
            "appointment_not_found",
        ),
        (
            "leave_message",
            json!({"client_name": "A"}),
            "validation_error",
        ),
        (
            "log_emergency_triage",
            json!({"caller_name": "A", "caller_phone": "1", "pet_name": "B", "symptoms": "x", "urgency": "meh", "action_taken": "sent_to_er"}),
            "validation_error",
        ),
        (
            "create_refill_request",
            json!({"client_name": "A"}),
            "validation_error",
        ),
        ("get_clinic_hours", json!({}), "hours_not_configured"),
    ];
    for (name, args, code) in cases {
        let r = tool(&st, "call-errors", name, args.clone()).await;
        assert_eq!(r["success"], false, "{name} {args}: {r}");
        assert_eq!(r["error"], *code, "{name} {args}: {r}");
        assert!(!r["message"].as_str().unwrap().is_empty());
    }
    let r = tool(
        &st,
        "call-errors",
        "book_appointment",
        json!({"date": "tomorrow"}),
    )
    .await;
    assert_eq!(r["message"], "I need some information to book your appointment. Please provide the date, time, your name, phone number, and your pet's name.");
    assert_eq!(
        r["data"]["missing"],
        json!(["time", "client_name", "client_phone", "patient_name"])
    );

    // Unknown tool: an `error` entry, the others still answered, in order.
    let body = serde_json::to_vec(&json!({"message": {"type": "tool-calls",
        "call": {"id": "call-errors", "type": "inboundPhoneCall", "assistantId": ASSISTANT},
        "toolCallList": [
            {"id": "a", "function": {"name": "order_pizza", "arguments": "{}"}},
            {"id": "b", "function": {"name": "get_clinic_hours", "arguments": {}}}]}}))
    .unwrap();
    let (_, out) = send(&st, vapi_request(&body)).await;
    assert_eq!(out["results"][0]["toolCallId"], "a");
    assert!(out["results"][0]["error"]
        .as_str()
        .unwrap()
        .contains("Unknown tool \"order_pizza\""));
    assert!(out["results"][0].get("result").is_none());
    assert_eq!(out["results"][1]["name"], "get_clinic_hours");
    assert!(out["results"][1]["result"].is_string());

    // Unknown assistant: clinic_not_found, and no row anywhere.
    let body = serde_json::to_vec(&json!({"message": {"type": "tool-calls",
        "call": {"id": "call-x", "type": "inboundPhoneCall", "assistantId": "asst_nobody"},
        "toolCallList": [{"id": "c", "function": {"name": "book_appointment", "arguments": {}}}]}}))
    .unwrap();
    let (_, out) = send(&st, vapi_request(&body)).await;
    let r: Value = serde_json::from_str(out["results"][0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(r["error"], "clinic_not_found");
    let n = count_rows(&pool, "vapi_bookings").await;
    assert_eq!(n, 0);
    let _ = (clinic_id, tz);

    assert_database_error(&pool, &st, day).await;
}

/// `database_error`: the booking's insert fails in the database (a trigger refuses it, in this
/// test's own database). The caller hears the tool's apology, nothing is written, and the
/// answer is not stored: the same tool call, redelivered once the database is back, books.
async fn assert_database_error(pool: &PgPool, st: &AppState, day: NaiveDate) {
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
         CREATE TRIGGER refuse_write BEFORE INSERT ON vapi_bookings
           FOR EACH STATEMENT EXECUTE FUNCTION refuse_write();",
    )
    .execute(pool)
    .await
    .unwrap();
    let args = booking_args(day, "9 am", "Maria Lopez");
    let r = tool_as(st, "call-db", "tc-db", "book_appointment", args.clone()).await;
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(r["error"], "database_error");
    assert_eq!(
        r["message"],
        "I'm having trouble booking your appointment right now. Please try again in a moment."
    );
    let written: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM vapi_bookings), (SELECT count(*) FROM vapi_tool_results WHERE vapi_call_id = 'call-db'),
                (SELECT count(*) FROM inbound_calls WHERE vapi_call_id = 'call-db')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        written,
        (0, 0, 0),
        "the whole booking transaction rolled back"
    );
    sqlx::raw_sql("DROP TRIGGER refuse_write ON vapi_bookings")
        .execute(pool)
        .await
        .unwrap();
    let r = tool_as(st, "call-db", "tc-db", "book_appointment", args).await;
    assert_eq!(r["success"], true, "{r}");
}

fn booking_args(day: NaiveDate, time: &str, who: &str) -> Value {
    json!({"date": day.to_string(), "time": time, "client_name": who, "client_phone": "+14155550142",
           "patient_name": "Luna", "species": "dog", "breed": "Beagle", "reason": "Vaccines"})
}

#[sqlx::test(migrations = "./migrations")]
async fn twenty_concurrent_bookings_of_a_capacity_2_slot_make_exactly_2(pool: PgPool) {
    let (clinic_id, _tz, day) = tuesday_clinic(&pool, 2).await;
    let st = state(&pool);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let st = st.clone();
            tokio::spawn(async move {
                tool(
                    &st,
                    &format!("call-race-{i}"),
                    "book_appointment",
                    booking_args(day, "10:00 am", &format!("Owner {i}")),
                )
                .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let booked: Vec<&Value> = results.iter().filter(|r| r["success"] == true).collect();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|r| r["error"] == "slot_not_available")
        .collect();
    assert_eq!(booked.len(), 2, "{results:?}");
    assert_eq!(refused.len(), 18);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM vapi_bookings WHERE clinic_id = $1")
        .bind(clinic_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 2);
    for b in &booked {
        let n = b["data"]["confirmation_number"].as_str().unwrap();
        assert!(
            n.len() == 13
                && n.starts_with("ODIS-")
                && n[5..].chars().all(|c| c.is_ascii_hexdigit()),
            "{n}"
        );
    }
    // Alternatives offered are really open.
    let open = times(
        &tool(
            &st,
            "call-race-check",
            "check_availability",
            json!({"date": day.to_string()}),
        )
        .await,
    );
    assert!(!open.contains(&"10:00 AM".to_string()));
    for r in refused {
        let alts = r["data"]["alternative_times"].as_array().unwrap();
        assert_eq!(alts.len(), 3, "{r}");
        for a in alts {
            assert!(
                open.contains(&a["time"].as_str().unwrap().to_string()),
                "{a} not in {open:?}"
            );
        }
        assert!(r["message"]
            .as_str()
            .unwrap()
            .starts_with("I'm sorry, 10:00 AM on Tuesday"));
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_redelivered_booking_answers_the_same_and_books_once(pool: PgPool) {
    let (_clinic, _tz, day) = tuesday_clinic(&pool, 2).await;
    let st = state(&pool);
    let body = tool_body(
        "call-dup",
        "tc-dup",
        "book_appointment",
        booking_args(day, "9 am", "Maria Lopez"),
    );
    let (_, first) = send(&st, vapi_request(&body)).await;
    let (_, again) = send(&st, vapi_request(&body)).await;
    assert_eq!(first, again);
    let r: Value = serde_json::from_str(first["results"][0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(r["success"], true, "{r}");
    let n = count_rows(&pool, "vapi_bookings").await;
    assert_eq!(n, 1);
    // Every invocation is in the inbox.
    let events = count_rows(&pool, "webhook_events WHERE event_type = 'tool-calls'").await;
    assert_eq!(events, 1);
}

async fn booking_row(
    pool: &PgPool,
    number: &str,
) -> (
    String,
    Option<DateTime<Utc>>,
    Option<Uuid>,
    Option<String>,
    Value,
    DateTime<Utc>,
) {
    sqlx::query_as(
        "SELECT status, hold_expires_at, inbound_call_id, breed, metadata, lower(time_range)
         FROM vapi_bookings WHERE confirmation_number = $1",
    )
    .bind(number)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn report(call_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"message": {
        "type": "end-of-call-report", "endedReason": "customer-ended-call",
        "startedAt": "2026-11-30T17:00:00Z", "endedAt": "2026-11-30T17:04:00Z",
        "call": {"id": call_id, "type": "inboundPhoneCall", "assistantId": ASSISTANT,
                 "customer": {"number": "+14155550142"}},
        "artifact": {"transcript": "AI: Hello\nUser: I'd like to book Luna in.\nAI: Done.",
                     "messages": [{"role": "bot", "message": "Hello"}, {"role": "user", "message": "Book Luna"},
                                  {"role": "bot", "message": "Done"}, {"role": "user", "message": "Thanks"}]},
        "analysis": {"summary": "Booked.", "structuredData": {"card_type": "callback",
                     "callback_data": {"caller_name": "Someone Else", "phone_number": "+15550000000", "pet_name": "Other"}}}
    }}))
    .unwrap()
}

async fn call_row(
    pool: &PgPool,
    call_id: &str,
) -> (
    Uuid,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
) {
    sqlx::query_as(
        "SELECT clinic_id, outcome, extracted_caller_name, extracted_caller_phone, extracted_pet_name, status,
                metadata->'appointment'->>'patient_name'
         FROM inbound_calls WHERE vapi_call_id = $1",
    )
    .bind(call_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_end_of_call_report_confirms_the_hold_in_any_order(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let (clinic_id, tz, day) = tuesday_clinic(&pool, 2).await;
    let st = state(&pool);
    // Tool first, report second.
    let r = tool(
        &st,
        "call-order-a",
        "book_appointment",
        booking_args(day, "9 am", "Maria Lopez"),
    )
    .await;
    let number_a = r["data"]["confirmation_number"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, hold, inbound, breed, meta, start) = booking_row(&pool, &number_a).await;
    assert_eq!(status, "pending");
    let hold = hold.unwrap();
    assert!(
        hold > Utc::now() + chrono::Duration::minutes(4)
            && hold <= Utc::now() + chrono::Duration::minutes(5)
    );
    assert_eq!(breed.as_deref(), Some("Beagle"));
    assert_eq!(start, at(tz, day, 9, 0));
    assert_eq!(meta["vapi_call_id"], "call-order-a");
    let (row_clinic, ..) = call_row(&pool, "call-order-a").await;
    assert_eq!(row_clinic, clinic_id);
    let row_id: Uuid =
        sqlx::query_scalar("SELECT id FROM inbound_calls WHERE vapi_call_id = 'call-order-a'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(inbound, Some(row_id));
    let (s, _) = send(&st, vapi_request(&report("call-order-a"))).await;
    assert_eq!(s, 200);
    let (status, hold, ..) = booking_row(&pool, &number_a).await;
    assert_eq!((status.as_str(), hold), ("confirmed", None));

    // Report first, tool second (the sweeper confirms: the report came before the booking).
    let (s, _) = send(&st, vapi_request(&report("call-order-b"))).await;
    assert_eq!(s, 200);
    let r = tool(
        &st,
        "call-order-b",
        "book_appointment",
        booking_args(day, "9:30 am", "Maria Lopez"),
    )
    .await;
    let number_b = r["data"]["confirmation_number"]
        .as_str()
        .unwrap()
        .to_string();
    let summary = odis_worker::jobs::sweep::run(&context(&pool, crate::helpers::app::NO_PROVIDERS))
        .await
        .unwrap();
    assert_eq!(summary.holds_confirmed, 1);
    assert_eq!(booking_row(&pool, &number_b).await.0, "confirmed");

    // Same final call row either way: the tool's outcome and caller win over the card.
    let a = call_row(&pool, "call-order-a").await;
    let b = call_row(&pool, "call-order-b").await;
    assert_eq!(a, b);
    assert_eq!(a.1.as_deref(), Some("appointment_booked"));
    assert_eq!(a.2.as_deref(), Some("Maria Lopez"));
    assert_eq!(a.3.as_deref(), Some("+14155550142"));
    assert_eq!(a.4.as_deref(), Some("Luna"));
    assert_eq!(a.5, "ended");
    // A later status-update keeps it.
    let update = serde_json::to_vec(
        &json!({"message": {"type": "status-update", "status": "ended",
        "call": {"id": "call-order-a", "type": "inboundPhoneCall", "assistantId": ASSISTANT}}}),
    )
    .unwrap();
    send(&st, vapi_request(&update)).await;
    assert_eq!(call_row(&pool, "call-order-a").await, a);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_expired_hold_frees_its_slot_and_a_live_call_keeps_it(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let (clinic_id, _tz, day) = tuesday_clinic(&pool, 1).await;
    let st = state(&pool);
    let ctx = context(&pool, crate::helpers::app::NO_PROVIDERS);
    let first = tool(
        &st,
        "call-exp-1",
        "book_appointment",
        booking_args(day, "11 am", "A One"),
    )
    .await;
    assert_eq!(first["success"], true);
    let full = tool(
        &st,
        "call-exp-2",
        "book_appointment",
        booking_args(day, "11 am", "B Two"),
    )
    .await;
    assert_eq!(full["error"], "slot_not_available");
    // A live call keeps its hold alive past the 5 minutes.
    sqlx::query("UPDATE vapi_bookings SET hold_expires_at = now() + interval '10 seconds'")
        .execute(&pool)
        .await
        .unwrap();
    let s = odis_worker::jobs::sweep::run(&ctx).await.unwrap();
    assert_eq!((s.holds_extended, s.holds_expired), (1, 0));
    // The call never reports its end; its hold runs out.
    sqlx::query("UPDATE vapi_bookings SET hold_expires_at = now() - interval '1 second', created_at = now() - interval '2 hours'")
        .execute(&pool).await.unwrap();
    assert!(
        times(
            &tool(
                &st,
                "call-exp-x",
                "check_availability",
                json!({"date": day.to_string()})
            )
            .await
        )
        .contains(&"11:00 AM".to_string()),
        "an expired hold no longer counts, even before the sweep"
    );
    let s = odis_worker::jobs::sweep::run(&ctx).await.unwrap();
    assert_eq!(
        (s.holds_confirmed, s.holds_extended, s.holds_expired),
        (0, 0, 1)
    );
    let status: String =
        sqlx::query_scalar("SELECT status FROM vapi_bookings WHERE clinic_id = $1")
            .bind(clinic_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "expired");
    let again = tool(
        &st,
        "call-exp-2",
        "book_appointment",
        booking_args(day, "11 am", "B Two"),
    )
    .await;
    assert_eq!(again["success"], true, "{again}");
    // A report arriving after the hold ran out expires it instead of confirming.
    sqlx::query("UPDATE vapi_bookings SET hold_expires_at = now() - interval '1 second' WHERE status = 'pending'").execute(&pool).await.unwrap();
    send(&st, vapi_request(&report("call-exp-2"))).await;
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM vapi_bookings ORDER BY created_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(statuses, ["expired", "expired"]);
}

/// A 30-minute calendar appointment of `owner` and `pet` from `start`.
async fn half_hour_appointment(
    pool: &PgPool,
    clinic_id: Uuid,
    start: DateTime<Utc>,
    owner: &str,
    pet: &str,
) -> Uuid {
    seed::appointment(
        pool,
        AppointmentOpts {
            clinic_id,
            start,
            end: start + chrono::Duration::minutes(30),
            client_name: Some(owner.into()),
            patient_name: Some(pet.into()),
            ..Default::default()
        },
    )
    .await
}

/// Names match by whole words or close spelling, never by a fragment of a word: a stored "Li"
/// is not the caller's "Elizabeth Lin", and cancelling for "Li" must not cancel her appointment.
/// On a PIMS clinic the cancel says staff will mirror it and flags it for them.
#[sqlx::test(migrations = "./migrations")]
async fn names_match_by_whole_words_and_pims_cancels_are_flagged(pool: PgPool) {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let clinic_id = clinic(&pool, "America/Chicago").await;
    sqlx::query("UPDATE clinics SET pims_type = 'avimark' WHERE id = $1")
        .bind(clinic_id)
        .execute(&pool)
        .await
        .unwrap();
    let day = upcoming(tz, Weekday::Tue, 10);
    let start = at(tz, day, 9, 0);
    let lin = half_hour_appointment(&pool, clinic_id, start, "Elizabeth Lin", "Maxwell").await;
    let st = state(&pool);
    let date = day.to_string();
    for (owner, pet, found) in [
        ("Li", "Maxwell", false),
        ("Elizabeth Lin", "Ma", false),
        ("Lin", "maxwell", true),
        ("Elizabeth", "MAXWELL", true),
        ("Elisabeth Lin", "Maxwell", true),
    ] {
        let r = tool(
            &st,
            "call-names",
            "verify_appointment",
            json!({"owner_name": owner, "patient_name": pet, "appointment_date": date}),
        )
        .await;
        let want = if found { "FOUND" } else { "DOES_NOT_EXIST" };
        assert_eq!(r["data"]["status"], want, "{owner} / {pet}: {r}");
    }
    let miss = tool(
        &st,
        "call-names",
        "cancel_appointment",
        json!({"owner_name": "Li", "patient_name": "Maxwell", "appointment_date": date}),
    )
    .await;
    assert_eq!(miss["error"], "appointment_not_found", "{miss}");
    let live: String = sqlx::query_scalar("SELECT status FROM schedule_appointments WHERE id = $1")
        .bind(lin)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_ne!(live, "cancelled");

    let r = tool(
        &st,
        "call-names",
        "cancel_appointment",
        json!({"owner_name": "Lin", "patient_name": "Maxwell", "appointment_date": date}),
    )
    .await;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["data"]["pims_update_required"], true);
    let message = r["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Our team will also update it in the clinic's scheduling system."),
        "{message}"
    );
    let flagged: Option<bool> = sqlx::query_scalar(
        "SELECT (metadata -> 'appointment' ->> 'pims_update_required')::boolean \
         FROM inbound_calls WHERE vapi_call_id = 'call-names'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(flagged, Some(true));
}

#[sqlx::test(migrations = "./migrations")]
async fn verify_and_cancel_on_the_clinic_local_day_with_audit(pool: PgPool) {
    let tz: Tz = "America/Los_Angeles".parse().unwrap();
    let clinic_id = clinic(&pool, "America/Los_Angeles").await;
    let day = upcoming(tz, Weekday::Thu, 10);
    // 16:30 Pacific is the next day in UTC: the old lookup (UTC date) missed it.
    let start = at(tz, day, 16, 30);
    let appt = half_hour_appointment(&pool, clinic_id, start, "Maria Lopez", "Luna").await;
    let st = state(&pool);
    let r = tool(&st, "call-cancel", "verify_appointment",
        json!({"owner_name": "maria lopes", "patient_name": "LUNA", "appointment_date": day.to_string()})).await;
    assert_eq!(r["success"], true);
    assert_eq!(r["data"]["status"], "FOUND");
    assert_eq!(r["data"]["appointment_id"], appt.to_string());
    assert_eq!(r["data"]["formatted_time"], "4:30 PM");
    assert_eq!(
        r["message"],
        format!(
            "Found appointment for Luna on Thursday, {} {} at 4:30 PM.",
            month(day),
            day.day()
        )
    );
    let miss = tool(&st, "call-cancel", "verify_appointment",
        json!({"owner_name": "Maria Lopez", "patient_name": "Luna", "appointment_date": (day + Days::new(1)).to_string()})).await;
    assert_eq!(miss["data"]["status"], "DOES_NOT_EXIST");

    let r = tool(&st, "call-cancel", "cancel_appointment",
        json!({"owner_name": "Lopez", "patient_name": "luna", "appointment_date": day.to_string(), "reason": "Pet is better"})).await;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["data"]["cancelled"], true);
    let status: String =
        sqlx::query_scalar("SELECT status FROM schedule_appointments WHERE id = $1")
            .bind(appt)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "cancelled");
    let audit: (Uuid, String, Option<Uuid>, Option<String>, Option<String>, bool) = sqlx::query_as(
        "SELECT clinic_id, action, appointment_id, reason, vapi_call_id, lower(old_time_range) = $1 FROM appointment_audit_log")
        .bind(start).fetch_one(&pool).await.unwrap();
    assert_eq!(
        audit,
        (
            clinic_id,
            "cancel".into(),
            Some(appt),
            Some("Pet is better".into()),
            Some("call-cancel".into()),
            true
        )
    );
    assert_eq!(
        call_row(&pool, "call-cancel").await.1.as_deref(),
        Some("appointment_cancelled")
    );
    // Nothing left to cancel.
    let again = tool(
        &st,
        "call-cancel",
        "cancel_appointment",
        json!({"owner_name": "Lopez", "patient_name": "luna", "appointment_date": day.to_string()}),
    )
    .await;
    assert_eq!(again["error"], "appointment_not_found");

    // A booking is cancelled with cancelled_at / cancelled_reason.
    let b = tool(
        &st,
        "call-cancel-2",
        "book_appointment",
        booking_args(day, "10 am", "Jo Park"),
    )
    .await;
    assert_eq!(b["success"], true, "{b}");
    let r = tool(&st, "call-cancel-2", "cancel_appointment",
        json!({"owner_name": "Jo Park", "patient_name": "Luna", "appointment_date": day.to_string()})).await;
    assert_eq!(r["data"]["source"], "booking");
    let (st2, at_, reason): (String, Option<DateTime<Utc>>, Option<String>) =
        sqlx::query_as("SELECT status, cancelled_at, cancelled_reason FROM vapi_bookings")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (st2.as_str(), at_.is_some(), reason.as_deref()),
        ("cancelled", true, Some("Cancelled via phone"))
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn reschedule_is_atomic(pool: PgPool) {
    let (clinic_id, tz, day) = tuesday_clinic(&pool, 1).await;
    let st = state(&pool);
    let original = tool(
        &st,
        "call-resched",
        "book_appointment",
        booking_args(day, "9 am", "Maria Lopez"),
    )
    .await;
    let original_id: Uuid = original["data"]["booking_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    seed::appointment(
        &pool,
        AppointmentOpts {
            clinic_id,
            start: at(tz, day, 11, 0),
            end: at(tz, day, 11, 30),
            client_name: Some("Other".into()),
            patient_name: Some("Rex".into()),
            ..Default::default()
        },
    )
    .await;
    let ask = |time: &str| {
        json!({"owner_name": "Maria Lopez", "patient_name": "Luna", "appointment_date": day.to_string(),
                                  "new_date": day.to_string(), "new_time": time, "reason": "Work"})
    };
    // Into a full slot: nothing changes, alternatives offered.
    let r = tool(&st, "call-resched", "reschedule_appointment", ask("11 am")).await;
    assert_eq!(r["error"], "slot_not_available", "{r}");
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("Your original appointment is still in place."));
    assert!(!r["data"]["alternative_times"]
        .as_array()
        .unwrap()
        .is_empty());
    let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, status FROM vapi_bookings")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows, [(original_id, "pending".to_string())]);
    let audits = count_rows(&pool, "appointment_audit_log").await;
    assert_eq!(audits, 0);

    // Into an open slot: old cancelled, new held, linked, audited.
    let r = tool(
        &st,
        "call-resched",
        "reschedule_appointment",
        ask("11:30 am"),
    )
    .await;
    assert_eq!(r["success"], true, "{r}");
    let new_id: Uuid = r["data"]["new_booking_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (old_status, old_reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, cancelled_reason FROM vapi_bookings WHERE id = $1")
            .bind(original_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(old_status, "cancelled");
    assert!(old_reason.unwrap().starts_with("Rescheduled to"));
    let (status, from, orig_start, new_start, reason): (String, Option<Uuid>, Option<DateTime<Utc>>, DateTime<Utc>, Option<String>) = sqlx::query_as(
        "SELECT status, rescheduled_from_id, lower(original_time_range), lower(time_range), rescheduled_reason FROM vapi_bookings WHERE id = $1")
        .bind(new_id).fetch_one(&pool).await.unwrap();
    assert_eq!(status, "pending");
    assert_eq!(from, Some(original_id));
    assert_eq!(orig_start, Some(at(tz, day, 9, 0)));
    assert_eq!(new_start, at(tz, day, 11, 30));
    assert_eq!(reason.as_deref(), Some("Work"));
    let audit: (String, Option<Uuid>, DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "SELECT action, booking_id, lower(old_time_range), lower(new_time_range) FROM appointment_audit_log").fetch_one(&pool).await.unwrap();
    assert_eq!(
        audit,
        (
            "reschedule".into(),
            Some(new_id),
            at(tz, day, 9, 0),
            at(tz, day, 11, 30)
        )
    );
    assert_eq!(
        call_row(&pool, "call-resched").await.1.as_deref(),
        Some("appointment_rescheduled")
    );
    // The freed 09:00 is open again.
    assert!(times(
        &tool(
            &st,
            "call-resched",
            "check_availability",
            json!({"date": day.to_string()})
        )
        .await
    )
    .contains(&"9:00 AM".to_string()));
}

/// A New York clinic open on Sundays from 01:00 (through the DST hours), 30-minute slots.
async fn sunday_night_clinic(pool: &PgPool, slot_capacity: Option<i32>) -> Uuid {
    let clinic_id = clinic(pool, "America/New_York").await;
    seed::schedule_config(
        pool,
        ScheduleConfigOpts {
            clinic_id,
            slot_duration_minutes: Some(30),
            slot_capacity,
            daily_hours: Some(json!({"0": {"enabled": true, "open": "01:00", "close": "12:00"}})),
            ..Default::default()
        },
    )
    .await;
    clinic_id
}

/// Books `time` on `day` and returns the answer and the booking's start (it must succeed).
async fn book_start(
    st: &AppState,
    call: &str,
    day: NaiveDate,
    time: &str,
    who: &str,
) -> (Value, DateTime<Utc>) {
    let r = tool(st, call, "book_appointment", booking_args(day, time, who)).await;
    assert_eq!(r["success"], true, "{r}");
    let number = r["data"]["confirmation_number"]
        .as_str()
        .unwrap_or_default();
    let start = booking_row(&st.pool, number).await.5;
    (r, start)
}

/// `h:m` UTC on `day`.
fn utc_on(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    day.and_hms_opt(h, m, 0).unwrap().and_utc()
}

/// The first Sunday on or after `month`/`from_day` of next year (never a past date).
fn sunday_next_year(month: u32, from_day: u32) -> NaiveDate {
    let year = Utc::now().year() + 1;
    (from_day..from_day + 7)
        .map(|d| NaiveDate::from_ymd_opt(year, month, d).unwrap())
        .find(|d| d.weekday() == Weekday::Sun)
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn dst_days_and_half_hour_zones_book_the_wall_clock(pool: PgPool) {
    let ny: Tz = "America/New_York".parse().unwrap();
    sunday_night_clinic(&pool, None).await;
    // The second Sunday of March next year: 02:00–03:00 does not exist.
    let spring = sunday_next_year(3, 8);
    let st = state(&pool);
    let r = tool(
        &st,
        "call-dst",
        "check_availability",
        json!({"date": spring.to_string()}),
    )
    .await;
    let t = times(&r);
    assert_eq!(&t[..4], ["1:00 AM", "1:30 AM", "3:00 AM", "3:30 AM"]);
    // 2:30 AM does not exist that day: it moves forward to 3:30 AM (07:30Z).
    let (r, start) = book_start(&st, "call-dst", spring, "2:30 am", "Night Owl").await;
    assert_eq!(r["data"]["appointment"]["formatted_time"], "3:30 AM");
    assert_eq!(start, utc_on(spring, 7, 30));
    let (_, start) = book_start(&st, "call-dst", spring, "9 am", "Early Bird").await;
    assert_eq!(start, at(ny, spring, 9, 0));
    assert_eq!(
        at(ny, spring, 9, 0).time(),
        NaiveTime::from_hms_opt(13, 0, 0).unwrap()
    );

    // Asia/Kolkata (+05:30): 9 AM is 03:30Z.
    let kolkata = seed::clinic(&pool, ClinicOpts::named("Mumbai Pets", "Asia/Kolkata")).await;
    seed::assistant_mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id: kolkata,
            assistant_id: "asst_kolkata".into(),
            assistant_type: None,
            ..Default::default()
        },
    )
    .await;
    let day = upcoming("Asia/Kolkata".parse().unwrap(), Weekday::Wed, 5);
    let body = serde_json::to_vec(&json!({"message": {"type": "tool-calls",
        "call": {"id": "call-ist", "type": "inboundPhoneCall", "assistantId": "asst_kolkata"},
        "toolCallList": [{"id": "ist", "function": {"name": "book_appointment", "arguments": booking_args(day, "9 am", "Priya")}}]}})).unwrap();
    let (_, out) = send(&st, vapi_request(&body)).await;
    let r: Value = serde_json::from_str(out["results"][0]["result"].as_str().unwrap()).unwrap();
    let start = booking_row(&pool, r["data"]["confirmation_number"].as_str().unwrap())
        .await
        .5;
    assert_eq!(
        start,
        Utc.with_ymd_and_hms(day.year(), day.month(), day.day(), 3, 30, 0)
            .unwrap()
    );
}

/// Fall back in New York (the first Sunday of November, next year: never a past date):
/// 01:00–02:00 happens twice. A clinic open from 01:00 lists each wall-clock slot once, and
/// 1:30 AM books its first occurrence, 05:30Z (EDT); the repeated hour adds no second 1:30.
#[sqlx::test(migrations = "./migrations")]
async fn dst_fall_back_books_the_first_occurrence(pool: PgPool) {
    sunday_night_clinic(&pool, Some(1)).await;
    let fall = sunday_next_year(11, 1);
    let st = state(&pool);
    let r = tool(
        &st,
        "call-fall",
        "check_availability",
        json!({"date": fall.to_string()}),
    )
    .await;
    assert_eq!(
        &times(&r)[..4],
        ["1:00 AM", "1:30 AM", "2:00 AM", "2:30 AM"]
    );
    let (r, start) = book_start(&st, "call-fall", fall, "1:30 am", "Night Owl").await;
    assert_eq!(r["data"]["appointment"]["formatted_time"], "1:30 AM");
    assert_eq!(start, utc_on(fall, 5, 30));
    // Capacity 1: the slot is taken, and the second 1:30 (06:30Z) is not another slot.
    let r = tool(
        &st,
        "call-fall",
        "book_appointment",
        booking_args(fall, "1:30 am", "Late Owl"),
    )
    .await;
    assert_eq!(r["error"], "slot_not_available", "{r}");
    // 2:00 AM EST is 07:00Z.
    let (_, start) = book_start(&st, "call-fall", fall, "2 am", "Late Owl").await;
    assert_eq!(start, utc_on(fall, 7, 0));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_pims_clinic_books_a_hold_and_says_staff_will_enter_it(pool: PgPool) {
    let (clinic_id, _tz, day) = tuesday_clinic(&pool, 2).await;
    sqlx::query("UPDATE clinics SET pims_type = 'idexx' WHERE id = $1")
        .bind(clinic_id)
        .execute(&pool)
        .await
        .unwrap();
    let st = state(&pool);
    let r = tool(
        &st,
        "call-pims",
        "book_appointment",
        booking_args(day, "9 am", "Maria Lopez"),
    )
    .await;
    assert_eq!(r["success"], true);
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("Our team will enter it into the clinic's scheduling system"));
    let meta: Value = sqlx::query_scalar("SELECT metadata FROM vapi_bookings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(meta["pims_entry_required"], true);
}

#[sqlx::test(migrations = "./migrations")]
async fn messages_and_triage_alert_staff_once(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let clinic_id = clinic(&pool, "America/Los_Angeles").await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", "Bearer xoxb-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.2"})))
        .mount(&slack)
        .await;
    seed::slack_channel(&pool, clinic_id, "T1", "xoxb-test", "C-ALERTS").await;
    let st = state(&pool);
    // The call row exists (a status-update came first): the message links it.
    let update = serde_json::to_vec(
        &json!({"message": {"type": "status-update", "status": "in-progress",
        "call": {"id": "call-msg", "type": "inboundPhoneCall", "assistantId": ASSISTANT}}}),
    )
    .unwrap();
    send(&st, vapi_request(&update)).await;

    let r = tool(&st, "call-msg", "leave_message", json!({"client_name": "Maria", "client_phone": "+14155550142",
        "message": "Please call about Luna's meds", "pet_name": "Luna", "best_callback_time": "after 3 pm", "is_urgent": true})).await;
    assert_eq!(r["message"], "Your message has been recorded and Tools Animal Hospital will call you back as soon as possible. This has been marked as urgent and will be prioritized. They'll try to reach you after 3 pm.");
    let normal = tool(
        &st,
        "call-msg",
        "leave_message",
        json!({"client_name": "Maria", "client_phone": "+14155550142", "message": "Thanks!"}),
    )
    .await;
    assert_eq!(normal["success"], true);
    let triage = tool(&st, "call-other", "log_emergency_triage", json!({"caller_name": "Sam", "caller_phone": "+14155550199",
        "pet_name": "Rex", "symptoms": "ate chocolate", "urgency": "critical", "action_taken": "sent_to_er", "species": "dog"})).await;
    assert_eq!(triage["message"], "I've logged this emergency for Rex. The staff will be notified that you're heading to the emergency clinic. Please drive safely.");
    assert_eq!(triage["data"]["er_referred"], true);

    let rows: Vec<(Uuid, String, String, Option<Uuid>, Option<Value>, Value)> = sqlx::query_as(
        "SELECT id, message_type, priority, inbound_call_id, triage_data, metadata FROM clinic_messages ORDER BY created_at")
        .fetch_all(&pool).await.unwrap();
    let call_id: Uuid =
        sqlx::query_scalar("SELECT id FROM inbound_calls WHERE vapi_call_id = 'call-msg'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2.as_str(), rows[0].3),
        ("general", "urgent", Some(call_id))
    );
    assert_eq!((rows[1].2.as_str(), rows[1].3), ("normal", Some(call_id)));
    assert_eq!(
        (rows[2].1.as_str(), rows[2].2.as_str(), rows[2].3),
        ("emergency_triage", "urgent", None)
    );
    assert_eq!(rows[2].4.as_ref().unwrap()["urgency"], "critical");
    assert_eq!(rows[2].5["vapi_call_id"], "call-other");
    // Two alerts enqueued (the urgent message and the emergency), none for the normal message.
    let jobs: Vec<Value> = sqlx::query_scalar("SELECT convert_from(job, 'UTF8')::jsonb FROM apalis.jobs WHERE job_type = 'odis.slack_alert' ORDER BY run_at")
        .fetch_all(&pool).await.unwrap();
    assert_eq!(jobs.len(), 2);

    let mut cfg = crate::helpers::app::job_config(&slack.uri());
    cfg.slack_api_base_url = slack.uri();
    let ctx = crate::helpers::app::context_with(&pool, cfg);
    for (id, ..) in [&rows[0], &rows[2]] {
        let out = SlackAlert { message_id: *id }
            .run(ctx.clone())
            .await
            .unwrap();
        assert_eq!(out["sent"], 1);
        // A retry or duplicate job sends nothing more.
        let out = SlackAlert { message_id: *id }
            .run(ctx.clone())
            .await
            .unwrap();
        assert_eq!(out["sent"], 0);
    }
    let requests = slack.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let body: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(body["channel"], "C-ALERTS");
    assert!(body["text"]
        .as_str()
        .unwrap()
        .contains("Emergency triage (critical)"));
    assert!(body["text"].as_str().unwrap().contains("Pet: Rex"));

    // No workspace: the message is stored and nothing is sent.
    sqlx::query("DELETE FROM slack_channels")
        .execute(&pool)
        .await
        .unwrap();
    let r = tool(
        &st,
        "call-msg",
        "leave_message",
        json!({"client_name": "Jo", "client_phone": "1", "message": "Help", "is_urgent": "true"}),
    )
    .await;
    let id: Uuid = r["data"]["message_id"].as_str().unwrap().parse().unwrap();
    let out = SlackAlert { message_id: id }
        .run(ctx.clone())
        .await
        .unwrap();
    assert_eq!(out["sent"], 0);
    assert_eq!(slack.received_requests().await.unwrap().len(), 2);

    // A second clinic with no `slack_workspaces` row at all: the urgent message is stored, its
    // alert job exists and succeeds with nothing to send.
    let bare = seed::clinic(&pool, ClinicOpts::named("No Slack Vets", "America/Chicago")).await;
    seed::assistant_mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id: bare,
            assistant_id: "asst_no_slack".into(),
            assistant_type: None,
            ..Default::default()
        },
    )
    .await;
    let body = serde_json::to_vec(&json!({"message": {"type": "tool-calls",
        "call": {"id": "call-bare", "type": "inboundPhoneCall", "assistantId": "asst_no_slack"},
        "toolCallList": [{"id": "bare", "function": {"name": "leave_message", "arguments":
            {"client_name": "Kim", "client_phone": "+13125550100", "message": "Dog is limping", "is_urgent": true}}}]}}))
    .unwrap();
    let (_, out) = send(&st, vapi_request(&body)).await;
    let r: Value = serde_json::from_str(out["results"][0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(r["success"], true, "{r}");
    assert!(r["message"]
        .as_str()
        .unwrap()
        .starts_with("Your message has been recorded and No Slack Vets will call you back"));
    let id: Uuid = r["data"]["message_id"].as_str().unwrap().parse().unwrap();
    let stored: (Uuid, String) =
        sqlx::query_as("SELECT clinic_id, priority FROM clinic_messages WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, (bare, "urgent".to_string()));
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'odis.slack_alert'
           AND convert_from(job, 'UTF8')::jsonb->>'message_id' = $1",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(queued, 1);
    let out = SlackAlert { message_id: id }
        .run(ctx.clone())
        .await
        .expect("no workspace is not a job failure");
    assert_eq!(out["sent"], 0);
    assert_eq!(out["reason"], "no slack workspace for the clinic");
    assert_eq!(slack.received_requests().await.unwrap().len(), 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn slack_failures_retry_and_never_change_the_answer(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let clinic_id = clinic(&pool, "America/Los_Angeles").await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&slack)
        .await;
    seed::slack_channel(&pool, clinic_id, "T1", "xoxb-test", "C1").await;
    let st = state(&pool);
    let r = tool(
        &st,
        "call-s",
        "log_emergency_triage",
        json!({"caller_name": "Sam", "caller_phone": "1", "pet_name": "Rex",
        "symptoms": "limping", "urgency": "monitor", "action_taken": "home_care_advised"}),
    )
    .await;
    assert_eq!(r["success"], true);
    assert_eq!(r["message"], "I've logged the information about Rex. The staff will review this and may follow up if needed.");
    let mut cfg = crate::helpers::app::job_config(&slack.uri());
    cfg.slack_api_base_url = slack.uri();
    let ctx = crate::helpers::app::context_with(&pool, cfg);
    let id: Uuid = r["data"]["reference_id"].as_str().unwrap().parse().unwrap();
    let err = SlackAlert { message_id: id }.run(ctx).await.unwrap_err();
    assert!(err.to_string().contains("transiently"), "{err}");
}

#[sqlx::test(migrations = "./migrations")]
async fn refills_and_hours(pool: PgPool) {
    let clinic_id = clinic(&pool, "Pacific/Kiritimati").await;
    let st = state(&pool);
    let kiritimati_day = || {
        Utc::now()
            .with_timezone(&"Pacific/Kiritimati".parse::<Tz>().unwrap())
            .format("%Y%m%d")
            .to_string()
    };
    let day_before = kiritimati_day();
    let r = tool(&st, "call-rx", "create_refill_request", json!({"client_name": "Maria", "client_phone": "+14155550142",
        "pet_name": "Luna", "medication_name": "Apoquel", "medication_strength": "16 mg", "last_refill_date": "2026-10-01",
        "pharmacy_preference": "external_pharmacy", "pharmacy_name": "Walgreens"})).await;
    assert_eq!(r["success"], true, "{r}");
    let reference = r["data"]["reference_id"].as_str().unwrap();
    // The clinic's own date (UTC+14), not the server's (read before and after the request, in
    // case the clinic's midnight fell in between).
    let day_after = kiritimati_day();
    assert!(
        [day_before, day_after]
            .iter()
            .any(|local| reference.starts_with(&format!("RX-{local}-")))
            && reference.len() == 16,
        "{reference}"
    );
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("the prescription will be sent to Walgreens"));
    let row: (String, Option<String>, Option<NaiveDate>, String, Value) = sqlx::query_as(
        "SELECT medication_name, medication_strength, last_refill_date, pharmacy_preference, metadata FROM refill_requests")
        .fetch_one(&pool).await.unwrap();
    assert_eq!(
        (row.0.as_str(), row.1.as_deref(), row.2, row.3.as_str()),
        (
            "Apoquel",
            Some("16 mg"),
            NaiveDate::from_ymd_opt(2026, 10, 1),
            "external"
        )
    );
    assert_eq!(row.4["reference_id"], reference);
    let r = tool(
        &st,
        "call-rx",
        "create_refill_request",
        json!({"client_name": "Maria", "client_phone": "1",
        "pet_name": "Luna", "medication_name": "Apoquel", "last_refill_date": "a while back"}),
    )
    .await;
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("you can pick it up at the clinic"));
    let (date, text): (Option<NaiveDate>, Option<String>) = sqlx::query_as(
        "SELECT last_refill_date, metadata->>'last_refill_date_text' FROM refill_requests WHERE metadata->>'reference_id' = $1")
        .bind(r["data"]["reference_id"].as_str().unwrap()).fetch_one(&pool).await.unwrap();
    assert_eq!((date, text.as_deref()), (None, Some("a while back")));

    sqlx::query("UPDATE clinics SET business_hours = $2 WHERE id = $1")
        .bind(clinic_id)
        .bind(json!({"monday": {"open": "08:00", "close": "18:00"}, "sunday": {"closed": true}}))
        .execute(&pool)
        .await
        .unwrap();
    let r = tool(&st, "call-rx", "get_clinic_hours", json!({})).await;
    assert_eq!(r["success"], true);
    assert_eq!(r["data"]["hours"]["monday"], "8:00 AM - 6:00 PM");
    assert_eq!(r["data"]["hours"]["sunday"], "Closed");
    assert_eq!(r["data"]["clinic_name"], "Tools Animal Hospital");
}

/// How many statements naming `table` the connection has prepared.
async fn prepared_naming(conn: &mut sqlx::PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%' || $1 || '%'",
    )
    .bind(table)
    .fetch_one(conn)
    .await
    .unwrap()
}

/// `serve`'s pool opens every connection before it is used, and each has already prepared what
/// a `tool-calls` answer runs; the tools answer from it.
#[sqlx::test(migrations = "./migrations")]
async fn the_service_pool_opens_warm_connections(pool: PgPool) {
    let options = (*pool.connect_options()).clone();
    let served = odis_worker::db::connect_service_with(options, 3)
        .await
        .unwrap();
    assert_eq!(served.size(), 3);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = served.acquire().await.unwrap();
        for table in [
            "webhook_events",
            "vapi_assistant_mappings",
            "schedule_appointments",
        ] {
            assert!(prepared_naming(&mut conn, table).await >= 1, "{table}");
        }
        held.push(conn);
    }
    drop(held);
    answers_a_range_then_closes(&pool, served, "America/Chicago").await;
}

/// A clinic seeded through `seed` in `tz` gets a `check_availability_range` answer from a
/// router serving from `served`; then `served` is closed.
async fn answers_a_range_then_closes(seed: &PgPool, served: PgPool, tz: &str) {
    clinic(seed, tz).await;
    let st = state(&served);
    let r = tool(
        &st,
        "call-pool",
        "check_availability_range",
        json!({"days_ahead": 2}),
    )
    .await;
    assert_eq!(r["success"], true, "{r}");
    served.close().await;
}

/// Runs one statement built at run time (role names cannot be bound).
async fn exec(pool: &PgPool, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .unwrap();
}

/// On a database without the service's tables the warm-up only leaves connections cold.
#[sqlx::test(migrations = false)]
async fn the_service_pool_opens_on_a_database_without_the_tables(pool: PgPool) {
    let options = (*pool.connect_options()).clone();
    let served = odis_worker::db::connect_service_with(options, 2)
        .await
        .unwrap();
    assert_eq!(served.size(), 2);
    let mut conn = served.acquire().await.unwrap();
    assert_eq!(prepared_naming(&mut conn, "webhook_events").await, 0);
    drop(conn);
    served.close().await;
}

/// When the database lets `serve` open fewer connections than its pool size, it still starts
/// with those it got (the rest are opened when needed) instead of failing.
#[sqlx::test(migrations = "./migrations")]
async fn the_service_pool_starts_with_the_connections_it_can_open(pool: PgPool) {
    let role = format!("odis_limited_{}", Uuid::new_v4().simple());
    exec(
        &pool,
        format!("CREATE ROLE {role} LOGIN CONNECTION LIMIT 2"),
    )
    .await;
    // The tables' owner's privileges (a superuser would not be held to the limit).
    let me: String = sqlx::query_scalar("SELECT quote_ident(current_user)")
        .fetch_one(&pool)
        .await
        .unwrap();
    exec(&pool, format!("GRANT {me} TO {role}")).await;
    let options = (*pool.connect_options()).clone().username(&role);
    let served = odis_worker::db::connect_service_with(options, 4)
        .await
        .unwrap();
    assert_eq!(served.size(), 2);
    answers_a_range_then_closes(&pool, served, "America/Denver").await;
    exec(&pool, format!("DROP ROLE {role}")).await;
}

// ---------------------------------------------------------------------------------------------
// Routing by phone number, id-less tool calls, outbound holds, a failed clinic lookup
// ---------------------------------------------------------------------------------------------

/// A `tool-calls` message of `call` (the whole `call` object) with the tool calls as given.
fn tool_message(call: Value, tool_calls: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"message": {
        "type": "tool-calls", "call": call, "toolCallList": tool_calls
    }}))
    .unwrap()
}

/// Sends a `tool-calls` message and returns its entries, each `result` parsed.
async fn tool_entries(st: &AppState, body: &[u8]) -> Vec<(Value, Value)> {
    let (status, body) = send(st, vapi_request(body)).await;
    assert_eq!(status, 200, "{body}");
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = e["result"].as_str().unwrap_or_else(|| panic!("{e}"));
            (e["toolCallId"].clone(), serde_json::from_str(text).unwrap())
        })
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_call_routed_by_phone_number_reads_and_books_its_mappings_pims_calendar(pool: PgPool) {
    // The calendar clinic: Tuesdays 09:00–12:00 in 30-minute slots.
    let (calendar, tz, day) = tuesday_clinic(&pool, 1).await;
    // The calling clinic answers a phone number; its calendar would be the default
    // 08:00–18:00 in 15-minute slots.
    let front = seed::clinic(
        &pool,
        ClinicOpts::named("Front Desk Vet", "America/New_York"),
    )
    .await;
    seed::assistant_mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id: front,
            assistant_id: "asst_front_desk".into(),
            phone_number_id: Some("pn_front_desk".into()),
            ..Default::default()
        },
    )
    .await;
    sqlx::query("UPDATE vapi_assistant_mappings SET pims_clinic_id = $1 WHERE clinic_id = $2")
        .bind(calendar)
        .bind(front)
        .execute(&pool)
        .await
        .unwrap();
    let st = state(&pool);
    // No assistant id VAPI knows us by (a squad member or transient assistant): the phone
    // number picks the mapping.
    let call = json!({"id": "call-by-number", "type": "inboundPhoneCall",
                      "assistantId": "asst_transient", "phoneNumberId": "pn_front_desk"});
    let ask = json!([{"id": "tc-ask", "function": {"name": "check_availability",
                      "arguments": {"date": day.to_string()}}}]);
    let answers = tool_entries(&st, &tool_message(call.clone(), ask)).await;
    let r = &answers[0].1;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(
        times(r),
        ["9:00 AM", "9:30 AM", "10:00 AM", "10:30 AM", "11:00 AM", "11:30 AM"],
        "the pims clinic's grid, not the calling clinic's default"
    );
    let book = json!([{"id": "tc-book", "function": {"name": "book_appointment",
                       "arguments": booking_args(day, "9 am", "Maria Lopez")}}]);
    let answers = tool_entries(&st, &tool_message(call.clone(), book)).await;
    assert_eq!(answers[0].1["success"], true, "{}", answers[0].1);
    let (clinic_id, start, meta): (Uuid, DateTime<Utc>, Value) =
        sqlx::query_as("SELECT clinic_id, lower(time_range), metadata FROM vapi_bookings")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(clinic_id, calendar);
    assert_eq!(start, at(tz, day, 9, 0));
    assert_eq!(meta["calling_clinic_id"], json!(front));
    // The hold counts on the pims calendar (capacity 1) for the next caller.
    let again = json!([{"id": "tc-again", "function": {"name": "check_availability",
                        "arguments": {"date": day.to_string()}}}]);
    let answers = tool_entries(&st, &tool_message(call, again)).await;
    assert!(!times(&answers[0].1).contains(&"9:00 AM".to_string()));
    // The call row belongs to the calling clinic.
    let (row_clinic, ..) = call_row(&pool, "call-by-number").await;
    assert_eq!(row_clinic, front);
}

#[sqlx::test(migrations = "./migrations")]
async fn tool_calls_without_an_id_are_neither_replayed_nor_remembered(pool: PgPool) {
    let (_clinic, _tz, day) = tuesday_clinic(&pool, 2).await;
    let st = state(&pool);
    let call = json!({"id": "call-no-ids", "type": "inboundPhoneCall", "assistantId": ASSISTANT});
    let mut numbers = Vec::new();
    for time in ["9 am", "10 am"] {
        // Same position (0), same VAPI call, no id: `unknown-0` both times.
        let list = json!([{"function": {"name": "book_appointment",
                           "arguments": booking_args(day, time, "Maria Lopez")}}]);
        let answers = tool_entries(&st, &tool_message(call.clone(), list)).await;
        let (id, r) = &answers[0];
        assert_eq!(id, "unknown-0");
        assert_eq!(r["success"], true, "{r}");
        numbers.push(r["data"]["confirmation_number"].clone());
    }
    assert_ne!(numbers[0], numbers[1], "the second call was not a replay");
    let starts: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT lower(time_range) FROM vapi_bookings ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(starts.len(), 2);
    let stored = count_rows(&pool, "vapi_tool_results").await;
    assert_eq!(stored, 0, "a made-up id is no key for a stored answer");
    // A tool call with its id is still remembered.
    let r = tool(
        &st,
        "call-no-ids",
        "book_appointment",
        booking_args(day, "11 am", "Maria Lopez"),
    )
    .await;
    assert_eq!(r["success"], true, "{r}");
    let stored = count_rows(&pool, "vapi_tool_results").await;
    assert_eq!(stored, 1);
}

/// Books `time` on `day` during outbound call `vapi_call_id` (an `outbound_calls` row of
/// `clinic_id`, `in-progress`) and returns the confirmation number.
async fn outbound_hold(
    pool: &PgPool,
    st: &AppState,
    clinic_id: Uuid,
    day: NaiveDate,
    vapi_call_id: &str,
    time: &str,
) -> String {
    let case = seed::case(
        pool,
        seed::CaseOpts {
            clinic_id,
            ..Default::default()
        },
    )
    .await;
    let row = seed::outbound_call(
        pool,
        seed::OutboundCallOpts {
            clinic_id,
            case_id: case.id,
            status: "in-progress".into(),
            ..Default::default()
        },
    )
    .await;
    sqlx::query("UPDATE outbound_calls SET vapi_call_id = $1, started_at = now() WHERE id = $2")
        .bind(vapi_call_id)
        .bind(row)
        .execute(pool)
        .await
        .unwrap();
    let call = json!({"id": vapi_call_id, "type": "outboundPhoneCall", "assistantId": ASSISTANT});
    let list = json!([{"id": format!("tc-{vapi_call_id}"), "function": {"name": "book_appointment",
                       "arguments": booking_args(day, time, "Dana Owner")}}]);
    let answers = tool_entries(st, &tool_message(call, list)).await;
    let r = &answers[0].1;
    assert_eq!(r["success"], true, "{r}");
    r["data"]["confirmation_number"]
        .as_str()
        .unwrap()
        .to_string()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_hold_booked_during_an_outbound_call_is_confirmed_when_that_call_ends(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let (clinic_id, _tz, day) = tuesday_clinic(&pool, 2).await;
    let st = state(&pool);
    let ctx = context(&pool, crate::helpers::app::NO_PROVIDERS);

    // The sweeper: a live outbound call keeps its hold alive, its end confirms it.
    let swept = outbound_hold(&pool, &st, clinic_id, day, "call-out-swept", "9 am").await;
    let (status, _, inbound, ..) = booking_row(&pool, &swept).await;
    assert_eq!((status.as_str(), inbound), ("pending", None));
    sqlx::query("UPDATE vapi_bookings SET hold_expires_at = now() + interval '10 seconds'")
        .execute(&pool)
        .await
        .unwrap();
    let s = odis_worker::jobs::sweep::run(&ctx).await.unwrap();
    assert_eq!(
        (s.holds_confirmed, s.holds_extended, s.holds_expired),
        (0, 1, 0)
    );
    sqlx::query(
        "UPDATE outbound_calls SET status = 'ended', ended_at = now()
         WHERE vapi_call_id = 'call-out-swept'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let s = odis_worker::jobs::sweep::run(&ctx).await.unwrap();
    assert_eq!(
        (s.holds_confirmed, s.holds_extended, s.holds_expired),
        (1, 0, 0)
    );
    let (status, hold, ..) = booking_row(&pool, &swept).await;
    assert_eq!((status.as_str(), hold), ("confirmed", None));

    // The outbound call's end-of-call report confirms its hold too.
    let reported = outbound_hold(&pool, &st, clinic_id, day, "call-out-report", "10 am").await;
    let report = serde_json::to_vec(&json!({"message": {
        "type": "end-of-call-report", "endedReason": "customer-ended-call",
        "startedAt": "2026-11-30T17:00:00Z", "endedAt": "2026-11-30T17:04:00Z",
        "call": {"id": "call-out-report", "type": "outboundPhoneCall", "assistantId": ASSISTANT},
        "artifact": {"transcript": "AI: Hello\nUser: Book Luna in."},
        "analysis": {"summary": "Booked."}
    }}))
    .unwrap();
    let (s, body) = send(&st, vapi_request(&report)).await;
    assert_eq!(s, 200, "{body}");
    let (status, hold, ..) = booking_row(&pool, &reported).await;
    assert_eq!((status.as_str(), hold), ("confirmed", None));
    let call_status: String = sqlx::query_scalar(
        "SELECT status FROM outbound_calls WHERE vapi_call_id = 'call-out-report'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(call_status, "ended");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_failed_clinic_lookup_answers_database_error_not_clinic_not_found(pool: PgPool) {
    let (_clinic, _tz, day) = tuesday_clinic(&pool, 2).await;
    let st = state(&pool);
    // The lookup statement reads the schedule config; without it the query fails (this
    // test's database is its own).
    sqlx::query("ALTER TABLE clinic_schedule_config RENAME TO clinic_schedule_config_gone")
        .execute(&pool)
        .await
        .unwrap();
    for (name, args) in [
        ("check_availability", json!({"date": day.to_string()})),
        ("book_appointment", booking_args(day, "9 am", "Maria Lopez")),
        ("get_clinic_hours", json!({})),
    ] {
        let r = tool(&st, "call-db-down", name, args).await;
        assert_eq!(r["success"], false, "{name}: {r}");
        assert_eq!(r["error"], "database_error", "{name}: {r}");
    }
    sqlx::query("ALTER TABLE clinic_schedule_config_gone RENAME TO clinic_schedule_config")
        .execute(&pool)
        .await
        .unwrap();
    // An assistant nobody maps is still `clinic_not_found`.
    let call =
        json!({"id": "call-nobody", "type": "inboundPhoneCall", "assistantId": "asst_nobody"});
    let list =
        json!([{"id": "tc-nobody", "function": {"name": "get_clinic_hours", "arguments": {}}}]);
    let answers = tool_entries(&st, &tool_message(call, list)).await;
    assert_eq!(
        answers[0].1["error"], "clinic_not_found",
        "{}",
        answers[0].1
    );
    let n = count_rows(&pool, "vapi_bookings").await;
    assert_eq!(n, 0);
}
