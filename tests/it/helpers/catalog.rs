//! Catalog-driven helpers of the database tests (`schema`, `rls`).
//!
//! The centrepiece is a catalog-driven **generic row filler**: [`load_tables`] reads every table
//! of schema `public` from `pg_catalog`, and [`Table::insert_sql`] builds an `INSERT` that fills
//! each NOT NULL column without a default (and not generated) with a type-appropriate value.
//! Foreign keys are *not* satisfied: callers run the inserts with
//! `session_replication_role = replica`, which skips the FK triggers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgQueryResult;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

/// One column of a table, as the catalog describes it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// `pg_type.typname`, e.g. `text`, `int4`, `_text`, `tstzrange`.
    pub udt: String,
    pub not_null: bool,
    pub has_default: bool,
    pub generated: bool,
}

/// A table of schema `public` with its columns in `attnum` order.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
}

/// Every ordinary table of schema `public`, keyed by name (sqlx's `_sqlx_migrations` excluded).
pub async fn load_tables(pool: &PgPool) -> BTreeMap<String, Table> {
    let rows: Vec<(String, String, String, bool, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text, t.typname::text,
                a.attnotnull, a.atthasdef OR a.attidentity <> '', a.attgenerated <> ''
         FROM pg_class c
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         JOIN pg_type t ON t.oid = a.atttypid
         WHERE c.relnamespace = 'public'::regnamespace
           AND c.relkind IN ('r', 'p')
           AND c.relname <> '_sqlx_migrations'
         ORDER BY c.relname, a.attnum",
    )
    .fetch_all(pool)
    .await
    .expect("read table columns from pg_catalog");

    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for (table, name, udt, not_null, has_default, generated) in rows {
        tables
            .entry(table.clone())
            .or_insert_with(|| Table {
                name: table,
                columns: Vec::new(),
            })
            .columns
            .push(Column {
                name,
                udt,
                not_null,
                has_default,
                generated,
            });
    }
    tables
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.column(name).is_some()
    }

    /// `INSERT INTO <table> (...) VALUES (...)` filling every NOT NULL column that has no default
    /// and is not generated; `overrides` (column, SQL expression) win over generated values and
    /// may name any column. Per-table rules the catalog cannot express (e.g. `call_analysis`
    /// needs exactly one call id) are applied unless overridden.
    pub fn insert_sql(&self, overrides: &[(&str, String)]) -> String {
        for (col, _) in overrides {
            assert!(
                self.has_column(col),
                "override for unknown column {}.{col}",
                self.name
            );
        }
        let builtin = builtin_overrides(&self.name);
        let mut names = Vec::new();
        let mut values = Vec::new();
        for col in &self.columns {
            let explicit = overrides
                .iter()
                .chain(builtin.iter())
                .find(|(name, _)| *name == col.name);
            let value = match explicit {
                Some((_, expr)) => expr.clone(),
                None if col.generated || col.has_default || !col.not_null => continue,
                None => filler_value(&self.name, col),
            };
            names.push(col.name.as_str());
            values.push(value);
        }
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.name,
            names.join(", "),
            values.join(", ")
        )
    }

    /// [`Table::insert_sql`] with `RETURNING id`.
    pub fn insert_returning_id_sql(&self, overrides: &[(&str, String)]) -> String {
        format!("{} RETURNING id", self.insert_sql(overrides))
    }
}

/// Rules a valid row needs beyond NOT NULL, which the catalog cannot tell the filler.
fn builtin_overrides(table: &str) -> Vec<(&'static str, String)> {
    match table {
        // CHECK (num_nonnulls(inbound_call_id, outbound_call_id) = 1)
        "call_analysis" => vec![("inbound_call_id", "gen_random_uuid()".to_owned())],
        // CHECK (source IN ('vapi', 'clerk', 'qstash'))
        "webhook_events" => vec![("source", "'vapi'".to_owned())],
        _ => Vec::new(),
    }
}

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// A process-wide increasing number, to make filler values unique.
pub fn next_seq() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// A type-appropriate SQL expression for a NOT NULL column; unique where uniqueness may matter.
pub fn filler_value(table: &str, col: &Column) -> String {
    let n = next_seq();
    match col.udt.as_str() {
        "uuid" => "gen_random_uuid()".to_owned(),
        "text" | "varchar" => text_lit(&format!("{table}.{}.{n}", col.name)),
        "int2" | "int4" | "int8" | "numeric" | "float4" | "float8" => "1".to_owned(),
        "bool" => "false".to_owned(),
        "jsonb" | "json" => "'{}'::jsonb".to_owned(),
        "bytea" => "'\\x00'::bytea".to_owned(),
        // A distinct day per row, for keys like UNIQUE (task_id, completion_date).
        "date" => format!("current_date + {n}"),
        "time" => "'10:00'::time".to_owned(),
        "timestamptz" | "timestamp" => "now()".to_owned(),
        // One distinct half-hour slot per row, so exclusion constraints never collide.
        "tstzrange" => format!(
            "tstzrange(now() + {n} * interval '1 hour', \
             now() + {n} * interval '1 hour' + interval '30 minutes')"
        ),
        udt if udt.starts_with('_') => "'{}'".to_owned(),
        other => panic!(
            "generic row filler: no value for type {other} ({table}.{})",
            col.name
        ),
    }
}

/// A quoted SQL string literal.
pub fn text_lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A `uuid` SQL literal.
pub fn uuid_lit(id: Uuid) -> String {
    format!("'{id}'::uuid")
}

/// The SQLSTATE of a database error (`None` for other errors).
pub fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

/// Run one statement given as a runtime string (simple query protocol).
pub async fn exec(conn: &mut PgConnection, sql: &str) -> Result<PgQueryResult, sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await
}

/// Run one statement inside a savepoint, so a failure does not abort the surrounding transaction.
/// Returns the affected row count, or the error.
pub async fn exec_in_savepoint(conn: &mut PgConnection, sql: &str) -> Result<u64, sqlx::Error> {
    exec(conn, "SAVEPOINT probe").await?;
    match exec(conn, sql).await {
        Ok(done) => {
            exec(conn, "RELEASE SAVEPOINT probe").await?;
            Ok(done.rows_affected())
        }
        Err(err) => {
            exec(conn, "ROLLBACK TO SAVEPOINT probe").await?;
            Err(err)
        }
    }
}

/// Describe an outcome for failure messages: `ok(<rows> rows)` or `SQLSTATE <code>: <message>`.
pub fn describe(outcome: &Result<u64, sqlx::Error>) -> String {
    match outcome {
        Ok(rows) => format!("ok ({rows} rows)"),
        Err(err) => match sqlstate(err) {
            Some(code) => format!("SQLSTATE {code}: {err}"),
            None => format!("error: {err}"),
        },
    }
}

/// Insert a row as the current (privileged) session and return its id.
pub async fn insert_row(
    conn: &mut PgConnection,
    table: &Table,
    overrides: &[(&str, String)],
) -> Uuid {
    let sql = table.insert_returning_id_sql(overrides);
    sqlx::query_scalar(AssertSqlSafe(sql.clone()))
        .fetch_one(conn)
        .await
        .unwrap_or_else(|err| panic!("setup insert failed: {err}\n  {sql}"))
}
