//! Integration tests of the scheduling module against a real PostgreSQL (a fresh database per
//! test via `#[sqlx::test]`). Run with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres`.

use chrono::{DateTime, Duration, Utc};
use odis_worker::scheduling::{auto_schedule, discharge_batch};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

fn u(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn clinic(pool: &PgPool, name: &str, tz: &str) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO clinics (name, slug, timezone, phone, email) VALUES ($1, $2, $3, '(555) 010-0000', 'clinic@example.com') RETURNING id",
    )
    .bind(name)
    .bind(name.to_lowercase().replace(' ', "-"))
    .bind(tz)
    .fetch_one(pool)
    .await
    .unwrap()
}

struct CaseSpec<'a> {
    case_type: Option<&'a str>,
    status: &'a str,
    created_at: &'a str,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    summary: bool,
    with_client: bool,
    snapshot: Option<Value>,
    entity_extraction: Option<Value>,
    cadence_source: &'a str,
    call_delay: i32,
    email_delay: i32,
}

impl Default for CaseSpec<'_> {
    fn default() -> Self {
        Self {
            case_type: None,
            status: "completed",
            created_at: "2024-03-08T15:00:00Z",
            phone: Some("(212) 555-0101"),
            email: Some("owner@example.com"),
            summary: true,
            with_client: true,
            snapshot: None,
            entity_extraction: None,
            cadence_source: "default",
            call_delay: 1,
            email_delay: 1,
        }
    }
}

async fn case(pool: &PgPool, clinic_id: Uuid, pet: &str, s: CaseSpec<'_>) -> Uuid {
    let (client_id, patient_id): (Option<Uuid>, Option<Uuid>) = if s.with_client {
        let client: Uuid = sqlx::query_scalar(
            "INSERT INTO clients (clinic_id, display_name, phone, email) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(clinic_id)
        .bind(format!("Owner of {pet}"))
        .bind(s.phone)
        .bind(s.email)
        .fetch_one(pool)
        .await
        .unwrap();
        let patient: Uuid = sqlx::query_scalar(
            "INSERT INTO patients (clinic_id, client_id, name, species) VALUES ($1, $2, $3, 'dog') RETURNING id",
        )
        .bind(clinic_id)
        .bind(client)
        .bind(pet)
        .fetch_one(pool)
        .await
        .unwrap();
        (Some(client), Some(patient))
    } else {
        (None, None)
    };
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO cases (clinic_id, client_id, patient_id, type, status, created_at, patient_snapshot, \
         entity_extraction, cadence_source, call_delay_days, email_delay_days) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(clinic_id)
    .bind(client_id)
    .bind(patient_id)
    .bind(s.case_type)
    .bind(s.status)
    .bind(u(s.created_at))
    .bind(s.snapshot)
    .bind(s.entity_extraction)
    .bind(s.cadence_source)
    .bind(s.call_delay)
    .bind(s.email_delay)
    .fetch_one(pool)
    .await
    .unwrap();
    if s.summary {
        sqlx::query(
            "INSERT INTO discharge_summaries (case_id, clinic_id, content, structured_content) \
             VALUES ($1, $2, 'Rest for a week & keep the cone on.', $3)",
        )
        .bind(id)
        .bind(clinic_id)
        .bind(json!({"appointmentSummary": format!("{pet} came in today for a checkup."), "diagnosis": "Healthy"}))
        .execute(pool)
        .await
        .unwrap();
    }
    id
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn email_at(pool: &PgPool, case_id: Uuid) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT scheduled_for FROM outbound_emails WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn call_at(pool: &PgPool, case_id: Uuid) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT scheduled_for FROM outbound_calls WHERE case_id = $1")
        .bind(case_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn source_of(pool: &PgPool, case_id: Uuid) -> String {
    sqlx::query_scalar(
        "SELECT scheduled_config->>'source' FROM auto_scheduled_items WHERE case_id = $1",
    )
    .bind(case_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Every precedence level, exact UTC instants in New York across the spring-forward night and
/// in Adelaide (+10:30), skip reasons, the 2-minute call spread, dry run and a second run.
#[sqlx::test(migrations = "./migrations")]
async fn auto_schedule_run_precedence_times_skips_and_idempotency(pool: PgPool) {
    // 15:00 EST on Saturday 2024-03-09; New York springs forward at 02:00 on 2024-03-10.
    let now = u("2024-03-09T20:00:00Z");
    let ny = clinic(&pool, "Hudson Vet", "America/New_York").await;
    let adl = clinic(&pool, "Adelaide Vet", "Australia/Adelaide").await;
    let off = clinic(&pool, "Disabled Vet", "America/Chicago").await;
    sqlx::query(
        "INSERT INTO auto_scheduling_config (clinic_id, is_enabled, email_delay_days, call_delay_days, \
         preferred_email_time, preferred_call_time, scheduling_criteria) \
         VALUES ($1, true, 1, 2, '10:00', '16:00', '{\"maxCaseAgeDays\": 5}')",
    )
    .bind(ny)
    .execute(&pool)
    .await
    .unwrap();
    // Adelaide's config leaves every cadence value NULL → clinic_settings supplies them.
    sqlx::query(
        "INSERT INTO auto_scheduling_config (clinic_id, is_enabled, email_delay_days, call_delay_days, \
         preferred_email_time, preferred_call_time) VALUES ($1, true, NULL, NULL, NULL, NULL), ($2, false, 1, 1, '10:00', '10:00')",
    )
    .bind(adl)
    .bind(off)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO clinic_settings (clinic_id, email_delay_days, call_delay_days, preferred_email_start_time, \
         preferred_call_start_time) VALUES ($1, 4, 5, '08:00', '17:30'), ($2, 4, 5, '08:00', '17:30')",
    )
    .bind(ny)
    .bind(adl)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO clinic_case_type_cadence (clinic_id, case_type, call_delay_days, email_delay_days, \
         preferred_call_time, preferred_email_time, never_auto_schedule) \
         VALUES ($1, 'surgery', 1, 0, '11:00', '09:00', false), ($1, 'wellness', 1, 1, '10:00', '10:00', true)",
    )
    .bind(ny)
    .execute(&pool)
    .await
    .unwrap();

    // Case override (beats the surgery row; times come from it).
    let a = case(
        &pool,
        ny,
        "Alpha",
        CaseSpec {
            case_type: Some("surgery"),
            cadence_source: "custom",
            call_delay: 3,
            email_delay: 2,
            ..Default::default()
        },
    )
    .await;
    // Case-type cadence.
    let b = case(
        &pool,
        ny,
        "Bravo",
        CaseSpec {
            case_type: Some("surgery"),
            created_at: "2024-03-08T14:59:30Z",
            ..Default::default()
        },
    )
    .await;
    let c = case(
        &pool,
        ny,
        "Charlie",
        CaseSpec {
            case_type: Some("Wellness"),
            ..Default::default()
        },
    )
    .await;
    // auto_scheduling_config; D, E and L all land on 16:00 EDT on 2024-03-10.
    let d = case(
        &pool,
        ny,
        "Delta",
        CaseSpec {
            created_at: "2024-03-08T14:59:00Z",
            ..Default::default()
        },
    )
    .await;
    let e = case(
        &pool,
        ny,
        "Echo",
        CaseSpec {
            created_at: "2024-03-08T14:58:00Z",
            ..Default::default()
        },
    )
    .await;
    let l = case(&pool, ny, "Lima", CaseSpec {
        created_at: "2024-03-08T14:57:00Z",
        with_client: false,
        snapshot: Some(json!({"name": "Lima", "owner_name": "Snap Owner", "owner_phone": "212-555-0199", "owner_email": "snap@example.com"})),
        ..Default::default()
    })
    .await;
    // Skips.
    let h = case(
        &pool,
        ny,
        "Hotel",
        CaseSpec {
            entity_extraction: Some(json!({"caseType": "euthanasia"})),
            ..Default::default()
        },
    )
    .await;
    let i = case(
        &pool,
        ny,
        "India",
        CaseSpec {
            phone: None,
            email: Some("not-an-email"),
            ..Default::default()
        },
    )
    .await;
    let j = case(
        &pool,
        ny,
        "Juliet",
        CaseSpec {
            summary: false,
            ..Default::default()
        },
    )
    .await;
    let _draft = case(
        &pool,
        ny,
        "Kilo",
        CaseSpec {
            status: "draft",
            ..Default::default()
        },
    )
    .await;
    let _old = case(
        &pool,
        ny,
        "Oscar",
        CaseSpec {
            created_at: "2024-03-01T15:00:00Z",
            ..Default::default()
        },
    )
    .await;
    let _disabled = case(&pool, off, "Papa", CaseSpec::default()).await;
    // clinic_settings level, half-hour zone: created 01:30 ACDT on 2024-03-09 (local date).
    let g = case(
        &pool,
        adl,
        "Golf",
        CaseSpec {
            phone: Some("+61 8 8123 4567"),
            ..Default::default()
        },
    )
    .await;

    // Dry run: full summary, nothing written.
    let dry = auto_schedule::run(
        &pool,
        &auto_schedule::RunOptions {
            clinic_ids: None,
            dry_run: true,
            now,
        },
    )
    .await
    .unwrap();
    assert_eq!(dry.run_id, None);
    assert_eq!(
        (
            dry.clinics,
            dry.cases_processed,
            dry.emails_scheduled,
            dry.calls_scheduled,
            dry.skipped,
            dry.errors
        ),
        (2, 6, 6, 6, 4, 0)
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbound_emails").await,
        0
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM outbound_calls").await, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM auto_scheduled_items").await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM auto_scheduling_runs").await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM cases WHERE auto_scheduled_at IS NOT NULL"
        )
        .await,
        0
    );

    let run = auto_schedule::run(
        &pool,
        &auto_schedule::RunOptions {
            clinic_ids: None,
            dry_run: false,
            now,
        },
    )
    .await
    .unwrap();
    assert_eq!(run.status, "completed");
    assert_eq!(
        (
            run.clinics,
            run.cases_processed,
            run.emails_scheduled,
            run.calls_scheduled,
            run.skipped,
            run.errors
        ),
        (2, 6, 6, 6, 4, 0)
    );

    // Case override: email base+2 = 03-10 09:00 EDT (after the switch), call base+3 = 03-11 11:00 EDT.
    assert_eq!(email_at(&pool, a).await, u("2024-03-10T13:00:00Z"));
    assert_eq!(call_at(&pool, a).await, u("2024-03-11T15:00:00Z"));
    assert_eq!(source_of(&pool, a).await, "case_override");
    // Case type: email delay 0 → 03-08 09:00 EST is past → next 09:00 = 03-10 09:00 EDT;
    // call delay 1 → 03-09 11:00 EST is past → 03-10 11:00 EDT.
    assert_eq!(email_at(&pool, b).await, u("2024-03-10T13:00:00Z"));
    assert_eq!(call_at(&pool, b).await, u("2024-03-10T15:00:00Z"));
    assert_eq!(source_of(&pool, b).await, "case_type");
    // Config: email delay 1 → 03-09 10:00 EST is past → 03-10 10:00 EDT; call delay 2 →
    // 03-10 16:00 EDT, shared by D, E, L → spread 2 minutes apart in read order (newest first).
    assert_eq!(email_at(&pool, d).await, u("2024-03-10T14:00:00Z"));
    assert_eq!(call_at(&pool, d).await, u("2024-03-10T20:00:00Z"));
    assert_eq!(call_at(&pool, e).await, u("2024-03-10T20:02:00Z"));
    assert_eq!(call_at(&pool, l).await, u("2024-03-10T20:04:00Z"));
    assert_eq!(source_of(&pool, d).await, "auto_scheduling_config");
    // Clinic settings in Adelaide (ACDT +10:30): base 03-09; email +4 at 08:00, call +5 at 17:30.
    assert_eq!(email_at(&pool, g).await, u("2024-03-12T21:30:00Z"));
    assert_eq!(call_at(&pool, g).await, u("2024-03-14T07:00:00Z"));
    assert_eq!(source_of(&pool, g).await, "clinic_settings");

    // Contacts: client row, else the patient snapshot; E.164.
    let (phone, meta): (String, Value) =
        sqlx::query_as("SELECT customer_phone, metadata FROM outbound_calls WHERE case_id = $1")
            .bind(l)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(phone, "+12125550199");
    assert_eq!(meta["dynamic_variables"]["pet_name"], "Lima");
    assert_eq!(meta["dynamic_variables"]["owner_name"], "Snap Owner");
    assert_eq!(meta["dynamic_variables"]["clinic_name"], "Hudson Vet");
    assert_eq!(meta["run_id"], json!(run.run_id));
    let (status, phone): (String, String) =
        sqlx::query_as("SELECT status, customer_phone FROM outbound_calls WHERE case_id = $1")
            .bind(g)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), phone.as_str()),
        ("queued", "+61881234567")
    );
    let (to, subject, html, text): (String, String, String, String) = sqlx::query_as(
        "SELECT recipient_email, subject, html_content, text_content FROM outbound_emails WHERE case_id = $1",
    )
    .bind(a).fetch_one(&pool).await.unwrap();
    assert_eq!(to, "owner@example.com");
    assert_eq!(subject, "Discharge Instructions for Alpha");
    assert!(html.contains("Alpha came in for a checkup."), "{html}");
    assert!(html.contains("Hudson Vet"));
    assert!(!text.contains('<'));

    // Skip reasons, per clinic, in the run row too.
    let ny_result = run
        .per_clinic
        .iter()
        .find(|r| r["clinicId"] == json!(ny))
        .unwrap();
    let reason = |id: Uuid| {
        ny_result["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["caseId"] == json!(id))
            .map(|s| s["reason"].as_str().unwrap().to_string())
    };
    assert_eq!(reason(c).as_deref(), Some("NEVER_AUTO_SCHEDULE"));
    assert_eq!(reason(h).as_deref(), Some("EXTREME_CASE"));
    assert_eq!(reason(i).as_deref(), Some("NO_CONTACT_INFO"));
    assert_eq!(reason(j).as_deref(), Some("NO_DISCHARGE_SUMMARY"));
    assert_eq!(ny_result["casesFound"], 9);
    let (rstatus, results, tp, te, tc): (String, Value, i32, i32, i32) = sqlx::query_as(
        "SELECT status, results, total_cases_processed, total_emails_scheduled, total_calls_scheduled FROM auto_scheduling_runs WHERE id = $1",
    )
    .bind(run.run_id.unwrap()).fetch_one(&pool).await.unwrap();
    assert_eq!((rstatus.as_str(), tp, te, tc), ("completed", 6, 6, 6));
    assert_eq!(results.as_array().unwrap().len(), 2);

    // Cases are marked; items link both rows.
    assert_eq!(count(&pool, "SELECT count(*) FROM cases WHERE scheduling_source = 'auto' AND auto_scheduled_at = '2024-03-09T20:00:00Z'").await, 6);
    assert_eq!(count(&pool, "SELECT count(*) FROM auto_scheduled_items WHERE status = 'scheduled' AND outbound_email_id IS NOT NULL AND outbound_call_id IS NOT NULL").await, 6);

    // A second run the same day schedules nothing.
    let again = auto_schedule::run(
        &pool,
        &auto_schedule::RunOptions {
            clinic_ids: None,
            dry_run: false,
            now: now + Duration::hours(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (
            again.cases_processed,
            again.emails_scheduled,
            again.calls_scheduled,
            again.errors
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(again.status, "completed");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbound_emails").await,
        6
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM outbound_calls").await, 6);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM auto_scheduled_items").await,
        6
    );

    // Limiting to one clinic only touches that clinic.
    let only = auto_schedule::run(
        &pool,
        &auto_schedule::RunOptions {
            clinic_ids: Some(vec![adl]),
            dry_run: true,
            now,
        },
    )
    .await
    .unwrap();
    assert_eq!(only.clinics, 1);
}

/// A clinic's existing queued call occupies its minute; a case already having a live call gets
/// only the email.
#[sqlx::test(migrations = "./migrations")]
async fn auto_schedule_respects_existing_calls(pool: PgPool) {
    let now = u("2024-12-12T20:00:00Z");
    let la = clinic(&pool, "Sunset Vet", "America/Los_Angeles").await;
    sqlx::query("INSERT INTO auto_scheduling_config (clinic_id, is_enabled, call_delay_days, preferred_call_time) VALUES ($1, true, 1, '16:00')")
        .bind(la).execute(&pool).await.unwrap();
    let x = case(
        &pool,
        la,
        "Xray",
        CaseSpec {
            created_at: "2024-12-12T18:00:00Z",
            ..Default::default()
        },
    )
    .await;
    let y = case(
        &pool,
        la,
        "Yankee",
        CaseSpec {
            created_at: "2024-12-12T17:00:00Z",
            ..Default::default()
        },
    )
    .await;
    // A call already queued at 16:00 PST on 12-13 (e.g. from a batch) for another case.
    sqlx::query("INSERT INTO outbound_calls (clinic_id, case_id, status, scheduled_for) VALUES ($1, $2, 'queued', '2024-12-14T00:00:00Z')")
        .bind(la).bind(y).execute(&pool).await.unwrap();
    let run = auto_schedule::run(
        &pool,
        &auto_schedule::RunOptions {
            clinic_ids: None,
            dry_run: false,
            now,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (
            run.cases_processed,
            run.emails_scheduled,
            run.calls_scheduled
        ),
        (2, 2, 1)
    );
    assert_eq!(call_at(&pool, x).await, u("2024-12-14T00:02:00Z"));
    assert_eq!(count(&pool, "SELECT count(*) FROM outbound_calls").await, 2);
}

struct Batch {
    id: Uuid,
    cases: Vec<Uuid>,
}

const EMAIL_T0: &str = "2024-12-13T18:00:00Z";
const CALL_T0: &str = "2024-12-15T00:00:00Z";

async fn batch(pool: &PgPool, n: usize, metadata: Value) -> Batch {
    let cl = clinic(pool, "Batch Vet", "America/Los_Angeles").await;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO discharge_batches (clinic_id, status, total_cases, email_schedule_time, call_schedule_time, metadata) \
         VALUES ($1, 'pending', $2, $3, $4, $5) RETURNING id",
    )
    .bind(cl)
    .bind(i32::try_from(n).unwrap())
    .bind(u(EMAIL_T0))
    .bind(u(CALL_T0))
    .bind(metadata)
    .fetch_one(pool)
    .await
    .unwrap();
    let mut cases = Vec::new();
    for k in 0..n {
        let c = case(pool, cl, &format!("Pet{k}"), CaseSpec::default()).await;
        // Distinct created_at gives the stable processing order the stagger is based on.
        sqlx::query("INSERT INTO discharge_batch_items (batch_id, case_id, status, created_at) VALUES ($1, $2, 'pending', $3)")
            .bind(id)
            .bind(c)
            .bind(u("2024-12-12T10:00:00Z") + Duration::seconds(i64::try_from(k).unwrap()))
            .execute(pool)
            .await
            .unwrap();
        cases.push(c);
    }
    Batch { id, cases }
}

async fn assert_all_staggered(pool: &PgPool, b: &Batch) {
    for (k, c) in b.cases.iter().enumerate() {
        let k = i64::try_from(k).unwrap();
        assert_eq!(
            email_at(pool, *c).await,
            u(EMAIL_T0) + Duration::seconds(20 * k),
            "email {k}"
        );
        assert_eq!(
            call_at(pool, *c).await,
            u(CALL_T0) + Duration::minutes(2 * k),
            "call {k}"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn batch_of_25_staggered(pool: PgPool) {
    let now = u("2024-12-12T12:00:00Z");
    let b = batch(&pool, 25, json!({})).await;
    assert_eq!(
        discharge_batch::due_batches(&pool).await.unwrap(),
        vec![b.id]
    );
    let out = discharge_batch::process(&pool, b.id, now).await.unwrap();
    assert_eq!(
        (
            out.status.as_str(),
            out.processed,
            out.succeeded,
            out.failed,
            out.cancelled
        ),
        ("completed", 25, 25, 0, false)
    );
    assert_all_staggered(&pool, &b).await;
    // Index 24: +480 s email, +48 min call.
    assert_eq!(
        email_at(&pool, b.cases[24]).await,
        u("2024-12-13T18:08:00Z")
    );
    assert_eq!(call_at(&pool, b.cases[24]).await, u("2024-12-15T00:48:00Z"));
    assert_eq!(count(&pool, "SELECT count(*) FROM discharge_batch_items WHERE status = 'success' AND email_scheduled AND call_scheduled AND outbound_email_id IS NOT NULL AND outbound_call_id IS NOT NULL AND processed_at IS NOT NULL").await, 25);
    assert_eq!(count(&pool, "SELECT count(*) FROM outbound_calls WHERE status = 'queued' AND metadata->>'source' = 'discharge_batch'").await, 25);
    let (started, completed): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT started_at, completed_at FROM discharge_batches WHERE id = $1")
            .bind(b.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((started, completed), (Some(now), Some(now)));
    assert!(discharge_batch::due_batches(&pool)
        .await
        .unwrap()
        .is_empty());
    // Processing a finished batch again changes nothing.
    let again = discharge_batch::process(&pool, b.id, now).await.unwrap();
    assert_eq!((again.status.as_str(), again.processed), ("completed", 25));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbound_emails").await,
        25
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn batch_channels_and_failures(pool: PgPool) {
    let now = u("2024-12-12T12:00:00Z");
    let b = batch(&pool, 3, json!({"callsEnabled": false})).await;
    // Item 1: no contact at all; item 2: blocked (euthanasia).
    sqlx::query("UPDATE clients SET phone = NULL, email = NULL WHERE id = (SELECT client_id FROM cases WHERE id = $1)")
        .bind(b.cases[1]).execute(&pool).await.unwrap();
    sqlx::query("UPDATE cases SET extreme_case_check = '{\"isExtremeCase\": true}' WHERE id = $1")
        .bind(b.cases[2])
        .execute(&pool)
        .await
        .unwrap();
    let out = discharge_batch::process(&pool, b.id, now).await.unwrap();
    assert_eq!(
        (
            out.status.as_str(),
            out.processed,
            out.succeeded,
            out.failed
        ),
        ("partial_success", 3, 1, 2)
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM outbound_calls").await, 0);
    assert_eq!(email_at(&pool, b.cases[0]).await, u(EMAIL_T0));
    let summary: Value =
        sqlx::query_scalar("SELECT error_summary FROM discharge_batches WHERE id = $1")
            .bind(b.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(summary.as_array().unwrap().len(), 2);
    assert_eq!(summary[0]["patientName"], "Pet1");
    assert_eq!(summary[1]["caseId"], json!(b.cases[2]));
    assert!(summary[1]["error"]
        .as_str()
        .unwrap()
        .starts_with("Blocked:"));

    // All items failing → failed.
    let b2 = batch_in_new_clinic_all_failing(&pool).await;
    let out = discharge_batch::process(&pool, b2, now).await.unwrap();
    assert_eq!((out.status.as_str(), out.failed), ("failed", 2));
}

async fn batch_in_new_clinic_all_failing(pool: &PgPool) -> Uuid {
    let cl = clinic(pool, "Empty Vet", "America/Denver").await;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO discharge_batches (clinic_id, status) VALUES ($1, 'pending') RETURNING id",
    )
    .bind(cl)
    .fetch_one(pool)
    .await
    .unwrap();
    for k in 0..2 {
        let c = case(
            pool,
            cl,
            &format!("Nobody{k}"),
            CaseSpec {
                phone: None,
                email: None,
                ..Default::default()
            },
        )
        .await;
        sqlx::query("INSERT INTO discharge_batch_items (batch_id, case_id) VALUES ($1, $2)")
            .bind(id)
            .bind(c)
            .execute(pool)
            .await
            .unwrap();
    }
    id
}

#[sqlx::test(migrations = "./migrations")]
async fn batch_cancel_midway_cancels_undispatched_rows(pool: PgPool) {
    let now = u("2024-12-12T12:00:00Z");
    let b = batch(
        &pool,
        25,
        json!({"emailsEnabled": true, "callsEnabled": true}),
    )
    .await;
    let part = discharge_batch::process_limited(&pool, b.id, now, Some(10))
        .await
        .unwrap();
    assert_eq!(
        (part.status.as_str(), part.processed, part.cancelled),
        ("processing", 10, false)
    );
    // One email already went out: cancel must leave it alone.
    sqlx::query("UPDATE outbound_emails SET status = 'sent' WHERE case_id = $1")
        .bind(b.cases[0])
        .execute(&pool)
        .await
        .unwrap();

    let out = discharge_batch::cancel(&pool, b.id).await.unwrap();
    assert_eq!(
        (out.status.as_str(), out.cancelled, out.processed),
        ("cancelled", true, 10)
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM outbound_calls WHERE status = 'cancelled' AND metadata->>'cancelled_reason' = 'Discharge batch cancelled'").await, 10);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbound_emails WHERE status = 'cancelled'"
        )
        .await,
        9
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbound_emails WHERE status = 'sent'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbound_calls WHERE status = 'queued'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM discharge_batch_items WHERE status = 'cancelled'"
        )
        .await,
        25
    );

    // The processor does not resume a cancelled batch.
    let after = discharge_batch::process(&pool, b.id, now).await.unwrap();
    assert!(after.cancelled);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbound_calls").await,
        10
    );
    assert!(discharge_batch::due_batches(&pool)
        .await
        .unwrap()
        .is_empty());
}

/// The dashboard cancels with a plain UPDATE while the batch is being processed: the processor
/// stops at its next item and runs the cascade itself.
#[sqlx::test(migrations = "./migrations")]
async fn batch_cancelled_by_status_update_stops_at_next_item(pool: PgPool) {
    let now = u("2024-12-12T12:00:00Z");
    let b = batch(&pool, 25, json!({})).await;
    discharge_batch::process_limited(&pool, b.id, now, Some(5))
        .await
        .unwrap();
    sqlx::query(
        "UPDATE discharge_batches SET status = 'cancelled', cancelled_at = now() WHERE id = $1",
    )
    .bind(b.id)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        discharge_batch::due_batches(&pool).await.unwrap(),
        vec![b.id]
    );
    let out = discharge_batch::process(&pool, b.id, now).await.unwrap();
    assert_eq!(
        (out.status.as_str(), out.processed, out.cancelled),
        ("cancelled", 5, true)
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM outbound_calls").await, 5);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbound_calls WHERE status = 'cancelled'"
        )
        .await,
        5
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbound_emails WHERE status = 'cancelled'"
        )
        .await,
        5
    );
    assert!(discharge_batch::due_batches(&pool)
        .await
        .unwrap()
        .is_empty());
}

/// A worker dies after 10 items (batch left `processing`); the sweeper offers it again once
/// stale, and a new `process` finishes it with every item done exactly once.
#[sqlx::test(migrations = "./migrations")]
async fn batch_resumes_after_crash_without_duplicates(pool: PgPool) {
    let now = u("2024-12-12T12:00:00Z");
    let b = batch(&pool, 25, json!({})).await;
    discharge_batch::process_limited(&pool, b.id, now, Some(10))
        .await
        .unwrap();
    // Fresh `processing` batches belong to a live worker.
    assert!(discharge_batch::due_batches(&pool)
        .await
        .unwrap()
        .is_empty());
    // The worker died a while ago. (The updated_at trigger only fires on UPDATE, so disable it
    // for this one back-dating statement.)
    sqlx::query("ALTER TABLE discharge_batches DISABLE TRIGGER set_updated_at")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE discharge_batches SET updated_at = now() - interval '5 minutes' WHERE id = $1",
    )
    .bind(b.id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ALTER TABLE discharge_batches ENABLE TRIGGER set_updated_at")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        discharge_batch::due_batches(&pool).await.unwrap(),
        vec![b.id]
    );

    let out = discharge_batch::process(&pool, b.id, now + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        (out.status.as_str(), out.processed, out.succeeded),
        ("completed", 25, 25)
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbound_emails").await,
        25
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbound_calls").await,
        25
    );
    assert_eq!(
        count(&pool, "SELECT count(DISTINCT case_id) FROM outbound_calls").await,
        25
    );
    // The stagger index is the item's position, not "items done in this run".
    assert_all_staggered(&pool, &b).await;
}

/// Several workers racing on one batch: every item exactly once.
#[sqlx::test(migrations = "./migrations")]
async fn batch_concurrent_workers_do_each_item_once(pool: PgPool) {
    let now = u("2024-12-12T12:00:00Z");
    let b = batch(&pool, 25, json!({})).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let pool = pool.clone();
        let id = b.id;
        tasks.push(tokio::spawn(async move {
            discharge_batch::process(&pool, id, now).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Workers that found the batch busy returned early; finish whatever is left, as the sweeper would.
    let out = discharge_batch::process(&pool, b.id, now).await.unwrap();
    assert_eq!((out.status.as_str(), out.processed), ("completed", 25));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbound_calls").await,
        25
    );
    assert_eq!(
        count(&pool, "SELECT count(DISTINCT case_id) FROM outbound_emails").await,
        25
    );
    assert_all_staggered(&pool, &b).await;
}

/// Scale check (ignored by default; run with `--ignored --nocapture`): N cases in one clinic,
/// seeded set-based, one run. Prints the run time.
#[sqlx::test(migrations = "./migrations")]
#[ignore = "scale measurement, slow"]
async fn auto_schedule_scale(pool: PgPool) {
    let n: i64 = std::env::var("SCALE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let now = u("2024-12-12T20:00:00Z");
    let cl = clinic(&pool, "Big Vet", "America/Los_Angeles").await;
    sqlx::query("INSERT INTO auto_scheduling_config (clinic_id, is_enabled, scheduling_criteria) VALUES ($1, true, '{\"maxCaseAgeDays\": 30}')")
        .bind(cl).execute(&pool).await.unwrap();
    let t = std::time::Instant::now();
    sqlx::query(
        "WITH cl AS (INSERT INTO clients (clinic_id, display_name, phone, email) \
           SELECT $1, 'Owner ' || g, '408555' || lpad((g % 10000)::text, 4, '0'), 'o' || g || '@example.com' \
           FROM generate_series(1, $2) g RETURNING id), \
         numbered AS (SELECT id, row_number() OVER () AS g FROM cl), \
         pa AS (INSERT INTO patients (clinic_id, client_id, name, species) SELECT $1, id, 'Pet ' || g, 'dog' FROM numbered RETURNING id, client_id) \
         INSERT INTO cases (clinic_id, client_id, patient_id, status, created_at) \
           SELECT $1, pa.client_id, pa.id, 'completed', $3::timestamptz - (random() * interval '20 days') FROM pa",
    )
    .bind(cl).bind(n).bind(now).execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO discharge_summaries (case_id, clinic_id, content) SELECT id, clinic_id, 'Rest and recheck in two weeks.' FROM cases")
        .execute(&pool).await.unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    println!("seeded {n} cases in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let page: Vec<odis_worker::scheduling::case_data::CaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{} WHERE ca.clinic_id = $1 AND ca.auto_scheduled_at IS NULL AND ca.scheduling_source IS NULL \
         ORDER BY ca.created_at DESC, ca.id DESC LIMIT 1000",
        odis_worker::scheduling::case_data::CASE_SELECT
    )))
    .bind(cl)
    .fetch_all(&pool)
    .await
    .unwrap();
    println!("one page of {} rows read in {:?}", page.len(), t.elapsed());
    let t = std::time::Instant::now();
    let dry = auto_schedule::run(
        &pool,
        &auto_schedule::RunOptions {
            clinic_ids: None,
            dry_run: true,
            now,
        },
    )
    .await
    .unwrap();
    println!(
        "dry run: processed={} in {:?}",
        dry.cases_processed,
        t.elapsed()
    );
    let t = std::time::Instant::now();
    let run = auto_schedule::run(
        &pool,
        &auto_schedule::RunOptions {
            clinic_ids: None,
            dry_run: false,
            now,
        },
    )
    .await
    .unwrap();
    println!(
        "run: {:?} processed={} emails={} calls={} skipped={} in {:?}",
        run.status,
        run.cases_processed,
        run.emails_scheduled,
        run.calls_scheduled,
        run.skipped,
        t.elapsed()
    );
    assert_eq!(run.cases_processed, n);
    let t = std::time::Instant::now();
    let again = auto_schedule::run(
        &pool,
        &auto_schedule::RunOptions {
            clinic_ids: None,
            dry_run: false,
            now,
        },
    )
    .await
    .unwrap();
    println!(
        "second run: processed={} in {:?}",
        again.cases_processed,
        t.elapsed()
    );
    assert_eq!(again.cases_processed, 0);
}
