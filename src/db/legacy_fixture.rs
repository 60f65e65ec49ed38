//! The old (pre-V2, "63-table") database, built for the importer's tests and `bench import`:
//! `docs/spec/legacy-tables.sql` loaded as it is, then filled by a deterministic, set-based
//! generator (`legacy_fixture/*.sql`, server-side `INSERT … SELECT generate_series`, so a
//! million rows take seconds). Never used by the service itself.
//!
//! The generator's row shapes and the awkward rows are described in the SQL files; the Rust
//! side that names their ids is `bench::legacy_gen`.

use sqlx::{PgConnection, PgExecutor};

/// The old schema, exactly as the spec gives it.
const SCHEMA: &str = include_str!("../../docs/spec/legacy-tables.sql");
/// What the schema needs before it loads (the `extensions` schema of the old Supabase project).
const PRELUDE: &str = include_str!("legacy_fixture/prelude.sql");
const HELPERS: &str = include_str!("legacy_fixture/helpers.sql");
const IDENTITY: &str = include_str!("legacy_fixture/identity.sql");
const MAIN: &str = include_str!("legacy_fixture/main.sql");
const OPERATIONS: &str = include_str!("legacy_fixture/operations.sql");
const AWKWARD: &str = include_str!("legacy_fixture/awkward.sql");
const KEYS: &str = include_str!("legacy_fixture/keys.sql");
const CLEANUP: &str = include_str!("legacy_fixture/cleanup.sql");

/// Loads the old schema into the (empty) database `conn` is connected to.
pub async fn load_schema(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(PRELUDE).execute(&mut *conn).await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *conn).await?;
    Ok(())
}

/// One step of [`seed`], so callers can time or report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedStep {
    /// Clinics, users, access, assistants, credentials, configuration.
    Identity,
    /// Owners, canonical patients, cases, per-case patients, calls, e-mails.
    Main,
    /// Appointments, bookings, messages, refills, batches, templates, slack, removed tables.
    Operations,
    /// The rows that break a V2 rule (needs at least two clinics).
    Awkward,
    /// Primary keys, the old unique keys and lookup indexes, `ANALYZE`.
    Keys,
}

impl SeedStep {
    fn sql(self) -> &'static str {
        match self {
            SeedStep::Identity => IDENTITY,
            SeedStep::Main => MAIN,
            SeedStep::Operations => OPERATIONS,
            SeedStep::Awkward => AWKWARD,
            SeedStep::Keys => KEYS,
        }
    }
}

/// Sets the size for the generator on this session and installs its helpers.
pub async fn begin_seed(
    conn: &mut PgConnection,
    clinics: i64,
    cases_per_clinic: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT set_config('legacy_gen.clinics', $1::text, false), \
                set_config('legacy_gen.cases', $2::text, false)",
    )
    .bind(clinics)
    .bind(cases_per_clinic)
    .execute(&mut *conn)
    .await?;
    sqlx::raw_sql(HELPERS).execute(&mut *conn).await?;
    Ok(())
}

/// Runs one generator step (after [`begin_seed`], on the same session: steps share a temporary
/// table).
pub async fn seed_step(conn: &mut PgConnection, step: SeedStep) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(step.sql()).execute(&mut *conn).await?;
    Ok(())
}

/// Removes the generator's helpers (after the last step).
pub async fn end_seed(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(CLEANUP).execute(&mut *conn).await?;
    Ok(())
}

/// Rows per table of schema `public`, by table name.
pub async fn table_counts<'e>(db: impl PgExecutor<'e>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT table_name::text, \
                (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM public.%I', \
                    table_name), false, true, '')))[1]::text::bigint \
           FROM information_schema.tables \
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
          ORDER BY 1",
    )
    .fetch_all(db)
    .await
}

/// An order-independent checksum of every row of `public.<table>` (md5 of the sorted rows as
/// JSON, without the columns named in `without`), or `None` for an empty table. `table` reaches
/// the SQL only through `format('%I')`.
pub async fn table_checksum<'e>(
    db: impl PgExecutor<'e>,
    table: &str,
    without: &[&str],
) -> Result<Option<String>, sqlx::Error> {
    let without: Vec<String> = without.iter().map(|c| c.to_string()).collect();
    sqlx::query_scalar(
        "SELECT (xpath('/row/s/text()', query_to_xml(format( \
                    'SELECT md5(string_agg(r, ''|'' ORDER BY r)) AS s \
                       FROM (SELECT (to_jsonb(t) - %L::text[])::text AS r FROM public.%I t) x', \
                    $2::text, $1), false, true, '')))[1]::text",
    )
    .bind(table)
    .bind(format!("{{{}}}", without.join(",")))
    .fetch_one(db)
    .await
}
