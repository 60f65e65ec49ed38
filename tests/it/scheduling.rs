//! Integration tests of the scheduling module against a real PostgreSQL (a fresh database per
//! test via `#[sqlx::test]`). Run with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres`.

use chrono::{DateTime, Duration, Utc};
use odis_worker::scheduling::{auto_schedule, discharge_batch};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::seed::{
    self, AutoSchedulingConfigOpts, CaseOpts, CaseTypeCadenceOpts, ClinicOpts, ClinicSettingsOpts,
    DischargeBatchItemOpts, DischargeBatchOpts, OutboundCallOpts, Owner, Summary,
};

fn u(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The owner of `pet`, reachable by phone and email.
fn owner_of(pet: &str) -> Owner {
    Owner {
        name: format!("Owner of {pet}"),
        phone: Some("(212) 555-0101".into()),
        email: Some("owner@example.com".into()),
        pet: pet.into(),
        species: "dog".into(),
    }
}

/// A completed case of `pet` (no case type), created 2024-03-08 15:00 UTC, with its owner and a
/// discharge summary that names the pet.
fn case_of(clinic_id: Uuid, pet: &str) -> CaseOpts {
    CaseOpts {
        clinic_id,
        owner: Some(owner_of(pet)),
        summary: Some(Summary {
            content: "Rest for a week & keep the cone on.".into(),
            structured_content: Some(json!({
                "appointmentSummary": format!("{pet} came in today for a checkup."),
                "diagnosis": "Healthy"
            })),
        }),
        case_type: None,
        created_at: Some(u("2024-03-08T15:00:00Z")),
        ..Default::default()
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// `count(*)` of `sql`, whose `$1` is a clinic id.
async fn count_in(pool: &PgPool, clinic_id: Uuid, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(clinic_id)
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
    let ny = seed::clinic(&pool, ClinicOpts::named("Hudson Vet", "America/New_York")).await;
    let adl = seed::clinic(
        &pool,
        ClinicOpts::named("Adelaide Vet", "Australia/Adelaide"),
    )
    .await;
    let off = seed::clinic(&pool, ClinicOpts::named("Disabled Vet", "America/Chicago")).await;
    seed::auto_scheduling_config(
        &pool,
        AutoSchedulingConfigOpts {
            clinic_id: ny,
            is_enabled: true,
            email_delay_days: Some(1),
            call_delay_days: Some(2),
            preferred_email_time: Some("10:00".into()),
            preferred_call_time: Some("16:00".into()),
            scheduling_criteria: json!({"maxCaseAgeDays": 5}),
        },
    )
    .await;
    // Adelaide's config leaves every cadence value NULL → clinic_settings supplies them.
    seed::auto_scheduling_config(
        &pool,
        AutoSchedulingConfigOpts {
            clinic_id: adl,
            email_delay_days: None,
            call_delay_days: None,
            preferred_email_time: None,
            preferred_call_time: None,
            ..Default::default()
        },
    )
    .await;
    seed::auto_scheduling_config(
        &pool,
        AutoSchedulingConfigOpts {
            clinic_id: off,
            is_enabled: false,
            email_delay_days: Some(1),
            call_delay_days: Some(1),
            preferred_email_time: Some("10:00".into()),
            preferred_call_time: Some("10:00".into()),
            ..Default::default()
        },
    )
    .await;
    for clinic_id in [ny, adl] {
        seed::clinic_settings(
            &pool,
            ClinicSettingsOpts {
                clinic_id,
                email_delay_days: Some(4),
                call_delay_days: Some(5),
                preferred_email_start_time: Some("08:00".into()),
                preferred_call_start_time: Some("17:30".into()),
                ..Default::default()
            },
        )
        .await;
    }
    seed::case_type_cadence(
        &pool,
        CaseTypeCadenceOpts {
            clinic_id: ny,
            case_type: "surgery".into(),
            call_delay_days: 1,
            email_delay_days: 0,
            preferred_call_time: "11:00".into(),
            preferred_email_time: "09:00".into(),
            never_auto_schedule: false,
        },
    )
    .await;
    seed::case_type_cadence(
        &pool,
        CaseTypeCadenceOpts {
            clinic_id: ny,
            case_type: "wellness".into(),
            call_delay_days: 1,
            email_delay_days: 1,
            preferred_call_time: "10:00".into(),
            preferred_email_time: "10:00".into(),
            never_auto_schedule: true,
        },
    )
    .await;

    // Case override (beats the surgery row; times come from it).
    let a = seed::case(
        &pool,
        CaseOpts {
            case_type: Some("surgery".into()),
            cadence_source: Some("custom".into()),
            call_delay_days: Some(3),
            email_delay_days: Some(2),
            ..case_of(ny, "Alpha")
        },
    )
    .await
    .id;
    // Case-type cadence.
    let b = seed::case(
        &pool,
        CaseOpts {
            case_type: Some("surgery".into()),
            created_at: Some(u("2024-03-08T14:59:30Z")),
            ..case_of(ny, "Bravo")
        },
    )
    .await
    .id;
    let c = seed::case(
        &pool,
        CaseOpts {
            case_type: Some("Wellness".into()),
            ..case_of(ny, "Charlie")
        },
    )
    .await
    .id;
    // auto_scheduling_config; D, E and L all land on 16:00 EDT on 2024-03-10.
    let d = seed::case(
        &pool,
        CaseOpts {
            created_at: Some(u("2024-03-08T14:59:00Z")),
            ..case_of(ny, "Delta")
        },
    )
    .await
    .id;
    let e = seed::case(
        &pool,
        CaseOpts {
            created_at: Some(u("2024-03-08T14:58:00Z")),
            ..case_of(ny, "Echo")
        },
    )
    .await
    .id;
    let l = seed::case(
        &pool,
        CaseOpts {
            created_at: Some(u("2024-03-08T14:57:00Z")),
            owner: None,
            patient_snapshot: Some(json!({
                "name": "Lima", "owner_name": "Snap Owner", "owner_phone": "212-555-0199",
                "owner_email": "snap@example.com"
            })),
            ..case_of(ny, "Lima")
        },
    )
    .await
    .id;
    // Skips.
    let h = seed::case(
        &pool,
        CaseOpts {
            entity_extraction: Some(json!({"caseType": "euthanasia"})),
            ..case_of(ny, "Hotel")
        },
    )
    .await
    .id;
    let i = seed::case(
        &pool,
        CaseOpts {
            owner: Some(Owner {
                phone: None,
                email: Some("not-an-email".into()),
                ..owner_of("India")
            }),
            ..case_of(ny, "India")
        },
    )
    .await
    .id;
    let j = seed::case(
        &pool,
        CaseOpts {
            summary: None,
            ..case_of(ny, "Juliet")
        },
    )
    .await
    .id;
    let _draft = seed::case(
        &pool,
        CaseOpts {
            status: "draft".into(),
            ..case_of(ny, "Kilo")
        },
    )
    .await;
    let _old = seed::case(
        &pool,
        CaseOpts {
            created_at: Some(u("2024-03-01T15:00:00Z")),
            ..case_of(ny, "Oscar")
        },
    )
    .await;
    let _disabled = seed::case(&pool, case_of(off, "Papa")).await;
    // clinic_settings level, half-hour zone: created 01:30 ACDT on 2024-03-09 (local date).
    let g = seed::case(
        &pool,
        CaseOpts {
            owner: Some(Owner {
                phone: Some("+61 8 8123 4567".into()),
                ..owner_of("Golf")
            }),
            ..case_of(adl, "Golf")
        },
    )
    .await
    .id;

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
    let la = seed::clinic(
        &pool,
        ClinicOpts::named("Sunset Vet", "America/Los_Angeles"),
    )
    .await;
    seed::auto_scheduling_config(
        &pool,
        AutoSchedulingConfigOpts {
            clinic_id: la,
            call_delay_days: Some(1),
            preferred_call_time: Some("16:00".into()),
            ..Default::default()
        },
    )
    .await;
    let x = seed::case(
        &pool,
        CaseOpts {
            created_at: Some(u("2024-12-12T18:00:00Z")),
            ..case_of(la, "Xray")
        },
    )
    .await
    .id;
    let y = seed::case(
        &pool,
        CaseOpts {
            created_at: Some(u("2024-12-12T17:00:00Z")),
            ..case_of(la, "Yankee")
        },
    )
    .await
    .id;
    // A call already queued at 16:00 PST on 12-13 (e.g. from a batch) for another case.
    seed::outbound_call(
        &pool,
        OutboundCallOpts {
            clinic_id: la,
            case_id: y,
            customer_phone: None,
            scheduled_for: Some(u("2024-12-14T00:00:00Z")),
            ..Default::default()
        },
    )
    .await;
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
    clinic_id: Uuid,
    cases: Vec<Uuid>,
}

const EMAIL_T0: &str = "2024-12-13T18:00:00Z";
const CALL_T0: &str = "2024-12-15T00:00:00Z";

/// A pending batch of `n` cases in a new clinic "Batch Vet".
async fn batch(pool: &PgPool, n: usize, metadata: Value) -> Batch {
    batch_in(pool, "Batch Vet", n, metadata).await
}

/// A pending batch of `n` cases in a new clinic named `clinic`.
async fn batch_in(pool: &PgPool, clinic: &str, n: usize, metadata: Value) -> Batch {
    let cl = seed::clinic(pool, ClinicOpts::named(clinic, "America/Los_Angeles")).await;
    let id = seed::discharge_batch(
        pool,
        DischargeBatchOpts {
            clinic_id: cl,
            total_cases: Some(i32::try_from(n).unwrap()),
            email_schedule_time: Some(u(EMAIL_T0)),
            call_schedule_time: Some(u(CALL_T0)),
            metadata: Some(metadata),
            ..Default::default()
        },
    )
    .await;
    let mut cases = Vec::new();
    for k in 0..n {
        let c = seed::case(pool, case_of(cl, &format!("Pet{k}"))).await.id;
        seed::discharge_batch_item(
            pool,
            DischargeBatchItemOpts {
                batch_id: id,
                case_id: c,
                // Distinct created_at gives the stable processing order the stagger is based on.
                created_at: Some(
                    u("2024-12-12T10:00:00Z") + Duration::seconds(i64::try_from(k).unwrap()),
                ),
                ..Default::default()
            },
        )
        .await;
        cases.push(c);
    }
    Batch {
        id,
        clinic_id: cl,
        cases,
    }
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
    let cl = seed::clinic(pool, ClinicOpts::named("Empty Vet", "America/Denver")).await;
    let id = seed::discharge_batch(
        pool,
        DischargeBatchOpts {
            clinic_id: cl,
            ..Default::default()
        },
    )
    .await;
    for k in 0..2 {
        let pet = format!("Nobody{k}");
        let c = seed::case(
            pool,
            CaseOpts {
                owner: Some(Owner {
                    phone: None,
                    email: None,
                    ..owner_of(&pet)
                }),
                ..case_of(cl, &pet)
            },
        )
        .await
        .id;
        seed::discharge_batch_item(
            pool,
            DischargeBatchItemOpts {
                batch_id: id,
                case_id: c,
                ..Default::default()
            },
        )
        .await;
    }
    id
}

/// How a batch gets cancelled while it is being processed.
enum CancelBy {
    /// `discharge_batch::cancel` (the service's own cancel).
    Cancel,
    /// The dashboard's plain `UPDATE … SET status = 'cancelled'`: the processor stops at its next
    /// item and runs the cascade itself.
    StatusUpdate,
}

/// A batch of 25 cancelled midway: the calls and emails of processed items that were not sent
/// yet are cancelled, sent ones are left alone, the other items are cancelled, and the processor
/// never resumes the batch. Each row has a clinic and a batch of its own.
#[sqlx::test(migrations = "./migrations")]
async fn batch_cancelled_midway_cancels_undispatched_rows(pool: PgPool) {
    let now = u("2024-12-12T12:00:00Z");
    // (case, batch metadata, cancelled by, items processed before, emails already sent by then)
    let both_channels = json!({"emailsEnabled": true, "callsEnabled": true});
    let cases = [
        (
            "cancel() after 10 items",
            both_channels,
            CancelBy::Cancel,
            10,
            1,
        ),
        (
            "status update after 5 items",
            json!({}),
            CancelBy::StatusUpdate,
            5,
            0,
        ),
    ];
    for (i, (case, metadata, by, done, sent)) in cases.into_iter().enumerate() {
        let b = batch_in(&pool, &format!("Batch Vet {i}"), 25, metadata).await;
        let count = |sql: &'static str| count_in(&pool, b.clinic_id, sql);
        let part = discharge_batch::process_limited(&pool, b.id, now, Some(done))
            .await
            .unwrap();
        assert_eq!(
            (part.status.as_str(), part.processed, part.cancelled),
            ("processing", done as i32, false),
            "{case}"
        );
        // Emails that already went out: cancel must leave them alone.
        for c in &b.cases[..sent] {
            sqlx::query("UPDATE outbound_emails SET status = 'sent' WHERE case_id = $1")
                .bind(c)
                .execute(&pool)
                .await
                .unwrap();
        }

        let out = match by {
            CancelBy::Cancel => discharge_batch::cancel(&pool, b.id).await.unwrap(),
            CancelBy::StatusUpdate => {
                sqlx::query(
                    "UPDATE discharge_batches SET status = 'cancelled', cancelled_at = now() \
                     WHERE id = $1",
                )
                .bind(b.id)
                .execute(&pool)
                .await
                .unwrap();
                assert_eq!(
                    discharge_batch::due_batches(&pool).await.unwrap(),
                    vec![b.id],
                    "{case}: offered to the processor for the cascade"
                );
                discharge_batch::process(&pool, b.id, now).await.unwrap()
            }
        };
        assert_eq!(
            (out.status.as_str(), out.cancelled, out.processed),
            ("cancelled", true, done as i32),
            "{case}"
        );
        let done = done as i64;
        let sent = sent as i64;
        let counts = [
            (
                "calls",
                "SELECT count(*) FROM outbound_calls WHERE clinic_id = $1",
                done,
            ),
            (
                "cancelled calls",
                "SELECT count(*) FROM outbound_calls WHERE clinic_id = $1 AND status = 'cancelled' \
                 AND metadata->>'cancelled_reason' = 'Discharge batch cancelled'",
                done,
            ),
            (
                "queued calls",
                "SELECT count(*) FROM outbound_calls WHERE clinic_id = $1 AND status = 'queued'",
                0,
            ),
            (
                "cancelled emails",
                "SELECT count(*) FROM outbound_emails WHERE clinic_id = $1 AND status = 'cancelled'",
                done - sent,
            ),
            (
                "sent emails",
                "SELECT count(*) FROM outbound_emails WHERE clinic_id = $1 AND status = 'sent'",
                sent,
            ),
            (
                "cancelled items",
                "SELECT count(*) FROM discharge_batch_items i JOIN discharge_batches b \
                 ON b.id = i.batch_id WHERE b.clinic_id = $1 AND i.status = 'cancelled'",
                25,
            ),
        ];
        for (what, sql, want) in counts {
            assert_eq!(count(sql).await, want, "{case}: {what}");
        }

        // The processor does not resume a cancelled batch.
        let after = discharge_batch::process(&pool, b.id, now).await.unwrap();
        assert!(after.cancelled, "{case}");
        assert_eq!(count(counts[0].1).await, done, "{case}: calls after");
        assert!(
            discharge_batch::due_batches(&pool)
                .await
                .unwrap()
                .is_empty(),
            "{case}: nothing due"
        );
    }
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

/// A Los Angeles clinic that auto-schedules cases up to 30 days old (the scale tests' clinic).
async fn big_vet(pool: &PgPool) -> Uuid {
    let cl = seed::clinic(pool, ClinicOpts::named("Big Vet", "America/Los_Angeles")).await;
    seed::auto_scheduling_config(
        pool,
        AutoSchedulingConfigOpts {
            clinic_id: cl,
            scheduling_criteria: json!({"maxCaseAgeDays": 30}),
            ..Default::default()
        },
    )
    .await;
    cl
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
    let cl = big_vet(&pool).await;
    // Set-based: a factory call per row would take minutes for 100,000 cases.
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

/// A clinic with more candidates than one page: the run walks its pages in keyset order
/// (`created_at`, then `id` among equal times) and schedules every case exactly once, in a dry
/// run (nothing claimed, so only the keyset moves on) as in a real one.
#[sqlx::test(migrations = "./migrations")]
async fn auto_schedule_pages_through_a_clinic_with_many_candidates(pool: PgPool) {
    let n = 2 * auto_schedule::PAGE_SIZE + 345;
    let now = u("2024-12-12T20:00:00Z");
    let cl = big_vet(&pool).await;
    // Set-based (a factory call per row is slow); three distinct creation times only, so page
    // boundaries fall among cases created at the same instant.
    sqlx::query(
        "WITH cl AS (INSERT INTO clients (clinic_id, display_name, phone, email) \
           SELECT $1, 'Owner ' || g, '408555' || lpad((g % 10000)::text, 4, '0'), 'o' || g || '@example.com' \
           FROM generate_series(1, $2) g RETURNING id), \
         numbered AS (SELECT id, row_number() OVER () AS g FROM cl), \
         pa AS (INSERT INTO patients (clinic_id, client_id, name, species) \
           SELECT $1, id, 'Pet ' || g, 'dog' FROM numbered RETURNING id, client_id) \
         INSERT INTO cases (clinic_id, client_id, patient_id, status, created_at) \
           SELECT $1, pa.client_id, pa.id, 'completed', \
                  $3::timestamptz - interval '1 day' - (row_number() OVER () % 3) * interval '1 hour' FROM pa",
    )
    .bind(cl)
    .bind(n)
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO discharge_summaries (case_id, clinic_id, content) SELECT id, clinic_id, 'Rest and recheck in two weeks.' FROM cases")
        .execute(&pool).await.unwrap();
    let opts = |dry_run| auto_schedule::RunOptions {
        clinic_ids: None,
        dry_run,
        now,
    };
    let dry = auto_schedule::run(&pool, &opts(true)).await.unwrap();
    assert_eq!((dry.cases_processed, dry.skipped, dry.errors), (n, 0, 0));
    let run = auto_schedule::run(&pool, &opts(false)).await.unwrap();
    assert_eq!((run.cases_processed, run.skipped, run.errors), (n, 0, 0));
    for sql in [
        "SELECT count(DISTINCT case_id) FROM auto_scheduled_items",
        "SELECT count(*) FROM auto_scheduled_items",
        "SELECT count(DISTINCT case_id) FROM outbound_emails",
        "SELECT count(DISTINCT case_id) FROM outbound_calls",
        "SELECT count(*) FROM cases WHERE scheduling_source = 'auto' AND auto_scheduled_at IS NOT NULL",
    ] {
        assert_eq!(count(&pool, sql).await, n, "{sql}");
    }
    let again = auto_schedule::run(&pool, &opts(false)).await.unwrap();
    assert_eq!(again.cases_processed, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM auto_scheduled_items").await,
        n
    );
}
