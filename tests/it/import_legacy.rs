//! `odis-worker import-legacy` (`odis_worker::import`) against a real old database.
//!
//! Each test builds its own old database (`helpers::legacy`: `docs/spec/legacy-tables.sql` and
//! the generator of `bench::legacy_gen`, three clinics of 16 cases plus the awkward rows of
//! `legacy_gen::awkward`), imports it into its fresh migrated V2 database with `import::run` (or
//! the real binary), and checks one property of the issue:
//! * counts: every old table is read completely and either imported or listed as not imported;
//!   read = imported + merged + skipped; the sample check passes; V2 holds what the report says;
//! * every foreign key of V2 holds after the import;
//! * the moved-shape fields: patient snapshot, the analysis columns from the call blobs,
//!   `user_clinic_access` of a user in two clinics, placeholder Clerk ids, `clinic_settings`;
//! * idempotence: a second run writes nothing and changes no row;
//! * resume: the binary killed with SIGKILL mid-run, run again → the same rows as a clean import
//!   into another database;
//! * `--clinic`: only that clinic's rows and the users it needs;
//! * `--dry-run`: nothing written, the same report as the real run;
//! * RLS: a user of one imported clinic sees none of another's rows;
//! * the awkward rows are skipped with their reason (or repaired so that no V2 rule breaks).
//!
//! The report is read through its JSON form, which is the contract (`--report FILE` writes it).

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use odis_worker::import::{self, ImportOptions};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::helpers::app;
use crate::helpers::legacy::{self, awkward, legacy_gen, Legacy, LegacySize};
use crate::helpers::worker::tail;

fn options(old: &Legacy) -> ImportOptions {
    ImportOptions {
        from: old.url.clone(),
        clinics: Vec::new(),
        dry_run: false,
        batch_size: 1000,
        report: None,
        progress: false,
    }
}

async fn import(pool: &PgPool, opts: &ImportOptions) -> Value {
    let report = import::run(pool, opts).await.expect("import::run");
    serde_json::to_value(&report).expect("the report serializes")
}

fn num(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// The old tables of the report with (read, imported, merged, skipped).
fn old_tables(report: &Value) -> BTreeMap<String, [i64; 4]> {
    report["old_tables"]
        .as_object()
        .expect("old_tables")
        .iter()
        .map(|(t, v)| {
            let n = |k: &str| num(&v[k]);
            (
                t.clone(),
                [n("read"), n("imported"), n("merged"), n("skipped")],
            )
        })
        .collect()
}

fn skip_reasons(report: &Value, table: &str) -> BTreeMap<String, i64> {
    report["old_tables"][table]["skip_reasons"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), num(v))).collect())
        .unwrap_or_default()
}

fn written(report: &Value) -> BTreeMap<String, i64> {
    report["new_tables"]
        .as_object()
        .expect("new_tables")
        .iter()
        .map(|(t, v)| (t.clone(), num(&v["written"])))
        .collect()
}

async fn public_tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
            AND table_name <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM public.\"{table}\""
    )))
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

async fn exists(pool: &PgPool, table: &str, id: Uuid) -> bool {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT EXISTS (SELECT 1 FROM public.\"{table}\" WHERE id = $1)"
    )))
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn checksums(pool: &PgPool, tables: &[String], without: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for t in tables {
        let sum = odis_worker::db::legacy_fixture::table_checksum(pool, t, without)
            .await
            .unwrap();
        out.insert(t.clone(), sum.unwrap_or_else(|| "empty".into()));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Counts and reconciliation
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_counts_reconcile_with_the_old_database(pool: PgPool) {
    let old = legacy::old_database(&pool, LegacySize::TEST).await;
    let report = import(&pool, &options(&old)).await;
    let old_counts: BTreeMap<String, i64> = {
        let mut conn = old.conn().await;
        odis_worker::db::legacy_fixture::table_counts(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .collect()
    };
    let tables = old_tables(&report);
    let not_imported: BTreeMap<String, i64> = report["not_imported"]
        .as_object()
        .expect("not_imported")
        .iter()
        .map(|(t, v)| (t.clone(), num(v)))
        .collect();

    let mut problems = Vec::new();
    for (t, &n) in &old_counts {
        match (tables.get(t), not_imported.get(t)) {
            (Some([read, imported, merged, skipped]), None) => {
                if *read != n {
                    problems.push(format!("{t}: read {read}, the old table has {n}"));
                }
                if read != &(imported + merged + skipped) {
                    problems.push(format!(
                        "{t}: read {read} ≠ imported {imported} + merged {merged} + skipped {skipped}"
                    ));
                }
                let reasons: i64 = skip_reasons(&report, t).values().sum();
                if reasons != *skipped {
                    problems.push(format!("{t}: {skipped} skipped, {reasons} by reason"));
                }
            }
            (None, Some(&listed)) if listed == n => {}
            (None, Some(&listed)) => problems.push(format!(
                "{t}: not imported, listed with {listed} rows, has {n}"
            )),
            (Some(_), Some(_)) => problems.push(format!("{t}: both imported and not imported")),
            (None, None) if n == 0 => {}
            (None, None) => problems.push(format!("{t}: {n} rows, missing from the report")),
        }
    }
    for removed in [
        "retell_calls",
        "call_patients",
        "user_events",
        "feature_usage",
        "error_logs",
    ] {
        if !not_imported.contains_key(removed) {
            problems.push(format!(
                "{removed}: the spec removes it, the report does not list it"
            ));
        }
    }
    // The sample check covers min(5, imported + merged) rows of every table it lists (merged
    // rows through legacy_id_map) and finds no difference.
    for (t, check) in report["sample_check"].as_object().expect("sample_check") {
        let moved = tables.get(t).map(|c| c[1] + c[2]).unwrap_or(0);
        if num(&check["checked"]) != moved.min(5) || num(&check["mismatches"]) != 0 {
            problems.push(format!(
                "sample check of {t} ({moved} imported or merged): {check}"
            ));
        }
    }
    // The first run into an empty database: what it says it wrote is what V2 holds.
    for (t, n) in written(&report) {
        let have = count(&pool, &t).await;
        if have != n {
            problems.push(format!("V2 {t}: report says {n} written, holds {have}"));
        }
    }
    // Tables that map one old row to one new row, old id kept.
    for (old_t, new_t) in [
        ("clinics", "clinics"),
        ("cases", "cases"),
        ("canonical_patients", "patients"),
        ("scheduled_discharge_calls", "outbound_calls"),
        ("inbound_vapi_calls", "inbound_calls"),
        ("scheduled_discharge_emails", "outbound_emails"),
    ] {
        let imported = tables.get(old_t).map(|c| c[1]).unwrap_or(-1);
        let have = count(&pool, new_t).await;
        if imported != have || imported <= 0 {
            problems.push(format!(
                "{old_t} → {new_t}: {imported} imported, V2 holds {have}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(report["reconciled"], Value::Bool(true), "{report:#}");
    assert_eq!(report["dry_run"], Value::Bool(false));
    old.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Foreign keys
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_leaves_every_foreign_key_valid(pool: PgPool) {
    let old = legacy::old_database(&pool, LegacySize::TEST).await;
    import(&pool, &options(&old)).await;
    // One orphan query per foreign key of schema public: (constraint, SQL counting rows whose
    // non-null key has no parent).
    let checks: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conname::text, format('SELECT count(*) FROM %s ch WHERE %s AND NOT EXISTS \
                (SELECT 1 FROM %s p WHERE %s)', c.conrelid::regclass, \
                string_agg(format('ch.%I IS NOT NULL', a.attname), ' AND '), c.confrelid::regclass, \
                string_agg(format('p.%I = ch.%I', pa.attname, a.attname), ' AND ')) \
           FROM pg_constraint c \
           JOIN LATERAL unnest(c.conkey, c.confkey) AS k(child, parent) ON true \
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.child \
           JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.parent \
          WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace \
          GROUP BY c.oid, c.conname, c.conrelid, c.confrelid",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        checks.len() > 30,
        "only {} foreign keys found",
        checks.len()
    );
    let mut broken = Vec::new();
    for (name, sql) in checks {
        let orphans: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&pool)
            .await
            .unwrap();
        if orphans > 0 {
            broken.push(format!("{name}: {orphans} rows without their parent"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // And the keys are enforced, not switched off: no trigger left disabled.
    let disabled: Vec<String> =
        sqlx::query_scalar("SELECT tgname::text FROM pg_trigger WHERE tgenabled = 'D'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(disabled.is_empty(), "disabled triggers: {disabled:?}");
    old.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Data that moves shape
// ---------------------------------------------------------------------------------------------

/// call_outcome, pet_recovery_status, medication_compliance, owner_sentiment,
/// escalation_triggered, follow_up_needed, attention_severity, attention_types, summary,
/// success_evaluation.
type AnalysisRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<bool>,
    Option<String>,
    Option<Vec<String>>,
    Option<String>,
    Option<String>,
);

/// email_delay_days, call_delay_days, max_call_retries, preferred_call_start_time, emergency_phone.
type SettingsRow = (
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<String>,
    Option<String>,
);

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_moves_patients_analysis_access_and_settings(pool: PgPool) {
    let old = legacy::old_database(&pool, LegacySize::TEST).await;
    import(&pool, &options(&old)).await;

    // Per-case patient → cases.patient_snapshot; no canonical row → no patient_id.
    let (patient_id, snapshot): (Option<Uuid>, Option<Value>) =
        sqlx::query_as("SELECT patient_id, patient_snapshot FROM cases WHERE id = $1")
            .bind(awkward::CASE_WITHOUT_CANONICAL)
            .fetch_one(&pool)
            .await
            .expect("the case whose patient has no canonical row is imported");
    assert_eq!(patient_id, None);
    let snapshot = snapshot.expect("patient_snapshot of the walk-in case");
    let text = snapshot.to_string();
    for expected in ["Pickles", "Feline", "Jordan Walkin"] {
        assert!(text.contains(expected), "{expected} not in {snapshot}");
    }
    // An ordinary case: its canonical patient (old id kept) and a snapshot of the per-case row.
    let case = legacy_gen::legacy_id(legacy_gen::tag::CASE, 1);
    let canonical = legacy_gen::legacy_id(legacy_gen::tag::CANONICAL_PATIENT, 1);
    let (patient_id, snapshot): (Option<Uuid>, Option<Value>) =
        sqlx::query_as("SELECT patient_id, patient_snapshot FROM cases WHERE id = $1")
            .bind(case)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(patient_id, Some(canonical));
    let (old_name,): (String,) = sqlx::query_as("SELECT name FROM patients WHERE case_id = $1")
        .bind(case)
        .fetch_one(&mut old.conn().await)
        .await
        .unwrap();
    let name: String = sqlx::query_scalar("SELECT name FROM patients WHERE id = $1")
        .bind(canonical)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, old_name);
    assert!(snapshot.unwrap_or_default().to_string().contains(&old_name));

    // The analysis blobs of a discharge call → call_analysis columns.
    let row: AnalysisRow = sqlx::query_as(
        "SELECT call_outcome, pet_recovery_status, medication_compliance, owner_sentiment, \
                    escalation_triggered, follow_up_needed, attention_severity, attention_types, \
                    summary, success_evaluation \
               FROM call_analysis WHERE outbound_call_id = $1",
    )
    .bind(awkward::CALL_WITH_BLOBS)
    .fetch_one(&pool)
    .await
    .expect("call_analysis of the call with blobs");
    assert_eq!(row.0.as_deref(), Some("concerns_raised"));
    assert_eq!(row.1.as_deref(), Some("worsening"));
    assert_eq!(row.2.as_deref(), Some("partial"));
    assert_eq!(row.3.as_deref(), Some("negative"));
    assert_eq!((row.4, row.5), (Some(true), Some(true)));
    assert_eq!(row.6.as_deref(), Some("urgent"));
    assert!(row
        .7
        .unwrap_or_default()
        .contains(&"health_concern".to_string()));
    assert_eq!(
        row.8.as_deref(),
        Some("Pickles is not eating; owner worried.")
    );
    assert_eq!(row.9.as_deref(), Some("false"));
    // Inbound call 5 of clinic 1 is an emergency card (generator: card by m % 7).
    let inbound = legacy_gen::legacy_id(legacy_gen::tag::INBOUND_CALL, 5);
    let (escalated, severity): (Option<bool>, Option<String>) = sqlx::query_as(
        "SELECT escalation_triggered, attention_severity FROM call_analysis WHERE inbound_call_id = $1",
    )
    .bind(inbound)
    .fetch_one(&pool)
    .await
    .expect("call_analysis of an inbound call");
    assert_eq!(
        (escalated, severity.as_deref()),
        (Some(true), Some("critical"))
    );
    // Every completed discharge call with an analysis blob has its call_analysis row.
    let with_blobs: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM scheduled_discharge_calls WHERE call_analysis IS NOT NULL AND case_id IN (SELECT id FROM cases)",
    )
    .fetch_all(&mut old.conn().await)
    .await
    .unwrap();
    let analysed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM call_analysis WHERE outbound_call_id = ANY($1)")
            .bind(&with_blobs)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(analysed, with_blobs.len() as i64);

    // A user in two clinics: two access rows, and a placeholder Clerk id (never signed in).
    let access: Vec<(Uuid, Option<String>, Option<bool>)> = sqlx::query_as(
        "SELECT clinic_id, role, is_primary FROM user_clinic_access WHERE user_id = $1 ORDER BY clinic_id",
    )
    .bind(awkward::TWO_CLINIC_USER)
    .fetch_all(&pool)
    .await
    .unwrap();
    let clinics: Vec<Uuid> = access.iter().map(|a| a.0).collect();
    assert_eq!(clinics, [legacy_gen::clinic(1), legacy_gen::clinic(2)]);
    assert_eq!(access[0].2, Some(true), "clinic 1 is the primary one");
    let clerk: String = sqlx::query_scalar("SELECT clerk_user_id FROM users WHERE id = $1")
        .bind(awkward::TWO_CLINIC_USER)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        clerk.starts_with("pending:"),
        "placeholder expected, got {clerk}"
    );
    // Every imported user can reach at least one clinic.
    let stranded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM user_clinic_access a WHERE a.user_id = u.id)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stranded, 0);

    // clinic_settings: one row per clinic, from the old users' settings columns (the generator
    // gives every user of clinic c the same values: see identity.sql).
    for c in 1..=3u64 {
        let row: SettingsRow = sqlx::query_as(
            "SELECT email_delay_days, call_delay_days, max_call_retries, \
                        preferred_call_start_time::text, emergency_phone \
                   FROM clinic_settings WHERE clinic_id = $1",
        )
        .bind(legacy_gen::clinic(c))
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("clinic_settings of clinic {c}: {e}"));
        let c = c as i32;
        assert_eq!(
            (row.0, row.1, row.2),
            (Some(1 + c % 2), Some(2 + c % 2), Some(3 - c % 2)),
            "clinic {c}"
        );
        assert_eq!(
            row.3.as_deref().map(|t| &t[..5]),
            Some(["16:00", "15:00", "14:00"][(c % 3) as usize]),
            "clinic {c}"
        );
        let digits: String = row
            .4
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        assert!(
            digits.ends_with(&format!("555{:04}", 9700 + c)),
            "clinic {c}: emergency phone {digits}"
        );
    }
    assert_eq!(count(&pool, "clinic_settings").await, 3);

    // Assistants: both old tables name each clinic's inbound assistant; V2 has one mapping.
    let assistant: String =
        sqlx::query_scalar("SELECT assistant_id FROM vapi_assistant_mappings WHERE clinic_id = $1 AND assistant_type = 'inbound'")
            .bind(legacy_gen::clinic(1))
            .fetch_one(&mut old.conn().await)
            .await
            .unwrap();
    let mapped: Uuid =
        sqlx::query_scalar("SELECT clinic_id FROM vapi_assistant_mappings WHERE assistant_id = $1")
            .bind(&assistant)
            .fetch_one(&pool)
            .await
            .expect("the inbound assistant's mapping");
    assert_eq!(mapped, legacy_gen::clinic(1));
    old.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Idempotence, dry run
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_second_run_writes_nothing(pool: PgPool) {
    let old = legacy::old_database(&pool, LegacySize::TEST).await;
    let first = import(&pool, &options(&old)).await;
    let tables = public_tables(&pool).await;
    let before = checksums(&pool, &tables, &[]).await;
    let second = import(&pool, &options(&old)).await;
    let rewritten: BTreeMap<String, i64> = written(&second)
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .collect();
    assert!(rewritten.is_empty(), "second run wrote {rewritten:?}");
    let data: Vec<String> = written(&first).into_keys().collect();
    let after = checksums(&pool, &tables, &[]).await;
    let changed: Vec<&String> = data
        .iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .collect();
    assert!(
        changed.is_empty(),
        "rows changed by the second run in {changed:?}"
    );
    assert_eq!(
        old_tables(&first),
        old_tables(&second),
        "the same old rows were read"
    );
    old.drop_db().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_dry_run_writes_nothing_and_reports_the_same(pool: PgPool) {
    let old = legacy::old_database(&pool, LegacySize::TEST).await;
    let tables = public_tables(&pool).await;
    let before = checksums(&pool, &tables, &[]).await;
    let dry = import(
        &pool,
        &ImportOptions {
            dry_run: true,
            ..options(&old)
        },
    )
    .await;
    assert_eq!(dry["dry_run"], Value::Bool(true));
    assert_eq!(
        checksums(&pool, &tables, &[]).await,
        before,
        "the dry run wrote"
    );
    let real = import(&pool, &options(&old)).await;
    assert_eq!(old_tables(&dry), old_tables(&real));
    for section in ["not_imported", "new_tables"] {
        assert_eq!(dry[section], real[section], "{section}");
    }
    for t in old_tables(&real).keys() {
        assert_eq!(
            skip_reasons(&dry, t),
            skip_reasons(&real, t),
            "skip reasons of {t}"
        );
    }
    old.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Resume after kill -9
// ---------------------------------------------------------------------------------------------

/// A second, migrated V2 database on the test's server, for a clean import to compare with.
struct OtherV2 {
    pool: PgPool,
    name: String,
    admin: String,
}

impl OtherV2 {
    async fn create(pool: &PgPool, name: &str) -> OtherV2 {
        let url = app::database_url(pool);
        let admin = replace_db(&url, "postgres");
        let mut conn = PgConnection::connect(&admin).await.unwrap();
        odis_worker::db::bench::recreate_database(&mut conn, name)
            .await
            .unwrap();
        conn.close().await.ok();
        let pool = odis_worker::db::connect(&replace_db(&url, name), 4)
            .await
            .unwrap();
        odis_worker::db::migrate(&pool).await.unwrap();
        OtherV2 {
            pool,
            name: name.to_string(),
            admin,
        }
    }

    async fn drop_db(self) {
        self.pool.close().await;
        let mut conn = PgConnection::connect(&self.admin).await.unwrap();
        odis_worker::db::bench::drop_database(&mut conn, &self.name)
            .await
            .unwrap();
    }
}

fn replace_db(url: &str, db: &str) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// `odis-worker import-legacy` into `target_url`, its stderr into `log`.
fn import_command(old: &Legacy, target_url: &str, batch: usize, log: &std::path::Path) -> Command {
    let err = std::fs::File::create(log).expect("log file");
    let mut c = Command::new(env!("CARGO_BIN_EXE_odis-worker"));
    c.args([
        "import-legacy",
        "--from",
        &old.url,
        "--batch-size",
        &batch.to_string(),
    ])
    .env_clear()
    .env("DATABASE_URL", target_url)
    .env("LOG_FORMAT", "json")
    .env("RUST_LOG", "warn")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::from(err));
    c
}

/// The timestamp columns of `tables` (in either database) holding a value written at import
/// time rather than copied from the old rows: those cannot be equal between two runs.
async fn import_time_columns(
    pools: [&PgPool; 2],
    tables: &[String],
    since: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    for pool in pools {
        for t in tables {
            let cols: Vec<String> = sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns \
                  WHERE table_schema = 'public' AND table_name = $1 \
                    AND data_type = 'timestamp with time zone'",
            )
            .bind(t)
            .fetch_all(pool)
            .await
            .unwrap();
            for col in cols {
                let recent: bool = sqlx::query_scalar(AssertSqlSafe(format!(
                    "SELECT coalesce(max(\"{col}\") >= $1, false) FROM public.\"{t}\""
                )))
                .bind(since)
                .fetch_one(pool)
                .await
                .unwrap();
                if recent {
                    out.insert(col);
                }
            }
        }
    }
    out.into_iter().collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_resumes_after_kill_minus_nine(pool: PgPool) {
    let since = chrono::Utc::now();
    let old = legacy::old_database(
        &pool,
        LegacySize {
            clinics: 4,
            cases_per_clinic: 300,
            awkward: true,
        },
    )
    .await;
    let old_calls = old.count("scheduled_discharge_calls").await;
    let target = app::database_url(&pool);

    // First run: killed once some, not all, discharge calls (a late, large table) are in.
    let dir = std::env::temp_dir().join(format!("odis-import-resume-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (log1, log2) = (dir.join("first.log"), dir.join("second.log"));
    let mut first = import_command(&old, &target, 10, &log1)
        .spawn()
        .expect("start import-legacy");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        if let Some(status) = first.try_wait().unwrap() {
            panic!(
                "the first run ended ({status}) before it could be killed: make the old database bigger\n{}",
                tail(&log1)
            );
        }
        let calls = count(&pool, "outbound_calls").await;
        if calls > 0 {
            assert!(calls < old_calls, "all calls already in");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no call was imported in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let partial = count(&pool, "outbound_calls").await;
    assert!(
        partial < old_calls,
        "killed too late ({partial} of {old_calls})"
    );

    // Second run: completes.
    let second = import_command(&old, &target, 10, &log2)
        .status()
        .expect("run import-legacy");
    assert!(second.success(), "second run: {second}\n{}", tail(&log2));

    // A clean run into another database, compared table by table.
    let other = OtherV2::create(&pool, &format!("{}_clean", old.name)).await;
    let clean = import(&other.pool, &options(&old)).await;
    let tables: Vec<String> = written(&clean).into_keys().collect();
    let volatile = import_time_columns([&pool, &other.pool], &tables, since).await;
    let volatile: Vec<&str> = volatile.iter().map(String::as_str).collect();
    let resumed_sums = checksums(&pool, &tables, &volatile).await;
    let clean_sums = checksums(&other.pool, &tables, &volatile).await;
    let differ: Vec<&String> = tables
        .iter()
        .filter(|t| resumed_sums[*t] != clean_sums[*t])
        .collect();
    other.drop_db().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        differ.is_empty(),
        "resumed import differs from a clean one in {differ:?} (compared without {volatile:?})"
    );
    old.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// --clinic
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_one_clinic_brings_only_its_rows_and_users(pool: PgPool) {
    let old = legacy::old_database(&pool, LegacySize::TEST).await;
    let clinic = legacy_gen::clinic(2);
    import(
        &pool,
        &ImportOptions {
            clinics: vec![clinic],
            ..options(&old)
        },
    )
    .await;
    let clinics: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM clinics")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(clinics, [clinic]);
    let mut foreign = Vec::new();
    for t in public_tables(&pool).await {
        let has_clinic: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
              WHERE table_schema = 'public' AND table_name = $1 AND column_name = 'clinic_id')",
        )
        .bind(&t)
        .fetch_one(&pool)
        .await
        .unwrap();
        if !has_clinic {
            continue;
        }
        let other: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM public.\"{t}\" WHERE clinic_id IS NOT NULL AND clinic_id <> $1"
        )))
        .bind(clinic)
        .fetch_one(&pool)
        .await
        .unwrap();
        if other > 0 {
            foreign.push(format!("{t}: {other}"));
        }
    }
    assert!(foreign.is_empty(), "rows of other clinics: {foreign:?}");
    assert_eq!(
        count(&pool, "cases").await,
        i64::from(LegacySize::TEST.cases_per_clinic)
    );
    let users: BTreeSet<Uuid> = sqlx::query_scalar("SELECT id FROM users")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: BTreeSet<Uuid> = [
        legacy_gen::clinic_user(2, 1),
        legacy_gen::clinic_user(2, 2),
        legacy_gen::clinic_user(2, 3),
        awkward::TWO_CLINIC_USER,
    ]
    .into_iter()
    .collect();
    assert_eq!(users, expected, "the users of clinic 2 and no others");
    old.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// RLS after import
// ---------------------------------------------------------------------------------------------

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_keeps_clinics_apart_under_rls(pool: PgPool) {
    let old = legacy::old_database(&pool, LegacySize::TEST).await;
    import(&pool, &options(&old)).await;
    let vet = legacy_gen::clinic_user(1, 2);
    let clerk: String = sqlx::query_scalar("SELECT clerk_user_id FROM users WHERE id = $1")
        .bind(vet)
        .fetch_one(&pool)
        .await
        .expect("clinic 1's veterinarian is imported");
    let mut leaks = Vec::new();
    for table in [
        "cases",
        "patients",
        "clients",
        "outbound_calls",
        "outbound_emails",
        "inbound_calls",
        "call_analysis",
        "schedule_appointments",
        "clinic_messages",
        "clinic_settings",
    ] {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SET LOCAL ROLE authenticated")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
            .bind(serde_json::json!({ "sub": clerk }).to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
        let (own, other): (i64, i64) = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT count(*) FILTER (WHERE clinic_id = $1), count(*) FILTER (WHERE clinic_id <> $1) FROM {table}"
        )))
        .bind(legacy_gen::clinic(1))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        let total = count(&pool, table).await;
        if other != 0 || own == 0 || own == total {
            leaks.push(format!(
                "{table}: sees {own} own and {other} foreign rows of {total}"
            ));
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    old.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// The awkward rows
// ---------------------------------------------------------------------------------------------

/// An E.164 number or nothing: what a repaired phone may look like.
fn repaired_phone(p: &Option<String>) -> bool {
    match p {
        None => true,
        Some(p) => {
            p.starts_with('+') && p.len() >= 11 && p[1..].chars().all(|c| c.is_ascii_digit())
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn import_legacy_skips_awkward_rows_with_their_reason(pool: PgPool) {
    let old = legacy::old_database(&pool, LegacySize::TEST).await;
    let report = import(&pool, &options(&old)).await;
    let dangling = |t: &str| -> i64 {
        skip_reasons(&report, t)
            .iter()
            .filter(|(k, _)| k.starts_with("dangling"))
            .map(|(_, n)| n)
            .sum()
    };
    // Dangling references: nothing to attach the row to.
    assert!(!exists(&pool, "cases", awkward::CASE_OF_MISSING_CLINIC).await);
    assert!(
        dangling("cases") >= 1,
        "{:?}",
        skip_reasons(&report, "cases")
    );
    assert!(!exists(&pool, "outbound_calls", awkward::CALL_OF_MISSING_CASE).await);
    assert!(
        dangling("scheduled_discharge_calls") >= 1,
        "{:?}",
        skip_reasons(&report, "scheduled_discharge_calls")
    );
    // Overlapping appointments: one skipped, or kept without breaking the EXCLUDE.
    let kept: Vec<(Uuid, Option<String>, bool)> = sqlx::query_as(
        "SELECT id, room_id, deleted_at IS NOT NULL FROM schedule_appointments WHERE id = ANY($1)",
    )
    .bind(vec![
        awkward::OVERLAPPING_APPOINTMENT_A,
        awkward::OVERLAPPING_APPOINTMENT_B,
    ])
    .fetch_all(&pool)
    .await
    .unwrap();
    let overlap_skips = skip_reasons(&report, "pims_appointments")
        .get("overlapping_appointment")
        .copied()
        .unwrap_or(0);
    match kept.len() {
        1 => assert_eq!(overlap_skips, 1),
        2 => assert!(
            kept.iter()
                .any(|(_, room, deleted)| room.is_none() || *deleted),
            "both overlapping appointments kept as they were: {kept:?}"
        ),
        _ => panic!("both overlapping appointments dropped: {kept:?}"),
    }
    // Bad phones: skipped with `bad_phone`, or kept with a phone V2 can dial (or none).
    let message: Option<Option<String>> =
        sqlx::query_scalar("SELECT caller_phone FROM clinic_messages WHERE id = $1")
            .bind(awkward::MESSAGE_WITH_BAD_PHONE)
            .fetch_optional(&pool)
            .await
            .unwrap();
    match message {
        None => assert_eq!(
            skip_reasons(&report, "clinic_messages").get("bad_phone"),
            Some(&1),
            "{report:#}"
        ),
        Some(phone) => assert!(repaired_phone(&phone), "kept as {phone:?}"),
    }
    let refill: Option<Option<String>> =
        sqlx::query_scalar("SELECT client_phone FROM refill_requests WHERE id = $1")
            .bind(awkward::REFILL_WITH_SHORT_PHONE)
            .fetch_optional(&pool)
            .await
            .unwrap();
    match refill {
        None => assert!(
            skip_reasons(&report, "refill_requests").contains_key("bad_phone"),
            "{:?}",
            skip_reasons(&report, "refill_requests")
        ),
        Some(phone) => assert!(repaired_phone(&phone), "kept as {phone:?}"),
    }
    // A user without e-mail (V2 users.email is NOT NULL).
    let user: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(awkward::USER_WITHOUT_EMAIL)
        .fetch_optional(&pool)
        .await
        .unwrap();
    match user {
        None => assert!(
            skip_reasons(&report, "users")
                .keys()
                .any(|k| k.starts_with("missing_required") && k.contains("email")),
            "{:?}",
            skip_reasons(&report, "users")
        ),
        Some(email) => assert!(!email.trim().is_empty()),
    }
    // Phones that were kept are stored in one form: the five spellings of one owner's number
    // in clinic 1 became one client.
    let owner_clients: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM clients WHERE clinic_id = $1 AND regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') LIKE '%4085550001'",
    )
    .bind(legacy_gen::clinic(1))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        owner_clients, 1,
        "owner 1 of clinic 1 deduplicated by phone"
    );
    old.drop_db().await;
}
