//! The legacy importer's mapping rules on a small hand-written old database: owner dedup,
//! placeholder Clerk ids, memberships from the old clinic fields, clinic settings, the per-case
//! patient snapshot, analysis blobs → `call_analysis`, status translation, and every skip
//! reason the rows below provoke. (Idempotence, resume, dry run, `--clinic` isolation and RLS
//! at scale are the property tests of `import_legacy*.rs`.)

use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use odis_worker::import::{run, ImportOptions, ImportReport};

use crate::helpers::app::database_url;

const CLINIC_A: &str = "00000000-0000-0000-0000-0000000000a1";
const CLINIC_B: &str = "00000000-0000-0000-0000-0000000000b1";
const GONE_CLINIC: &str = "00000000-0000-0000-0000-0000000000ff";
const U1: &str = "00000000-0000-0000-0000-000000000101";
const U2: &str = "00000000-0000-0000-0000-000000000102";

/// A fresh old database next to the test's own, loaded from `docs/spec/legacy-tables.sql`.
async fn old_database(pool: &PgPool) -> (String, PgConnection) {
    let url = database_url(pool);
    // Unquoted in SQL below, so lower case (the sqlx test names are mixed case).
    let name = format!(
        "{}_rules_old",
        pool.connect_options().get_database().unwrap_or("x")
    )
    .to_lowercase();
    let mut admin = PgConnection::connect(&url).await.unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name} TEMPLATE template0"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let old_url = url.replace(
        &format!("/{}", pool.connect_options().get_database().unwrap()),
        &format!("/{name}"),
    );
    let mut old = PgConnection::connect(&old_url).await.unwrap();
    let ddl = std::fs::read_to_string("docs/spec/legacy-tables.sql").unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA extensions; CREATE EXTENSION \"uuid-ossp\" SCHEMA extensions; {ddl}"
    )))
    .execute(&mut old)
    .await
    .unwrap();
    (old_url, old)
}

async fn seed(old: &mut PgConnection) {
    let sql = format!(
        r#"
INSERT INTO clinics (id, name, slug, is_active, pims_type, phone, address, clerk_org_id,
                     email_header_text, current_period_start)
VALUES ('{CLINIC_A}', 'Alpha Vets', 'alpha', true, 'idexx', '(408) 555-0100', '1 Main St', 'org_a',
        'Hello', 'not a date'),
       ('{CLINIC_B}', 'Beta Vets', 'beta', true, 'none', NULL, NULL, '', NULL, NULL);
INSERT INTO users (id, email, first_name, role, clerk_user_id, clinic_name, max_call_retries,
                   preferred_call_start_time, created_at)
VALUES ('{U1}', 'vet@alpha.test', 'Ann', 'practice_owner', 'user_ann', NULL, 5, '15:00', now() - interval '2 days'),
       ('{U2}', 'tech@beta.test', 'Bob', 'vet_tech', NULL, 'Beta Vets', NULL, NULL, now() - interval '1 day'),
       ('00000000-0000-0000-0000-000000000103', NULL, 'NoMail', 'vet_tech', NULL, NULL, NULL, NULL, now());
INSERT INTO user_clinic_access (id, user_id, clinic_id, role, is_primary)
VALUES ('00000000-0000-0000-0000-000000000201', '{U1}', '{CLINIC_A}', 'owner', true),
       ('00000000-0000-0000-0000-000000000202', '{U1}', '{CLINIC_B}', 'weird', false),
       ('00000000-0000-0000-0000-000000000203', '{U1}', '{GONE_CLINIC}', 'member', false);
INSERT INTO clients (id, clinic_id, display_name, phone, email)
VALUES ('00000000-0000-0000-0000-000000000301', '{CLINIC_A}', 'Carol', '(408) 555-0123', NULL),
       ('00000000-0000-0000-0000-000000000302', '{CLINIC_A}', 'Carol B.', '+1 408 555 0123', NULL),
       ('00000000-0000-0000-0000-000000000303', '{CLINIC_A}', 'Dan', 'call me', NULL),
       ('00000000-0000-0000-0000-000000000304', '{CLINIC_A}', 'Eve', '12', 'Eve@Example.com'),
       ('00000000-0000-0000-0000-000000000305', '{CLINIC_B}', 'Carol in B', '4085550123', NULL);
INSERT INTO canonical_patients (id, clinic_id, client_id, name, species)
VALUES ('00000000-0000-0000-0000-000000000401', '{CLINIC_A}', '00000000-0000-0000-0000-000000000302', 'Rex', 'dog');
INSERT INTO cases (id, clinic_id, user_id, canonical_patient_id, visibility, status, type)
VALUES ('00000000-0000-0000-0000-000000000501', '{CLINIC_A}', '{U1}', '00000000-0000-0000-0000-000000000401', 'private', 'completed', 'checkup'),
       ('00000000-0000-0000-0000-000000000502', '{CLINIC_A}', '{U1}', NULL, 'private', 'ongoing', 'surgery'),
       ('00000000-0000-0000-0000-000000000503', '{GONE_CLINIC}', NULL, NULL, 'private', 'draft', NULL);
INSERT INTO patients (id, case_id, name, species, owner_name, owner_phone, owner_email, created_at)
VALUES ('00000000-0000-0000-0000-000000000601', '00000000-0000-0000-0000-000000000502', 'Tom', 'cat', 'Fay', '650 555 0199', NULL, now() - interval '1 hour'),
       ('00000000-0000-0000-0000-000000000602', '00000000-0000-0000-0000-000000000502', 'Tom again', 'cat', 'Fay', NULL, NULL, now()),
       ('00000000-0000-0000-0000-000000000603', '00000000-0000-0000-0000-0000000009ff', 'Nobody', 'dog', NULL, NULL, NULL, now());
INSERT INTO scheduled_discharge_calls (id, case_id, user_id, status, dynamic_variables, customer_phone,
       scheduled_for, duration_seconds, call_outcome_data, escalation_data, attention_types, summary)
VALUES ('00000000-0000-0000-0000-000000000701', '00000000-0000-0000-0000-000000000501', '{U1}', 'completed',
        '{{"pet_name": "Rex"}}', '(408) 555-0123', '2026-01-02 10:00:00+00', 61.6,
        '{{"call_outcome": "reached_owner"}}', '{{"escalation_triggered": true}}', '{{pain}}', 'went well'),
       ('00000000-0000-0000-0000-000000000702', NULL, '{U1}', 'queued',
        '{{}}', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
       ('00000000-0000-0000-0000-000000000703', '00000000-0000-0000-0000-0000000009ff', '{U1}', 'queued',
        '{{}}', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO vapi_assistant_mappings (id, clinic_id, assistant_id, assistant_type, environment, is_active)
VALUES ('00000000-0000-0000-0000-000000000801', '{CLINIC_B}', 'asst_b', 'inbound', 'production', true);
INSERT INTO inbound_vapi_calls (id, vapi_call_id, assistant_id, status, customer_number, owner_sentiment_data)
VALUES ('00000000-0000-0000-0000-000000000901', 'vapi_in_1', 'asst_b', 'in_progress', '+14085550000',
        '{{"owner_sentiment": "positive"}}');
INSERT INTO scheduled_discharge_emails (id, user_id, case_id, recipient_email, subject, html_content, scheduled_for, status)
VALUES ('00000000-0000-0000-0000-000000000a01', '{U1}', '00000000-0000-0000-0000-000000000501', 'carol@x.test', 'Hi', '<p>Hi</p>', now(), 'cancelled');
INSERT INTO pims_appointments (id, clinic_id, time_range, room_id, status)
VALUES ('00000000-0000-0000-0000-000000000b01', '{CLINIC_A}', '[2026-01-05 10:00+00, 2026-01-05 10:30+00)', 'r1', 'scheduled'),
       ('00000000-0000-0000-0000-000000000b02', '{CLINIC_A}', '[2026-01-05 10:15+00, 2026-01-05 10:45+00)', 'r1', 'no-show'),
       ('00000000-0000-0000-0000-000000000b03', '{CLINIC_A}', '[2026-01-05 10:15+00, 2026-01-05 10:45+00)', 'r2', 'confirmed');
INSERT INTO retell_calls (id, agent_id, phone_number, retell_call_id, status)
VALUES (gen_random_uuid(), 'a', '+14085550000', gen_random_uuid(), 'ended');
"#
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(old)
        .await
        .unwrap();
}

fn opts(url: &str) -> ImportOptions {
    ImportOptions {
        batch_size: 2,
        ..ImportOptions::new(url)
    }
}

fn reasons(r: &ImportReport, table: &str) -> Vec<(String, u64)> {
    r.old_tables[table]
        .skip_reasons
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn id(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

#[sqlx::test]
async fn import_legacy_rules_map_every_awkward_row(pool: PgPool) {
    let (url, mut old) = old_database(&pool).await;
    seed(&mut old).await;
    let report = run(&pool, &opts(&url)).await.unwrap();

    assert!(report.reconciled, "{}", report.table());
    for (t, s) in &report.old_tables {
        assert_eq!(s.read, s.imported + s.merged + s.skipped, "{t}");
    }
    assert_eq!(report.not_imported.get("retell_calls"), Some(&1));

    // Users: placeholder Clerk id, a user without e-mail skipped, memberships from both sources.
    let clerk: String = sqlx::query_scalar("SELECT clerk_user_id FROM users WHERE id = $1")
        .bind(id(U2))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(clerk, format!("pending:legacy:{U2}"));
    assert_eq!(
        reasons(&report, "users"),
        [("missing_required:email".into(), 1)]
    );
    let access: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT user_id, clinic_id, role FROM user_clinic_access ORDER BY user_id, clinic_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        access,
        [
            (id(U1), id(CLINIC_A), "owner".into()),
            (id(U1), id(CLINIC_B), "member".into()),
            (id(U2), id(CLINIC_B), "member".into()),
        ]
    );
    assert_eq!(
        reasons(&report, "user_clinic_access"),
        [("dangling_clinic".into(), 1)]
    );

    // Clinic and its settings (from its oldest user; V2 defaults for what that user left empty).
    let (pims, address, period): (String, Value, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as(
            "SELECT pims_type, address, current_period_start FROM clinics WHERE id = $1",
        )
        .bind(id(CLINIC_A))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (pims.as_str(), address, period),
        ("idexx_neo", json!({"line1": "1 Main St"}), None)
    );
    let (retries, start, header): (i32, chrono::NaiveTime, Option<String>) = sqlx::query_as(
        "SELECT max_call_retries, preferred_call_start_time, email_header_text \
         FROM clinic_settings WHERE clinic_id = $1",
    )
    .bind(id(CLINIC_A))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(retries, 5);
    assert_eq!(start.to_string(), "15:00:00");
    assert_eq!(header.as_deref(), Some("Hello"));
    let b_retries: i32 =
        sqlx::query_scalar("SELECT max_call_retries FROM clinic_settings WHERE clinic_id = $1")
            .bind(id(CLINIC_B))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        b_retries, 3,
        "U2 (Beta's only user) left it empty: the V2 default"
    );

    check_clients_and_cases(&pool, &report).await;
    check_calls(&pool, &report).await;

    // Appointments: the overlap in one room is skipped, another room may overlap.
    assert_eq!(
        reasons(&report, "pims_appointments"),
        [("overlapping_appointment".into(), 1)]
    );

    // A second run writes nothing and reports the same counts.
    let again = run(&pool, &opts(&url)).await.unwrap();
    for (t, s) in &again.new_tables {
        assert_eq!(s.written, 0, "{t} written again");
    }
    assert_eq!(again.old_tables, report.old_tables);
    old.close().await.unwrap();
}

async fn check_clients_and_cases(pool: &PgPool, report: &ImportReport) {
    // Carol B. has Carol's phone once normalised: merged into Carol; Carol in clinic B is not.
    let s = &report.old_tables["clients"];
    assert_eq!((s.imported, s.merged, s.skipped), (3, 1, 1));
    assert_eq!(reasons(report, "clients"), [("bad_phone".into(), 1)]);
    let merged: Uuid = sqlx::query_scalar(
        "SELECT new_id FROM legacy_id_map WHERE old_table = 'clients' AND old_id = $1",
    )
    .bind(id("00000000-0000-0000-0000-000000000302"))
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(merged, id("00000000-0000-0000-0000-000000000301"));
    let (phone, meta): (Option<String>, Value) =
        sqlx::query_as("SELECT phone, metadata FROM clients WHERE id = $1")
            .bind(id("00000000-0000-0000-0000-000000000304"))
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!((phone, meta["legacy_phone"].clone()), (None, json!("12")));
    // Rex's owner is the merged client's survivor.
    let rex_owner: Uuid = sqlx::query_scalar("SELECT client_id FROM patients WHERE id = $1")
        .bind(id("00000000-0000-0000-0000-000000000401"))
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(rex_owner, merged);

    let (patient, client): (Option<Uuid>, Option<Uuid>) =
        sqlx::query_as("SELECT patient_id, client_id FROM cases WHERE id = $1")
            .bind(id("00000000-0000-0000-0000-000000000501"))
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        (patient, client),
        (
            Some(id("00000000-0000-0000-0000-000000000401")),
            Some(merged)
        )
    );
    // A case without a canonical patient: snapshot from its first per-case patient, and a new
    // client from that patient's owner.
    let (patient, snap, owner_phone): (Option<Uuid>, Value, Option<String>) = sqlx::query_as(
        "SELECT k.patient_id, k.patient_snapshot, c.phone FROM cases k \
         JOIN clients c ON c.id = k.client_id WHERE k.id = $1",
    )
    .bind(id("00000000-0000-0000-0000-000000000502"))
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(patient, None);
    assert_eq!(snap["name"], json!("Tom"));
    assert_eq!(owner_phone.as_deref(), Some("+16505550199"));
    assert_eq!(reasons(report, "cases"), [("dangling_clinic".into(), 1)]);
    let p = &report.old_tables["patients"];
    assert_eq!((p.merged, p.skipped), (1, 2));
    assert_eq!(
        reasons(report, "patients"),
        [
            ("dangling:case_id".into(), 1),
            ("duplicate_case_patient".into(), 1)
        ]
    );
}

async fn check_calls(pool: &PgPool, report: &ImportReport) {
    let (status, phone, duration, meta): (String, Option<String>, Option<i32>, Value) =
        sqlx::query_as(
            "SELECT status, customer_phone, duration_seconds, metadata FROM outbound_calls WHERE id = $1",
        )
        .bind(id("00000000-0000-0000-0000-000000000701"))
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(status, "ended");
    assert_eq!(phone.as_deref(), Some("+14085550123"));
    assert_eq!(duration, Some(62));
    assert_eq!(meta["dynamic_variables"], json!({"pet_name": "Rex"}));
    let (outcome, escalated, types, summary): (Option<String>, bool, Vec<String>, Option<String>) =
        sqlx::query_as(
            "SELECT call_outcome, escalation_triggered, attention_types, summary \
             FROM call_analysis WHERE outbound_call_id = $1",
        )
        .bind(id("00000000-0000-0000-0000-000000000701"))
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(outcome.as_deref(), Some("reached_owner"));
    assert!(escalated);
    assert_eq!(types, ["pain"]);
    assert_eq!(summary.as_deref(), Some("went well"));
    // No case at all; a case that does not exist (its clinic found through the user).
    assert_eq!(
        reasons(report, "scheduled_discharge_calls"),
        [
            ("dangling_reference:outbound_calls_case_id_fkey".into(), 1),
            ("missing_required:case_id".into(), 1)
        ]
    );

    let (clinic, status, phone): (Uuid, String, Option<String>) = sqlx::query_as(
        "SELECT clinic_id, status, customer_phone FROM inbound_calls WHERE vapi_call_id = 'vapi_in_1'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        (clinic, status.as_str(), phone.as_deref()),
        (id(CLINIC_B), "in-progress", Some("+14085550000"))
    );
    let sentiment: Option<String> = sqlx::query_scalar(
        "SELECT owner_sentiment FROM call_analysis WHERE inbound_call_id = '00000000-0000-0000-0000-000000000901'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(sentiment.as_deref(), Some("positive"));
    let email: String = sqlx::query_scalar("SELECT status FROM outbound_emails")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(email, "cancelled");
}
