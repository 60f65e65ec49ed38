//! Clinic-consistent references (`migrations/20261130000100_tenant_consistent_keys.sql`) and the
//! API roles' table privileges (`…_api_role_privileges_and_empty_claims.sql`).
//!
//! Row-level security checks only a row's own `clinic_id`; these tests prove a member of clinic
//! A cannot point A's rows at clinic B's rows. The pairs are read from the catalog (every foreign
//! key between two tables that both carry `clinic_id`, and every table without `clinic_id` that
//! references several clinic-scoped tables), so a new table cannot forget its composite key.
//! The probes run as `authenticated` with A's claims and foreign keys enforced, on the fixture
//! of `rls.rs` (one row per clinic in every clinic-scoped table).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::helpers::catalog::{describe, exec, exec_in_savepoint, sqlstate, uuid_lit};
use crate::helpers::seed::{self, ClinicOpts, UserOpts};
use crate::rls::{act_as, act_as_with_keys, setup, Fixture, CLAIMS_FOR_A};

/// One foreign key as the catalog describes it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ForeignKey {
    name: String,
    child: String,
    columns: Vec<String>,
    parent: String,
    parent_columns: Vec<String>,
}

/// References a composite key cannot express, each checked by a trigger of the migration:
/// (child table, column, trigger name).
const TRIGGER_CHECKED: [(&str, &str, &str); 5] = [
    // Global templates have clinic_id NULL.
    (
        "discharge_summaries",
        "template_id",
        "discharge_summaries_template_same_clinic",
    ),
    // discharge_batch_items has no clinic_id: its rows must be of its batch's clinic.
    (
        "discharge_batch_items",
        "case_id",
        "discharge_batch_items_same_clinic",
    ),
    (
        "discharge_batch_items",
        "patient_id",
        "discharge_batch_items_same_clinic",
    ),
    (
        "discharge_batch_items",
        "outbound_call_id",
        "discharge_batch_items_same_clinic",
    ),
    (
        "discharge_batch_items",
        "outbound_email_id",
        "discharge_batch_items_same_clinic",
    ),
];

async fn foreign_keys(pool: &PgPool) -> Vec<ForeignKey> {
    sqlx::query_as(
        "SELECT c.conname::text AS name, c.conrelid::regclass::text AS child,
                array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                      ORDER BY k.o) AS columns,
                c.confrelid::regclass::text AS parent,
                array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                      ORDER BY k.o) AS parent_columns
         FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
         ORDER BY 2, 1",
    )
    .fetch_all(pool)
    .await
    .expect("read foreign keys from pg_catalog")
}

/// The referencing column of a foreign key, i.e. its columns other than `clinic_id`.
fn id_column(fk: &ForeignKey) -> &str {
    fk.columns
        .iter()
        .find(|c| *c != "clinic_id")
        .map(String::as_str)
        .unwrap_or("clinic_id")
}

fn keeps_clinic(fk: &ForeignKey) -> bool {
    fk.columns
        .iter()
        .zip(&fk.parent_columns)
        .any(|(c, p)| c == "clinic_id" && p == "clinic_id")
}

/// Every tenant-crossing reference of the schema, by kind.
struct Pairs {
    /// Foreign keys between two clinic-scoped tables.
    composite: Vec<ForeignKey>,
    /// References the composite rule cannot cover: (child, column, parent).
    triggered: Vec<(String, String, String)>,
}

fn classify(fx: &Fixture, fks: &[ForeignKey]) -> Pairs {
    let scoped: BTreeSet<&str> = fx.clinic_scoped().iter().map(|t| t.name.as_str()).collect();
    let mut composite = Vec::new();
    let mut triggered = Vec::new();
    let mut unscoped_refs: BTreeMap<&str, Vec<&ForeignKey>> = BTreeMap::new();
    for fk in fks {
        let parent_scoped = scoped.contains(fk.parent.as_str());
        if !parent_scoped || fk.parent == "clinics" {
            continue;
        }
        if scoped.contains(fk.child.as_str()) {
            let nullable_parent_clinic = fx.tables[&fk.parent]
                .column("clinic_id")
                .is_some_and(|c| !c.not_null);
            if nullable_parent_clinic {
                triggered.push((
                    fk.child.clone(),
                    id_column(fk).to_owned(),
                    fk.parent.clone(),
                ));
            } else {
                composite.push(fk.clone());
            }
        } else {
            unscoped_refs.entry(fk.child.as_str()).or_default().push(fk);
        }
    }
    // A table without clinic_id that references several clinic-scoped tables can mix clinics:
    // every reference but the one that scopes it (its first key by name) must be checked.
    for refs in unscoped_refs.values().filter(|refs| refs.len() > 1) {
        for fk in refs {
            triggered.push((
                fk.child.clone(),
                id_column(fk).to_owned(),
                fk.parent.clone(),
            ));
        }
    }
    Pairs {
        composite,
        triggered,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn every_reference_between_clinic_scoped_tables_keeps_the_clinic(pool: PgPool) {
    let fx = setup(&pool).await;
    let pairs = classify(&fx, &foreign_keys(&pool).await);
    assert!(
        pairs.composite.len() >= 23,
        "only {} clinic-scoped references found: {:?}",
        pairs.composite.len(),
        pairs.composite.iter().map(|f| &f.name).collect::<Vec<_>>()
    );
    let single: Vec<String> = pairs
        .composite
        .iter()
        .filter(|fk| !keeps_clinic(fk))
        .map(|fk| {
            format!(
                "{} ({}.{} -> {})",
                fk.name,
                fk.child,
                id_column(fk),
                fk.parent
            )
        })
        .collect();
    assert!(
        single.is_empty(),
        "foreign keys between clinic-scoped tables without clinic_id in the key \
         (make them (x_id, clinic_id) REFERENCES parent (id, clinic_id)):\n  {}",
        single.join("\n  ")
    );

    let triggers: Vec<(String, String)> = sqlx::query_as(
        "SELECT tgrelid::regclass::text, tgname::text FROM pg_trigger WHERE NOT tgisinternal",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut unchecked = Vec::new();
    for (child, column, parent) in &pairs.triggered {
        if child == "discharge_batch_items" && column == "batch_id" {
            continue; // the key that scopes the item
        }
        let listed = TRIGGER_CHECKED
            .iter()
            .find(|(c, col, _)| c == child && col == column);
        match listed {
            Some((_, _, trigger)) if triggers.iter().any(|(t, n)| t == child && n == trigger) => {}
            Some((_, _, trigger)) => {
                unchecked.push(format!("{child}.{column}: no trigger {trigger}"))
            }
            None => unchecked.push(format!(
                "{child}.{column} -> {parent}: no composite key possible and not in TRIGGER_CHECKED"
            )),
        }
    }
    assert!(
        unchecked.is_empty(),
        "unchecked references:\n  {}",
        unchecked.join("\n  ")
    );
}

/// `UPDATE <child> SET <column> = <target> WHERE id = <row>` in a savepoint.
async fn repoint(
    conn: &mut PgConnection,
    child: &str,
    column: &str,
    row: Uuid,
    target: Uuid,
) -> Result<u64, sqlx::Error> {
    // call_analysis belongs to exactly one call (CHECK num_nonnulls(...) = 1): re-pointing one
    // call column clears the other.
    let other = match (child, column) {
        ("call_analysis", "inbound_call_id") => ", outbound_call_id = NULL",
        ("call_analysis", "outbound_call_id") => ", inbound_call_id = NULL",
        _ => "",
    };
    let sql = format!(
        "UPDATE {child} SET {column} = {}{other} WHERE id = {}",
        uuid_lit(target),
        uuid_lit(row)
    );
    exec_in_savepoint(conn, &sql).await
}

fn expect_fk_violation(
    failures: &mut Vec<String>,
    what: String,
    outcome: &Result<u64, sqlx::Error>,
) {
    let refused = matches!(outcome, Err(err) if sqlstate(err).as_deref() == Some("23503"));
    if !refused {
        failures.push(format!(
            "{what}: expected SQLSTATE 23503, got {}",
            describe(outcome)
        ));
    }
}

fn expect_one_row(failures: &mut Vec<String>, what: String, outcome: &Result<u64, sqlx::Error>) {
    if !matches!(outcome, Ok(1)) {
        failures.push(format!("{what}: expected 1 row, got {}", describe(outcome)));
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_clinic_cannot_point_its_rows_at_another_clinics_rows(pool: PgPool) {
    let fx = setup(&pool).await;
    let pairs = classify(&fx, &foreign_keys(&pool).await);
    let mut probes: Vec<(String, String, String)> = pairs
        .composite
        .iter()
        .map(|fk| {
            (
                fk.child.clone(),
                id_column(fk).to_owned(),
                fk.parent.clone(),
            )
        })
        .collect();
    probes.extend(
        pairs
            .triggered
            .iter()
            .filter(|(c, col, _)| !(c == "discharge_batch_items" && col == "batch_id"))
            .cloned(),
    );
    let mut failures = Vec::new();
    for claims in CLAIMS_FOR_A {
        let mut tx = act_as_with_keys(&pool, "authenticated", Some(claims)).await;
        for (child, column, parent) in &probes {
            // A's row (for tables without clinic_id: the one under A's parent, `rls::CHILD_TABLES`).
            let row = fx.row(child, fx.clinic_a);
            let label = |to: &str| format!("{child}.{column} -> {to} {parent} as {claims}");
            let outcome = repoint(&mut tx, child, column, row, fx.row(parent, fx.clinic_b)).await;
            expect_fk_violation(&mut failures, label("B's"), &outcome);
            // The control: the same statement towards A's own parent row goes through.
            let outcome = repoint(&mut tx, child, column, row, fx.row(parent, fx.clinic_a)).await;
            expect_one_row(&mut failures, label("A's"), &outcome);
        }
        tx.rollback().await.unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} cross-clinic reference failures over {} references:\n  {}",
        failures.len(),
        probes.len(),
        failures.join("\n  ")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_service_cannot_write_a_cross_clinic_reference_either(pool: PgPool) {
    let zone = "America/Los_Angeles";
    let a = seed::clinic(&pool, ClinicOpts::named("Clinic A", zone)).await;
    let b = seed::clinic(&pool, ClinicOpts::named("Clinic B", zone)).await;
    let case_b = seed::case(
        &pool,
        seed::CaseOpts {
            clinic_id: b,
            ..Default::default()
        },
    )
    .await;
    let outcome = sqlx::query(
        "INSERT INTO outbound_calls (clinic_id, case_id, customer_phone, scheduled_for)
         VALUES ($1, $2, '+15550100', now())",
    )
    .bind(a)
    .bind(case_b.id)
    .execute(&pool)
    .await;
    let code = outcome.as_ref().err().and_then(sqlstate);
    assert_eq!(
        code.as_deref(),
        Some("23503"),
        "clinic A's call on clinic B's case was stored: {outcome:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn global_templates_stay_usable_by_every_clinic(pool: PgPool) {
    let fx = setup(&pool).await;
    let global: Uuid = sqlx::query_scalar(
        "INSERT INTO discharge_templates (clinic_id, name, content) VALUES (NULL, 'global', 'x')
         RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut tx = act_as_with_keys(&pool, "authenticated", Some(CLAIMS_FOR_A[0])).await;
    let summary = fx.row("discharge_summaries", fx.clinic_a);
    let outcome = repoint(
        &mut tx,
        "discharge_summaries",
        "template_id",
        summary,
        global,
    )
    .await;
    assert!(matches!(outcome, Ok(1)), "{}", describe(&outcome));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_mapping_cannot_borrow_another_clinics_calendar(pool: PgPool) {
    let fx = setup(&pool).await;
    let mut tx = act_as(&pool, "authenticated", Some(CLAIMS_FOR_A[0])).await;
    let mapping = fx.row("vapi_assistant_mappings", fx.clinic_a);
    let outcome = repoint(
        &mut tx,
        "vapi_assistant_mappings",
        "pims_clinic_id",
        mapping,
        fx.clinic_b,
    )
    .await;
    assert_eq!(
        outcome.as_ref().err().and_then(sqlstate).as_deref(),
        Some("42501"),
        "A's mapping now reads B's calendar: {}",
        describe(&outcome)
    );
    let outcome = repoint(
        &mut tx,
        "vapi_assistant_mappings",
        "pims_clinic_id",
        mapping,
        fx.clinic_a,
    )
    .await;
    assert!(matches!(outcome, Ok(1)), "{}", describe(&outcome));
}

/// (table, role, privilege) triples an API role holds and must not.
async fn forbidden_privileges(pool: &PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT c.relname::text, r.rolname::text, p.privilege
         FROM pg_class c
         CROSS JOIN (VALUES ('anon'), ('authenticated')) r(rolname)
         CROSS JOIN (VALUES ('TRUNCATE'), ('TRIGGER'), ('REFERENCES')) p(privilege)
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
           AND has_table_privilege(r.rolname, c.oid, p.privilege)
         ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn api_roles_hold_no_truncate_trigger_or_references(pool: PgPool) {
    setup(&pool).await;
    let held = forbidden_privileges(&pool).await;
    assert!(held.is_empty(), "API roles hold: {held:?}");

    // The regression: TRUNCATE ignores RLS and emptied every clinic's cases.
    let mut tx = act_as(&pool, "authenticated", Some(CLAIMS_FOR_A[0])).await;
    let outcome = exec_in_savepoint(&mut tx, "TRUNCATE cases CASCADE").await;
    assert_eq!(
        outcome.as_ref().err().and_then(sqlstate).as_deref(),
        Some("42501")
    );
    let plant = "CREATE TRIGGER planted BEFORE UPDATE ON outbound_calls \
                 FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()";
    let outcome = exec_in_savepoint(&mut tx, plant).await;
    assert_eq!(
        outcome.as_ref().err().and_then(sqlstate).as_deref(),
        Some("42501")
    );
    tx.rollback().await.unwrap();
    let cases: i64 = sqlx::query_scalar("SELECT count(*) FROM cases")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(cases, 2);
}

/// On Supabase the platform's default privileges grant ALL on new tables to the API roles: the
/// migrations must take TRUNCATE/TRIGGER/REFERENCES back on every table they create and on
/// tables created after them.
#[sqlx::test(migrations = false)]
async fn supabase_style_default_grants_are_taken_back(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    for role in ["anon", "authenticated", "service_role"] {
        let sql = format!(
            "DO $$ BEGIN CREATE ROLE {role} NOLOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        );
        exec(&mut conn, &sql).await.unwrap();
    }
    exec(
        &mut conn,
        "ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO anon, authenticated, service_role",
    )
    .await
    .unwrap();
    drop(conn);
    odis_worker::db::migrate(&pool).await.expect("migrate");
    exec(
        &mut pool.acquire().await.unwrap(),
        "CREATE TABLE later_table (id int)",
    )
    .await
    .unwrap();
    let held = forbidden_privileges(&pool).await;
    assert!(held.is_empty(), "API roles hold: {held:?}");
}

#[sqlx::test(migrations = "./migrations")]
async fn empty_claims_match_nothing(pool: PgPool) {
    let blank = ClinicOpts {
        clerk_org_id: Some(String::new()),
        ..Default::default()
    };
    seed::clinic(&pool, blank).await;
    let user = UserOpts {
        clerk_user_id: String::new(),
        ..Default::default()
    };
    seed::user(&pool, user).await;
    for claims in [
        r#"{"sub":"nobody","org_id":""}"#,
        r#"{"sub":"nobody","o":{"id":""}}"#,
        r#"{"sub":""}"#,
    ] {
        let mut tx = act_as(&pool, "authenticated", Some(claims)).await;
        let (clinics, users): (i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM clinics), (SELECT count(*) FROM users)")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!((clinics, users), (0, 0), "claims {claims} see rows");
        tx.rollback().await.unwrap();
    }
}

/// A call and an email row of clinic A naming clinic B's case, written with the keys off (as a
/// row from before them, or a bulk load with triggers disabled, would be): dispatch fails both
/// with `case_not_in_clinic` and sends nothing.
#[sqlx::test(migrations = "./migrations")]
async fn dispatch_never_sends_a_row_whose_case_is_another_clinics(pool: PgPool) {
    use odis_worker::jobs::dispatch::claim::CASE_NOT_IN_CLINIC;
    use odis_worker::jobs::dispatch_call::{self, CallOutcome};
    use odis_worker::jobs::dispatch_email::{self, EmailOutcome};
    use wiremock::{matchers::method, Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({"id": "x"})))
        .expect(0)
        .mount(&server)
        .await;
    let a = seed::discharge_case(&pool, "America/Los_Angeles").await;
    let b = seed::clinic(&pool, ClinicOpts::named("Clinic B", "America/Los_Angeles")).await;
    let case_b = seed::case(
        &pool,
        seed::CaseOpts {
            clinic_id: b,
            ..Default::default()
        },
    )
    .await;
    let mut tx = pool.begin().await.unwrap();
    exec(&mut tx, "SET LOCAL session_replication_role = replica")
        .await
        .unwrap();
    let call: Uuid = sqlx::query_scalar(
        "INSERT INTO outbound_calls (clinic_id, case_id, customer_phone, scheduled_for)
         VALUES ($1, $2, '(408) 555-0199', now() - interval '1 minute') RETURNING id",
    )
    .bind(a.clinic_id)
    .bind(case_b.id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let email: Uuid = sqlx::query_scalar(
        "INSERT INTO outbound_emails (clinic_id, case_id, recipient_email, subject, html_content,
                                      scheduled_for)
         VALUES ($1, $2, 'owner@example.com', 'Biscuit', '<p>hi</p>', now() - interval '1 minute')
         RETURNING id",
    )
    .bind(a.clinic_id)
    .bind(case_b.id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let ctx = crate::helpers::app::context(&pool, &server.uri());
    let out = dispatch_call::dispatch(&ctx, call).await.unwrap();
    assert_eq!(
        out,
        CallOutcome::Failed {
            error: CASE_NOT_IN_CLINIC.into(),
            ambiguous: false
        }
    );
    let out = dispatch_email::dispatch(&ctx, email).await.unwrap();
    assert!(
        matches!(&out, EmailOutcome::Failed { error } if error == CASE_NOT_IN_CLINIC),
        "{out:?}"
    );
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM outbound_calls WHERE id = $1 UNION ALL
         SELECT status FROM outbound_emails WHERE id = $2",
    )
    .bind(call)
    .bind(email)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(statuses, ["failed", "failed"]);
}
