//! Schema tests for `migrations/*.sql` against a fresh, migrated PostgreSQL database.
//!
//! What this file proves:
//! * every `CREATE TABLE` of `docs/spec/schema-v2.md` ("Schema by Tier", 44 tables, parsed at
//!   test time) exists with exactly the spec's columns, compatible types and NOT NULLs;
//! * the migrator is idempotent (a second and third run are no-ops);
//! * every foreign key's leading column is the leading column of some index;
//! * every table with `updated_at` has a BEFORE UPDATE trigger calling `update_updated_at()`,
//!   and an UPDATE really moves `updated_at` forward on every one of them;
//! * extensions, the Supabase shim (`auth.jwt()`, roles) are in place;
//! * the business constraints hold: the appointment EXCLUDE constraint, the generated `date`
//!   columns, `call_analysis`'s exactly-one-call CHECK and the spec's UNIQUE keys.
//!
//! Run with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres SQLX_OFFLINE=true
//! cargo test --test it schema::` (`SQLX_OFFLINE` keeps dependencies' `query!` macros off that
//! database).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use crate::helpers::catalog::{exec, insert_row, load_tables, sqlstate, text_lit, uuid_lit, Table};

// ---------------------------------------------------------------------------------------------
// Spec parsing
// ---------------------------------------------------------------------------------------------

/// A column as declared in the spec.
#[derive(Debug)]
struct SpecColumn {
    name: String,
    /// The declared type, upper-case as written: `TEXT`, `TEXT[]`, `TIMESTAMPTZ`, ...
    ty: String,
    not_null: bool,
}

/// Words that start a table constraint rather than a column definition.
const TABLE_CONSTRAINT_WORDS: &[&str] = &[
    "UNIQUE",
    "CHECK",
    "EXCLUDE",
    "PRIMARY",
    "CONSTRAINT",
    "FOREIGN",
];

/// Every `CREATE TABLE` in the ```sql blocks between "## Schema by Tier" and
/// "## Entity Relationships" of the spec, keyed by table name, columns in declaration order.
fn parse_spec_tables() -> BTreeMap<String, Vec<SpecColumn>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/spec/schema-v2.md");
    let spec = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let start = spec
        .find("## Schema by Tier")
        .expect("spec has a '## Schema by Tier' section");
    let end = spec[start..]
        .find("## Entity Relationships")
        .map(|i| start + i)
        .expect("spec has a '## Entity Relationships' section");

    let mut tables = BTreeMap::new();
    let mut in_sql = false;
    let mut current: Option<(String, Vec<SpecColumn>)> = None;
    for line in spec[start..end].lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sql = trimmed == "```sql";
            assert!(current.is_none(), "code block ends inside a CREATE TABLE");
            continue;
        }
        if !in_sql {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("CREATE TABLE ") {
            let name = rest
                .trim_end_matches('(')
                .trim()
                .trim_start_matches("IF NOT EXISTS ")
                .to_owned();
            current = Some((name, Vec::new()));
            continue;
        }
        let Some((_, columns)) = current.as_mut() else {
            continue;
        };
        if trimmed.starts_with(");") {
            let (name, columns) = current.take().expect("inside a CREATE TABLE");
            assert!(
                tables.insert(name.clone(), columns).is_none(),
                "table {name} declared twice in the spec"
            );
            continue;
        }
        // Drop trailing `-- comments`, then skip blank lines and table constraints.
        let definition = trimmed.split("--").next().unwrap_or("").trim();
        let mut words = definition.split_whitespace();
        let Some(first) = words.next() else {
            continue;
        };
        if TABLE_CONSTRAINT_WORDS.contains(&first.to_uppercase().as_str()) {
            continue;
        }
        let ty = words
            .next()
            .unwrap_or_else(|| panic!("column {first} has no type: {line}"))
            .trim_end_matches(',')
            .to_uppercase();
        let upper = definition.to_uppercase();
        columns.push(SpecColumn {
            name: first.to_owned(),
            ty,
            not_null: upper.contains("NOT NULL") || upper.contains("PRIMARY KEY"),
        });
    }
    assert!(current.is_none(), "unterminated CREATE TABLE in the spec");
    tables
}

/// `information_schema.columns.udt_name` for a spec type.
fn spec_type_to_udt(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "TEXT" => "text",
        "UUID" => "uuid",
        "JSONB" => "jsonb",
        "TIMESTAMPTZ" => "timestamptz",
        "INTEGER" => "int4",
        "NUMERIC" => "numeric",
        "BOOLEAN" => "bool",
        "DATE" => "date",
        "TIME" => "time",
        "TSTZRANGE" => "tstzrange",
        "TEXT[]" => "_text",
        "INTEGER[]" => "_int4",
        _ => return None,
    })
}

#[test]
fn spec_parser_finds_all_44_tables() {
    let tables = parse_spec_tables();
    assert_eq!(tables.len(), 44, "tables parsed: {:?}", tables.keys());
    let clinics = &tables["clinics"];
    assert_eq!(clinics.len(), 22);
    assert!(clinics.iter().any(|c| c.name == "slug" && c.not_null));
    let call_analysis = &tables["call_analysis"];
    assert!(call_analysis
        .iter()
        .any(|c| c.name == "attention_types" && c.ty == "TEXT[]"));
    assert!(
        !call_analysis.iter().any(|c| c.name == "CHECK"),
        "table constraints are not columns"
    );
}

// ---------------------------------------------------------------------------------------------
// Catalog vs spec
// ---------------------------------------------------------------------------------------------

/// Columns the migrations add to spec tables, each a row of `docs/schema-deviations.md`.
const DOCUMENTED_EXTRA_COLUMNS: &[(&str, &str)] = &[
    ("vapi_assistant_mappings", "phone_number_id"),
    ("vapi_assistant_mappings", "squad_id"),
    ("clinic_schedule_config", "slot_capacity"),
];

#[sqlx::test(migrations = "./migrations")]
async fn every_spec_table_exists_with_the_spec_columns(pool: PgPool) {
    let spec = parse_spec_tables();
    assert_eq!(spec.len(), 44, "tables parsed from the spec");

    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, udt_name::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_schema = 'public'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    // table -> column -> (udt, nullable)
    let mut catalog: BTreeMap<String, BTreeMap<String, (String, bool)>> = BTreeMap::new();
    for (table, column, udt, nullable) in rows {
        catalog
            .entry(table)
            .or_default()
            .insert(column, (udt, nullable == "YES"));
    }

    let mut problems = Vec::new();
    for (table, columns) in &spec {
        let Some(actual) = catalog.get(table) else {
            problems.push(format!("table {table} is missing"));
            continue;
        };
        let declared: BTreeSet<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        for col in columns {
            let Some((udt, nullable)) = actual.get(&col.name) else {
                problems.push(format!("{table}.{} is missing", col.name));
                continue;
            };
            match spec_type_to_udt(&col.ty) {
                None => problems.push(format!(
                    "{table}.{}: spec type {} has no mapping in this test",
                    col.name, col.ty
                )),
                Some(expected) if expected != udt => problems.push(format!(
                    "{table}.{}: spec says {}, database has {udt}",
                    col.name, col.ty
                )),
                Some(_) => {}
            }
            if col.not_null && *nullable {
                problems.push(format!(
                    "{table}.{} is nullable, spec says NOT NULL",
                    col.name
                ));
            }
        }
        for extra in actual.keys().filter(|c| !declared.contains(c.as_str())) {
            if !DOCUMENTED_EXTRA_COLUMNS.contains(&(table.as_str(), extra.as_str())) {
                problems.push(format!("{table}.{extra} exists but is not in the spec"));
            }
        }
    }
    // Each documented extra column is listed in docs/schema-deviations.md.
    let deviations = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema-deviations.md"),
    )
    .unwrap();
    for (table, column) in DOCUMENTED_EXTRA_COLUMNS {
        if !(deviations.contains(&format!("`{table}`"))
            && deviations.contains(&format!("`{column}`")))
        {
            problems.push(format!(
                "{table}.{column} is not listed in docs/schema-deviations.md"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "schema differs from docs/spec/schema-v2.md:\n  {}",
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Migrator, extensions, shim
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrations = "./migrations")]
async fn migrations_are_idempotent(pool: PgPool) {
    // `sqlx::test` has applied them once already; both further runs must be no-ops.
    let migrator = sqlx::migrate!("./migrations");
    migrator
        .run(&pool)
        .await
        .expect("second migrator run is a no-op");
    migrator
        .run(&pool)
        .await
        .expect("third migrator run is a no-op");

    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied as usize, migrator.iter().count());
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class
         WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
           AND relname <> '_sqlx_migrations'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(tables >= 44, "only {tables} tables in schema public");
}

#[sqlx::test(migrations = "./migrations")]
async fn extensions_roles_and_auth_shim_exist(pool: PgPool) {
    let extensions: Vec<String> = sqlx::query_scalar("SELECT extname::text FROM pg_extension")
        .fetch_all(&pool)
        .await
        .unwrap();
    for ext in ["uuid-ossp", "btree_gist", "pg_trgm"] {
        assert!(
            extensions.iter().any(|e| e == ext),
            "extension {ext} missing: {extensions:?}"
        );
    }

    let no_claims: serde_json::Value = sqlx::query_scalar("SELECT auth.jwt()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(no_claims, serde_json::json!({}));

    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
        .bind(r#"{"sub":"user_x","org_id":"org_x"}"#)
        .execute(&mut *tx)
        .await
        .unwrap();
    let sub: Option<String> = sqlx::query_scalar("SELECT auth.jwt() ->> 'sub'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(sub.as_deref(), Some("user_x"));
    tx.rollback().await.unwrap();

    let roles: Vec<(String, bool)> = sqlx::query_as(
        "SELECT rolname::text, rolbypassrls FROM pg_roles
         WHERE rolname IN ('anon', 'authenticated', 'service_role') ORDER BY rolname",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        roles,
        vec![
            ("anon".to_owned(), false),
            ("authenticated".to_owned(), false),
            ("service_role".to_owned(), true),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Indexes and triggers
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrations = "./migrations")]
async fn every_foreign_key_is_indexed(pool: PgPool) {
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint
         WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(total > 50, "only {total} foreign keys found");

    let unindexed: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.conname::text, a.attname::text
         FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f'
           AND c.connamespace = 'public'::regnamespace
           AND NOT EXISTS (
             SELECT 1 FROM pg_index i
             WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]
           )
         ORDER BY 1, 3",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        unindexed.is_empty(),
        "foreign keys whose column leads no index:\n  {}",
        unindexed
            .iter()
            .map(|(t, con, col)| format!("{t}.{col} ({con})"))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// Tables of schema `public` with an `updated_at` column.
async fn tables_with_updated_at(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at'
                             AND NOT a.attisdropped
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn every_updated_at_table_has_the_trigger(pool: PgPool) {
    let tables = tables_with_updated_at(&pool).await;
    assert!(
        tables.len() >= 31,
        "only {} tables: {tables:?}",
        tables.len()
    );

    // tgtype bits: 1 = ROW, 2 = BEFORE, 16 = UPDATE.
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT t FROM unnest($1::text[]) AS t
         WHERE NOT EXISTS (
           SELECT 1 FROM pg_trigger g
           WHERE g.tgrelid = format('public.%I', t)::regclass
             AND NOT g.tgisinternal
             AND g.tgenabled <> 'D'
             AND g.tgfoid = 'public.update_updated_at()'::regprocedure
             AND g.tgtype & 1 = 1 AND g.tgtype & 2 = 2 AND g.tgtype & 16 = 16
         )",
    )
    .bind(&tables)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        missing.is_empty(),
        "tables with updated_at but no BEFORE UPDATE ... update_updated_at() trigger: {missing:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn update_moves_updated_at_forward_on_every_table(pool: PgPool) {
    let tables = load_tables(&pool).await;
    let names = tables_with_updated_at(&pool).await;
    for required in ["clinics", "cases", "outbound_calls"] {
        assert!(
            names.iter().any(|n| n == required),
            "{required} not covered"
        );
    }

    let mut conn = pool.acquire().await.unwrap();
    let mut failures = Vec::new();
    // The probe addresses rows by `id`; tables of ours keyed otherwise (clerk_sync_state) are
    // covered by the trigger-existence test above.
    for name in names.iter().filter(|n| tables[n.as_str()].has_column("id")) {
        // Insert a day-old row without FK parents (replica mode skips FK triggers)...
        exec(&mut conn, "SET session_replication_role = replica")
            .await
            .unwrap();
        let id = insert_row(
            &mut conn,
            &tables[name],
            &[("updated_at", "now() - interval '1 day'".to_owned())],
        )
        .await;
        // ...then update it in a later transaction with ordinary triggers on. `id = id` changes
        // no key, so no FK check fires; only the BEFORE UPDATE trigger can move updated_at.
        exec(&mut conn, "SET session_replication_role = DEFAULT")
            .await
            .unwrap();
        let sql = format!(
            "UPDATE {name} SET id = id WHERE id = $1
             RETURNING updated_at > now() - interval '1 minute'"
        );
        match sqlx::query_scalar::<_, bool>(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut *conn)
            .await
        {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{name}: updated_at did not move")),
            Err(err) => failures.push(format!("{name}: update failed: {err}")),
        }
    }
    assert!(
        failures.is_empty(),
        "updated_at not maintained:\n  {}",
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Business constraints
// ---------------------------------------------------------------------------------------------

/// A connection in replica mode (FK triggers off) plus the catalog's table shapes, so rows can be
/// inserted without their parents.
async fn replica_conn(pool: &PgPool) -> (sqlx::pool::PoolConnection<sqlx::Postgres>, Tables) {
    let tables = Tables(load_tables(pool).await);
    let mut conn = pool.acquire().await.unwrap();
    exec(&mut conn, "SET session_replication_role = replica")
        .await
        .unwrap();
    (conn, tables)
}

struct Tables(BTreeMap<String, Table>);

impl Tables {
    fn insert_sql(&self, table: &str, overrides: &[(&str, String)]) -> String {
        self.0
            .get(table)
            .unwrap_or_else(|| panic!("no table {table}"))
            .insert_sql(overrides)
    }
}

/// The SQLSTATE a statement fails with, or `None` when it succeeds.
async fn outcome(conn: &mut PgConnection, sql: &str) -> Option<String> {
    match exec(conn, sql).await {
        Ok(_) => None,
        Err(err) => Some(sqlstate(&err).unwrap_or_else(|| panic!("non-database error: {err}"))),
    }
}

fn range(from: &str, to: &str) -> String {
    format!("tstzrange('{from}', '{to}')")
}

#[sqlx::test(migrations = "./migrations")]
async fn overlapping_room_appointments_are_excluded(pool: PgPool) {
    let (mut conn, t) = replica_conn(&pool).await;
    let clinic_a = uuid_lit(Uuid::new_v4());
    let clinic_b = uuid_lit(Uuid::new_v4());
    let appointment = |clinic: &str, time_range: String, room: Option<&str>, deleted: bool| {
        let mut overrides = vec![("clinic_id", clinic.to_owned()), ("time_range", time_range)];
        if let Some(room) = room {
            overrides.push(("room_id", text_lit(room)));
        }
        if deleted {
            overrides.push(("deleted_at", "now()".to_owned()));
        }
        t.insert_sql("schedule_appointments", &overrides)
    };
    let nine = || range("2026-03-02 09:00Z", "2026-03-02 09:30Z");
    let nine_fifteen = || range("2026-03-02 09:15Z", "2026-03-02 09:45Z");

    let first = appointment(&clinic_a, nine(), Some("room-1"), false);
    assert_eq!(outcome(&mut conn, &first).await, None);

    let overlapping = appointment(&clinic_a, nine_fifteen(), Some("room-1"), false);
    assert_eq!(
        outcome(&mut conn, &overlapping).await.as_deref(),
        Some("23P01"),
        "overlap in the same clinic with a room must violate the EXCLUDE constraint"
    );

    let soft_deleted = appointment(&clinic_a, nine_fifteen(), Some("room-1"), true);
    assert_eq!(
        outcome(&mut conn, &soft_deleted).await,
        None,
        "soft-deleted rows are outside the constraint"
    );
    let roomless = appointment(&clinic_a, nine_fifteen(), None, false);
    assert_eq!(
        outcome(&mut conn, &roomless).await,
        None,
        "rows without a room are outside the constraint"
    );
    let other_clinic = appointment(&clinic_b, nine_fifteen(), Some("room-1"), false);
    assert_eq!(
        outcome(&mut conn, &other_clinic).await,
        None,
        "another clinic's appointment may overlap"
    );
    let adjacent = appointment(
        &clinic_a,
        range("2026-03-02 09:30Z", "2026-03-02 10:00Z"),
        Some("room-1"),
        false,
    );
    assert_eq!(
        outcome(&mut conn, &adjacent).await,
        None,
        "back-to-back slots do not overlap ([) ranges)"
    );
    // Per room (docs/schema-deviations.md): another room of the same clinic may overlap.
    let other_room = appointment(&clinic_a, nine_fifteen(), Some("room-2"), false);
    assert_eq!(
        outcome(&mut conn, &other_room).await,
        None,
        "two rooms of one clinic may hold appointments at the same time"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn generated_date_is_the_utc_date_of_the_start(pool: PgPool) {
    let (mut conn, t) = replica_conn(&pool).await;
    for table in ["schedule_appointments", "vapi_bookings"] {
        // 23:30 at UTC-8 on March 1st is 07:30 UTC on March 2nd.
        let insert = t.insert_sql(
            table,
            &[(
                "time_range",
                range("2026-03-01 23:30-08", "2026-03-02 00:30-08"),
            )],
        );
        let sql = format!("{insert} RETURNING date::text");
        let date: String = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(date, "2026-03-02", "{table}.date");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn call_analysis_needs_exactly_one_call(pool: PgPool) {
    let (mut conn, t) = replica_conn(&pool).await;
    let null = || "NULL".to_owned();
    let some = || "gen_random_uuid()".to_owned();
    let cases = [
        ("neither call", null(), null(), Some("23514")),
        ("both calls", some(), some(), Some("23514")),
        ("inbound only", some(), null(), None),
        ("outbound only", null(), some(), None),
    ];
    for (label, inbound, outbound, expected) in cases {
        let sql = t.insert_sql(
            "call_analysis",
            &[("inbound_call_id", inbound), ("outbound_call_id", outbound)],
        );
        assert_eq!(
            outcome(&mut conn, &sql).await.as_deref(),
            expected,
            "call_analysis with {label}"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn spec_unique_keys_reject_duplicates(pool: PgPool) {
    let (mut conn, t) = replica_conn(&pool).await;
    let clinic = uuid_lit(Uuid::new_v4());
    let other_clinic = uuid_lit(Uuid::new_v4());
    let user = uuid_lit(Uuid::new_v4());
    let client = uuid_lit(Uuid::new_v4());
    let task = uuid_lit(Uuid::new_v4());
    let s = text_lit;

    // (label, table, first row, duplicate row, a non-duplicate that must still be accepted)
    type Row<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(&str, &str, Row, Row, Row)> = vec![
        (
            "clinics.slug",
            "clinics",
            vec![("slug", s("happy-paws"))],
            vec![("slug", s("happy-paws"))],
            vec![("slug", s("happy-claws"))],
        ),
        (
            "users.clerk_user_id",
            "users",
            vec![("clerk_user_id", s("user_1"))],
            vec![("clerk_user_id", s("user_1"))],
            vec![("clerk_user_id", s("user_2"))],
        ),
        (
            "user_clinic_access (user_id, clinic_id)",
            "user_clinic_access",
            vec![("user_id", user.clone()), ("clinic_id", clinic.clone())],
            vec![("user_id", user.clone()), ("clinic_id", clinic.clone())],
            vec![
                ("user_id", user.clone()),
                ("clinic_id", other_clinic.clone()),
            ],
        ),
        (
            "cases (clinic_id, external_id)",
            "cases",
            vec![("clinic_id", clinic.clone()), ("external_id", s("ext-1"))],
            vec![("clinic_id", clinic.clone()), ("external_id", s("ext-1"))],
            vec![
                ("clinic_id", other_clinic.clone()),
                ("external_id", s("ext-1")),
            ],
        ),
        (
            "clinic_settings.clinic_id",
            "clinic_settings",
            vec![("clinic_id", clinic.clone())],
            vec![("clinic_id", clinic.clone())],
            vec![("clinic_id", other_clinic.clone())],
        ),
        (
            "patients (client_id, lower(name))",
            "patients",
            vec![("client_id", client.clone()), ("name", s("Rex"))],
            vec![("client_id", client.clone()), ("name", s("REX"))],
            vec![("client_id", client.clone()), ("name", s("Rexa"))],
        ),
        (
            "vapi_assistant_mappings.assistant_id",
            "vapi_assistant_mappings",
            vec![("assistant_id", s("asst_1"))],
            vec![("assistant_id", s("asst_1"))],
            vec![("assistant_id", s("asst_2"))],
        ),
        (
            "waitlist_signups (email, campaign)",
            "waitlist_signups",
            vec![("email", s("a@example.com")), ("campaign", s("launch"))],
            vec![("email", s("a@example.com")), ("campaign", s("launch"))],
            vec![("email", s("a@example.com")), ("campaign", s("beta"))],
        ),
        (
            "slack_task_completions (task_id, completion_date)",
            "slack_task_completions",
            vec![
                ("task_id", task.clone()),
                ("completion_date", s("2026-03-02")),
            ],
            vec![
                ("task_id", task.clone()),
                ("completion_date", s("2026-03-02")),
            ],
            vec![
                ("task_id", task.clone()),
                ("completion_date", s("2026-03-03")),
            ],
        ),
    ];

    let mut failures = Vec::new();
    for (label, table, first, duplicate, distinct) in cases {
        let expectations = [
            ("first row", first, None),
            ("duplicate", duplicate, Some("23505")),
            ("non-duplicate", distinct, None),
        ];
        for (what, row, expected) in expectations {
            let got = outcome(&mut conn, &t.insert_sql(table, &row)).await;
            if got.as_deref() != expected {
                failures.push(format!(
                    "{label}: {what}: expected {expected:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "unique keys:\n  {}",
        failures.join("\n  ")
    );
}
