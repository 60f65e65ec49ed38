//! Row-level security tests for `migrations/20261125000005_row_level_security.sql`.
//!
//! What this file proves, on a fresh migrated database with two clinics A and B:
//! * for **every** clinic-scoped table (every `public` table with a `clinic_id` column, found in
//!   the catalog, not listed by hand), an `authenticated` caller of clinic A — by membership
//!   (`sub`), by Clerk v1 `org_id` claim, or by Clerk v2 `o.id` claim — sees exactly A's rows,
//!   cannot insert, update, delete or move rows into clinic B, and can insert, update and delete
//!   A's rows; all broken tables are reported in one failure. The few clinic-scoped tables
//!   listed in `SERVICE_ONLY_TABLES` (e.g. the webhook inbox) must instead be closed entirely;
//! * `users` shows a caller only their own profile;
//! * `anon` can only insert marketing rows and read `ai_templates`;
//! * `service_role` sees every clinic's rows;
//! * child tables without `clinic_id` follow their parent's visibility;
//! * `authenticated` without claims sees nothing;
//! * global templates (`clinic_id` NULL) and `ai_templates` are readable, not writable;
//! * no API role can read or rewrite sqlx's `_sqlx_migrations`;
//! * every table of schema `public` has RLS enabled.
//!
//! Setup rows are inserted by the superuser with `session_replication_role = replica` (FK
//! triggers off), so rows need no real parents; RLS does not care about FK validity. The same
//! setting stays in effect after `SET LOCAL ROLE authenticated` for the probes.
//!
//! Run with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres SQLX_OFFLINE=true
//! cargo test --test it rls::` (`SQLX_OFFLINE` keeps dependencies' `query!` macros off that
//! database).

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::helpers::catalog::{
    describe, exec, exec_in_savepoint, insert_row, load_tables, sqlstate, uuid_lit, Table,
};
use crate::helpers::seed::{self, ClinicAccessOpts, ClinicOpts, UserOpts};

/// The three ways a caller can belong to clinic A (`org_a`).
pub(crate) const CLAIMS_FOR_A: [&str; 3] = [
    r#"{"sub":"user_a"}"#,
    r#"{"sub":"user_o","org_id":"org_a","org_role":"org:admin"}"#,
    r#"{"sub":"user_o","o":{"id":"org_a","rol":"admin"}}"#,
];

/// Parent/child pairs where the child has no `clinic_id` and inherits its parent's visibility:
/// (child table, FK column, parent table).
pub(crate) const CHILD_TABLES: [(&str, &str, &str); 4] = [
    ("discharge_batch_items", "batch_id", "discharge_batches"),
    ("slack_channels", "workspace_id", "slack_workspaces"),
    ("slack_tasks", "channel_id", "slack_channels"),
    ("slack_task_completions", "task_id", "slack_tasks"),
];

/// Clinic-scoped tables deliberately closed to the API roles (RLS on, no policy, no grant to
/// `anon`/`authenticated`): only the service reads them. Any other table with `clinic_id` must
/// pass the full member checks, so a new table without policies fails loudly instead of being
/// silently skipped.
const SERVICE_ONLY_TABLES: [&str; 1] = [
    // The webhook inbox: payloads carry transcripts and phone numbers of every clinic.
    "webhook_events",
];

/// Two clinics, three users and one row per clinic in every clinic-scoped table.
pub(crate) struct Fixture {
    pub(crate) tables: BTreeMap<String, Table>,
    pub(crate) clinic_a: Uuid,
    pub(crate) clinic_b: Uuid,
    /// (table, clinic) -> id of the row inserted for that clinic.
    rows: BTreeMap<(String, Uuid), Uuid>,
}

impl Fixture {
    /// Clinic-scoped tables: every table with a `clinic_id` column.
    pub(crate) fn clinic_scoped(&self) -> Vec<&Table> {
        self.tables
            .values()
            .filter(|t| t.has_column("clinic_id"))
            .collect()
    }

    /// Clinic-scoped tables that clinic members read and write through RLS.
    fn member_tables(&self) -> Vec<&Table> {
        self.clinic_scoped()
            .into_iter()
            .filter(|t| !SERVICE_ONLY_TABLES.contains(&t.name.as_str()))
            .collect()
    }

    pub(crate) fn row(&self, table: &str, clinic: Uuid) -> Uuid {
        self.rows[&(table.to_owned(), clinic)]
    }

    fn table(&self, name: &str) -> &Table {
        self.tables
            .get(name)
            .unwrap_or_else(|| panic!("no table {name}"))
    }
}

pub(crate) async fn setup(pool: &PgPool) -> Fixture {
    let tables = load_tables(pool).await;
    let mut tx = pool.begin().await.unwrap();
    exec(&mut tx, "SET LOCAL session_replication_role = replica")
        .await
        .unwrap();

    let clinic = |name: &str, org: &str| ClinicOpts {
        name: name.into(),
        clerk_org_id: Some(org.into()),
        ..Default::default()
    };
    let clinic_a = seed::clinic(&mut *tx, clinic("clinic-a", "org_a")).await;
    let clinic_b = seed::clinic(&mut *tx, clinic("clinic-b", "org_b")).await;

    let mut user_ids = BTreeMap::new();
    for clerk_id in ["user_a", "user_b", "user_o"] {
        let user = UserOpts {
            clerk_user_id: clerk_id.into(),
            ..Default::default()
        };
        user_ids.insert(clerk_id, seed::user(&mut *tx, user).await);
    }
    // user_o has no access rows at all: it reaches clinic A through org claims only.
    for (user, clinic_id) in [("user_a", clinic_a), ("user_b", clinic_b)] {
        // Admins: writes to user_clinic_access need an admin role (migration …_rls_admin_writes).
        let access = ClinicAccessOpts {
            user_id: user_ids[user],
            clinic_id,
            role: "admin".into(),
        };
        seed::clinic_access(&mut *tx, access).await;
    }

    let mut rows = BTreeMap::new();
    for table in tables.values().filter(|t| t.has_column("clinic_id")) {
        for clinic in [clinic_a, clinic_b] {
            let id = insert_row(&mut tx, table, &[("clinic_id", uuid_lit(clinic))]).await;
            rows.insert((table.name.clone(), clinic), id);
        }
    }
    // Children of A's and B's parents, for the child-table policies.
    for (child, fk, parent) in CHILD_TABLES {
        for clinic in [clinic_a, clinic_b] {
            let parent_id = rows[&(parent.to_owned(), clinic)];
            let id = insert_row(&mut tx, &tables[child], &[(fk, uuid_lit(parent_id))]).await;
            rows.insert((child.to_owned(), clinic), id);
        }
    }
    sqlx::query("INSERT INTO ai_templates (name, type) VALUES ('discharge', 'prompt')")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    Fixture {
        tables,
        clinic_a,
        clinic_b,
        rows,
    }
}

/// A transaction acting as `role` with the given JWT claims (`None`: no claims set at all), with
/// FK triggers off. Everything is rolled back when the transaction is dropped.
pub(crate) async fn act_as(
    pool: &PgPool,
    role: &str,
    claims: Option<&str>,
) -> Transaction<'static, Postgres> {
    act_as_with(pool, "replica", role, claims).await
}

/// [`act_as`] with foreign keys and triggers enforced (`session_replication_role = origin`).
pub(crate) async fn act_as_with_keys(
    pool: &PgPool,
    role: &str,
    claims: Option<&str>,
) -> Transaction<'static, Postgres> {
    act_as_with(pool, "origin", role, claims).await
}

async fn act_as_with(
    pool: &PgPool,
    replication_role: &str,
    role: &str,
    claims: Option<&str>,
) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.unwrap();
    // session_replication_role can only be set by a superuser: set it before dropping privileges.
    let sql = format!("SET LOCAL session_replication_role = {replication_role}");
    exec(&mut tx, &sql).await.unwrap();
    exec(&mut tx, &format!("SET LOCAL ROLE {role}"))
        .await
        .unwrap();
    if let Some(claims) = claims {
        sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
            .bind(claims)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx
}

/// (rows of other clinics, whether the row `own` is among them) visible in `table`, filtering on
/// `column` (the clinic or parent column) against `expected`.
async fn visibility(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    expected: Uuid,
    own: Uuid,
) -> Result<(i64, bool), sqlx::Error> {
    let sql = format!(
        "SELECT count(*) FILTER (WHERE {column} IS DISTINCT FROM $1), coalesce(bool_or(id = $2), false)
         FROM {table}"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(expected)
        .bind(own)
        .fetch_one(conn)
        .await
}

/// Row count a statement affected, or the error.
type Outcome = Result<u64, sqlx::Error>;

fn expect_rows(failures: &mut Vec<String>, what: &str, outcome: &Outcome, rows: u64) {
    if !matches!(outcome, Ok(n) if *n == rows) {
        failures.push(format!(
            "{what}: expected {rows} rows, got {}",
            describe(outcome)
        ));
    }
}

fn expect_denied(failures: &mut Vec<String>, what: &str, outcome: &Outcome) {
    let denied = matches!(outcome, Err(err) if sqlstate(err).as_deref() == Some("42501"));
    if !denied {
        failures.push(format!(
            "{what}: expected SQLSTATE 42501, got {}",
            describe(outcome)
        ));
    }
}

/// Accept "permission denied" or "no rows" (the statement saw nothing).
fn expect_nothing(failures: &mut Vec<String>, what: &str, outcome: &Outcome) {
    let denied = matches!(outcome, Err(err) if sqlstate(err).as_deref() == Some("42501"));
    if !denied && !matches!(outcome, Ok(0)) {
        failures.push(format!(
            "{what}: expected SQLSTATE 42501 or 0 rows, got {}",
            describe(outcome)
        ));
    }
}

/// Probe one clinic-scoped table as a caller of clinic A; return what went wrong.
async fn probe_clinic_table(
    pool: &PgPool,
    fx: &Fixture,
    table: &Table,
    claims: &str,
) -> Vec<String> {
    let name = &table.name;
    let (a, b) = (uuid_lit(fx.clinic_a), uuid_lit(fx.clinic_b));
    let own_row = fx.row(name, fx.clinic_a);
    let mut failures = Vec::new();
    let mut tx = act_as(pool, "authenticated", Some(claims)).await;
    let label = |what: &str| format!("{name} as {claims}: {what}");

    // SELECT sees exactly A's rows, including A's fixture row.
    match visibility(&mut tx, name, "clinic_id", fx.clinic_a, own_row).await {
        Ok((0, true)) => {}
        Ok((foreign, own)) => failures.push(label(&format!(
            "SELECT shows {foreign} rows of other clinics, A's row visible: {own}"
        ))),
        Err(err) => {
            failures.push(label(&format!("SELECT failed: {err}")));
            return failures;
        }
    }

    let insert_b = table.insert_sql(&[("clinic_id", b.clone())]);
    let outcome = exec_in_savepoint(&mut tx, &insert_b).await;
    expect_denied(&mut failures, &label("INSERT for clinic B"), &outcome);

    let sql = format!("UPDATE {name} SET clinic_id = clinic_id WHERE clinic_id = {b}");
    let outcome = exec_in_savepoint(&mut tx, &sql).await;
    expect_rows(&mut failures, &label("UPDATE of B's rows"), &outcome, 0);

    let sql = format!("DELETE FROM {name} WHERE clinic_id = {b}");
    let outcome = exec_in_savepoint(&mut tx, &sql).await;
    expect_rows(&mut failures, &label("DELETE of B's rows"), &outcome, 0);

    let sql = format!(
        "UPDATE {name} SET clinic_id = {b} WHERE id = {}",
        uuid_lit(own_row)
    );
    let outcome = exec_in_savepoint(&mut tx, &sql).await;
    expect_denied(
        &mut failures,
        &label("UPDATE moving A's row to B"),
        &outcome,
    );

    let sql = format!(
        "UPDATE {name} SET clinic_id = clinic_id WHERE id = {}",
        uuid_lit(own_row)
    );
    let outcome = exec_in_savepoint(&mut tx, &sql).await;
    expect_rows(&mut failures, &label("UPDATE of A's row"), &outcome, 1);

    // Deleting A's fixture row first makes room for tables with UNIQUE (clinic_id).
    let sql = format!("DELETE FROM {name} WHERE id = {}", uuid_lit(own_row));
    let outcome = exec_in_savepoint(&mut tx, &sql).await;
    expect_rows(&mut failures, &label("DELETE of A's row"), &outcome, 1);

    let insert_a = table.insert_sql(&[("clinic_id", a)]);
    let outcome = exec_in_savepoint(&mut tx, &insert_a).await;
    expect_rows(&mut failures, &label("INSERT for clinic A"), &outcome, 1);

    tx.rollback().await.unwrap();
    failures
}

/// Probe a service-only table as a caller of clinic A: nothing may be read or written.
async fn probe_service_only_table(
    pool: &PgPool,
    fx: &Fixture,
    table: &Table,
    claims: &str,
) -> Vec<String> {
    let name = &table.name;
    let mut failures = Vec::new();
    let mut tx = act_as(pool, "authenticated", Some(claims)).await;
    let label = |what: &str| format!("{name} (service only) as {claims}: {what}");

    let outcome = exec_in_savepoint(&mut tx, &format!("SELECT 1 FROM {name}")).await;
    expect_nothing(&mut failures, &label("SELECT"), &outcome);
    let insert_a = table.insert_sql(&[("clinic_id", uuid_lit(fx.clinic_a))]);
    let outcome = exec_in_savepoint(&mut tx, &insert_a).await;
    expect_denied(&mut failures, &label("INSERT for clinic A"), &outcome);
    let sql = format!("UPDATE {name} SET clinic_id = clinic_id");
    let outcome = exec_in_savepoint(&mut tx, &sql).await;
    expect_nothing(&mut failures, &label("UPDATE"), &outcome);
    let outcome = exec_in_savepoint(&mut tx, &format!("DELETE FROM {name}")).await;
    expect_nothing(&mut failures, &label("DELETE"), &outcome);

    tx.rollback().await.unwrap();
    failures
}

#[sqlx::test(migrations = "./migrations")]
async fn clinic_scoped_tables_isolate_clinics(pool: PgPool) {
    let fx = setup(&pool).await;
    let scoped: Vec<&str> = fx.clinic_scoped().iter().map(|t| t.name.as_str()).collect();
    for name in SERVICE_ONLY_TABLES {
        assert!(
            scoped.contains(&name),
            "SERVICE_ONLY_TABLES lists {name}, which is not a clinic-scoped table: {scoped:?}"
        );
    }
    let tables = fx.member_tables();
    assert!(
        tables.len() >= 34,
        "only {} clinic-scoped member tables found: {:?}",
        tables.len(),
        tables.iter().map(|t| &t.name).collect::<Vec<_>>()
    );

    let mut failures = Vec::new();
    for table in &tables {
        for claims in CLAIMS_FOR_A {
            failures.extend(probe_clinic_table(&pool, &fx, table, claims).await);
        }
    }
    for name in SERVICE_ONLY_TABLES {
        for claims in CLAIMS_FOR_A {
            let table = fx.table(name);
            failures.extend(probe_service_only_table(&pool, &fx, table, claims).await);
        }
    }
    assert!(
        failures.is_empty(),
        "{} RLS failures across {} member and {} service-only clinic-scoped tables:\n  {}",
        failures.len(),
        tables.len(),
        SERVICE_ONLY_TABLES.len(),
        failures.join("\n  ")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn users_see_only_their_own_profile(pool: PgPool) {
    setup(&pool).await;
    let mut tx = act_as(&pool, "authenticated", Some(CLAIMS_FOR_A[0])).await;
    let (count, clerk_id): (i64, Option<String>) =
        sqlx::query_as("SELECT count(*), min(clerk_user_id) FROM users")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!((count, clerk_id.as_deref()), (1, Some("user_a")));

    let outcome = exec_in_savepoint(
        &mut tx,
        "UPDATE users SET first_name = 'x' WHERE clerk_user_id = 'user_b'",
    )
    .await;
    assert_eq!(outcome.unwrap(), 0, "user_a updated user_b's profile");
    let outcome = exec_in_savepoint(
        &mut tx,
        "UPDATE users SET clerk_user_id = 'user_b2' WHERE clerk_user_id = 'user_a'",
    )
    .await;
    assert_eq!(
        outcome.as_ref().err().and_then(sqlstate).as_deref(),
        Some("42501"),
        "user_a could re-point their profile to another Clerk id: {}",
        describe(&outcome)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn anon_only_inserts_marketing_rows_and_reads_ai_templates(pool: PgPool) {
    setup(&pool).await;
    let mut tx = act_as(&pool, "anon", None).await;

    for insert in [
        "INSERT INTO waitlist_signups (email) VALUES ('anon@example.com')",
        "INSERT INTO contact_submissions (email, message) VALUES ('anon@example.com', 'hi')",
    ] {
        let outcome = exec_in_savepoint(&mut tx, insert).await;
        assert_eq!(
            outcome.as_ref().ok(),
            Some(&1),
            "{insert}: {}",
            describe(&outcome)
        );
    }

    for table in [
        "waitlist_signups",
        "contact_submissions",
        "cases",
        "clinics",
        "users",
    ] {
        let sql = format!("SELECT count(*) FROM {table}");
        let counted = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.clone()));
        exec(&mut tx, "SAVEPOINT probe").await.unwrap();
        match counted.fetch_one(&mut *tx).await {
            Ok(0) => {}
            Ok(n) => panic!("anon sees {n} rows of {table}"),
            Err(err) => {
                assert_eq!(sqlstate(&err).as_deref(), Some("42501"), "{sql}: {err}");
                exec(&mut tx, "ROLLBACK TO SAVEPOINT probe").await.unwrap();
            }
        }
    }

    let templates: i64 = sqlx::query_scalar("SELECT count(*) FROM ai_templates")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(templates >= 1, "anon must read ai_templates");
}

#[sqlx::test(migrations = "./migrations")]
async fn service_role_sees_every_clinic(pool: PgPool) {
    let fx = setup(&pool).await;
    let mut tx = act_as(&pool, "service_role", None).await;
    let mut failures = Vec::new();
    for table in fx.clinic_scoped() {
        let sql = format!(
            "SELECT count(*) FILTER (WHERE id = $1), count(*) FILTER (WHERE id = $2) FROM {}",
            table.name
        );
        let counts: Result<(i64, i64), _> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(fx.row(&table.name, fx.clinic_a))
            .bind(fx.row(&table.name, fx.clinic_b))
            .fetch_one(&mut *tx)
            .await;
        match counts {
            Ok((1, 1)) => {}
            Ok(other) => failures.push(format!("{}: (A, B) rows seen {other:?}", table.name)),
            Err(err) => {
                failures.push(format!("{}: {err}", table.name));
                break; // the transaction is aborted
            }
        }
    }
    assert!(
        failures.is_empty(),
        "service_role:\n  {}",
        failures.join("\n  ")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn child_tables_follow_their_parent(pool: PgPool) {
    let fx = setup(&pool).await;
    let mut failures = Vec::new();
    for claims in CLAIMS_FOR_A {
        let mut tx = act_as(&pool, "authenticated", Some(claims)).await;
        for (child, fk, parent) in CHILD_TABLES {
            let parent_a = fx.row(parent, fx.clinic_a);
            let parent_b = fx.row(parent, fx.clinic_b);
            let own = fx.row(child, fx.clinic_a);
            match visibility(&mut tx, child, fk, parent_a, own).await {
                Ok((0, true)) => {}
                Ok(seen) => failures.push(format!(
                    "{child} as {claims}: (rows of other parents, own row visible) = {seen:?}"
                )),
                Err(err) => {
                    failures.push(format!("{child} as {claims}: SELECT failed: {err}"));
                    break;
                }
            }
            let insert_b = fx.table(child).insert_sql(&[(fk, uuid_lit(parent_b))]);
            let outcome = exec_in_savepoint(&mut tx, &insert_b).await;
            expect_denied(
                &mut failures,
                &format!("{child} as {claims}: INSERT under B's {parent}"),
                &outcome,
            );
            let insert_a = fx.table(child).insert_sql(&[(fk, uuid_lit(parent_a))]);
            let outcome = exec_in_savepoint(&mut tx, &insert_a).await;
            expect_rows(
                &mut failures,
                &format!("{child} as {claims}: INSERT under A's {parent}"),
                &outcome,
                1,
            );
        }
    }
    assert!(
        failures.is_empty(),
        "child tables:\n  {}",
        failures.join("\n  ")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn authenticated_without_claims_sees_nothing(pool: PgPool) {
    let fx = setup(&pool).await;
    let mut tx = act_as(&pool, "authenticated", None).await;
    let mut visible = Vec::new();
    for table in fx.clinic_scoped() {
        let sql = format!("SELECT 1 FROM {}", table.name);
        let outcome = exec_in_savepoint(&mut tx, &sql).await;
        expect_nothing(&mut visible, &table.name, &outcome);
    }
    assert!(
        visible.is_empty(),
        "visible without claims:\n  {}",
        visible.join("\n  ")
    );
    let cases: i64 = sqlx::query_scalar("SELECT count(*) FROM cases")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(cases, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn every_table_has_rls_enabled(pool: PgPool) {
    let without: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class
         WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')
           AND relname <> '_sqlx_migrations' AND NOT relrowsecurity
         ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(without.is_empty(), "tables without RLS: {without:?}");
}

#[sqlx::test(migrations = "./migrations")]
async fn global_templates_are_readable_but_not_writable(pool: PgPool) {
    let fx = setup(&pool).await;
    let mut globals = BTreeMap::new();
    let mut conn = pool.acquire().await.unwrap();
    for table in ["soap_templates", "discharge_templates"] {
        let id = insert_row(
            &mut conn,
            fx.table(table),
            &[("clinic_id", "NULL".to_owned())],
        )
        .await;
        globals.insert(table, id);
    }
    drop(conn);

    let mut failures = Vec::new();
    for claims in CLAIMS_FOR_A {
        let mut tx = act_as(&pool, "authenticated", Some(claims)).await;
        for (table, id) in &globals {
            let what = |s: &str| format!("{table} as {claims}: {s}");
            let sql = format!("SELECT count(*) FROM {table} WHERE id = {}", uuid_lit(*id));
            let seen: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            if seen != 1 {
                failures.push(what("global template not visible"));
            }
            let insert = fx
                .table(table)
                .insert_sql(&[("clinic_id", "NULL".to_owned())]);
            let outcome = exec_in_savepoint(&mut tx, &insert).await;
            expect_denied(
                &mut failures,
                &what("INSERT of a global template"),
                &outcome,
            );
            let sql = format!(
                "UPDATE {table} SET is_default = true WHERE id = {}",
                uuid_lit(*id)
            );
            let outcome = exec_in_savepoint(&mut tx, &sql).await;
            expect_rows(
                &mut failures,
                &what("UPDATE of a global template"),
                &outcome,
                0,
            );
            let sql = format!("DELETE FROM {table} WHERE id = {}", uuid_lit(*id));
            let outcome = exec_in_savepoint(&mut tx, &sql).await;
            expect_rows(
                &mut failures,
                &what("DELETE of a global template"),
                &outcome,
                0,
            );
        }
        let insert = fx.table("ai_templates").insert_sql(&[]);
        let outcome = exec_in_savepoint(&mut tx, &insert).await;
        expect_denied(
            &mut failures,
            &format!("ai_templates as {claims}: INSERT"),
            &outcome,
        );
    }
    assert!(
        failures.is_empty(),
        "global templates:\n  {}",
        failures.join("\n  ")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn api_roles_cannot_touch_the_migration_history(pool: PgPool) {
    for role in ["anon", "authenticated", "service_role"] {
        let mut tx = act_as(&pool, role, Some(CLAIMS_FOR_A[0])).await;
        for sql in [
            "SELECT count(*) FROM _sqlx_migrations",
            "DELETE FROM _sqlx_migrations",
        ] {
            let outcome = exec_in_savepoint(&mut tx, sql).await;
            let mut failures = Vec::new();
            expect_denied(&mut failures, &format!("{role}: {sql}"), &outcome);
            assert!(failures.is_empty(), "{}", failures.join("\n"));
        }
    }
}

/// Members who are not admins read the access list but cannot change it, nor promote
/// themselves; the same for org members whose org role is not admin.
#[sqlx::test(migrations = "./migrations")]
async fn only_admins_change_access_and_clinic_settings(pool: PgPool) {
    let f = setup(&pool).await;
    let member = UserOpts {
        clerk_user_id: "user_m".into(),
        email: Some("m@example.com".into()),
        ..Default::default()
    };
    let access = ClinicAccessOpts {
        user_id: seed::user(&pool, member).await,
        clinic_id: f.clinic_a,
        role: "member".into(),
    };
    seed::clinic_access(&pool, access).await;
    for claims in [
        r#"{"sub":"user_m"}"#,
        r#"{"sub":"user_o","org_id":"org_a","org_role":"org:member"}"#,
        r#"{"sub":"user_o","o":{"id":"org_a","rol":"member"}}"#,
    ] {
        let mut tx = act_as(&pool, "authenticated", Some(claims)).await;
        let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM user_clinic_access")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert!(visible >= 1, "{claims}: members still read the access list");
        let promoted =
            sqlx::query("UPDATE user_clinic_access SET role = 'owner' WHERE clinic_id = $1")
                .bind(f.clinic_a)
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
        assert_eq!(promoted, 0, "{claims}: a member changed roles");
        let renamed =
            sqlx::query("UPDATE clinics SET stripe_customer_id = 'cus_evil' WHERE id = $1")
                .bind(f.clinic_a)
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
        assert_eq!(renamed, 0, "{claims}: a member updated the clinic row");
        let granted = sqlx::query("INSERT INTO user_clinic_access (user_id, clinic_id, role) VALUES (gen_random_uuid(), $1, 'owner')")
            .bind(f.clinic_a)
            .execute(&mut *tx)
            .await;
        assert!(granted.is_err(), "{claims}: a member granted access");
        tx.rollback().await.unwrap();
    }
    // An admin of A may update A's clinic row.
    let mut tx = act_as(&pool, "authenticated", Some(r#"{"sub":"user_a"}"#)).await;
    let updated = sqlx::query("UPDATE clinics SET phone = '+15550000000' WHERE id = $1")
        .bind(f.clinic_a)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(updated, 1);
}
