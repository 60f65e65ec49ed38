//! The table loop: stream an old table page by page, translate each page, write it in one
//! transaction (the dry run's single transaction instead), count, report progress, and check a
//! sample of rows field by field at the end of each table.
//!
//! A page is written as one group of set-based upserts inside a savepoint. When the database
//! refuses a row (a NOT NULL, CHECK, unique or exclusion constraint, a dangling reference), the
//! group is rolled back to the savepoint and written again in halves, down to the single row,
//! which is then skipped with the constraint as its reason: one bad row costs a few extra
//! statements, never the import.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::report::{ImportReport, OldTableStats, SampleStats};
use super::rows::{object, Outcome, RowOut};
use super::{calls, clinical, identity, simple, Ctx, ImportError, ImportOptions};
use crate::db::import_target::{self as target_db, targets, Target};
use crate::db::legacy_source::{self, OldDb, OldRead};
use crate::domain::legacy::Skip;

/// One old table's mapping.
#[derive(Clone, Copy)]
pub(crate) enum Step {
    Clinics,
    Users,
    UserClinicAccess,
    Clients,
    CanonicalPatients,
    Cases,
    Patients,
    VapiAssistantMappings,
    ClinicAssistants,
    OutboundCalls,
    InboundCalls,
    OutboundEmails,
    /// A one-to-one table (`import::simple`).
    Simple(&'static simple::Spec),
}

/// The old tables in foreign-key order (parents first), with their mappings.
fn steps() -> Vec<(&'static str, Step)> {
    let one_to_one = |t: &'static str| simple::spec_of(t).map(|spec| (t, Step::Simple(spec)));
    let mut v = vec![
        ("clinics", Step::Clinics),
        ("users", Step::Users),
        ("user_clinic_access", Step::UserClinicAccess),
    ];
    v.extend(
        ["clinic_invitations", "providers"]
            .into_iter()
            .filter_map(one_to_one),
    );
    v.extend([
        ("clients", Step::Clients),
        ("canonical_patients", Step::CanonicalPatients),
        ("cases", Step::Cases),
        ("patients", Step::Patients),
    ]);
    for t in [
        "soap_notes",
        "vital_signs",
        "temp_discharge_summary_templates",
        "temp_soap_templates",
        "templates",
        "discharge_summaries",
    ] {
        v.extend(one_to_one(t));
    }
    v.extend([
        ("vapi_assistant_mappings", Step::VapiAssistantMappings),
        ("clinic_assistants", Step::ClinicAssistants),
        ("scheduled_discharge_calls", Step::OutboundCalls),
        ("inbound_vapi_calls", Step::InboundCalls),
        ("scheduled_discharge_emails", Step::OutboundEmails),
    ]);
    for s in simple::SPECS {
        if !v.iter().any(|(t, _)| *t == s.old_table) {
            v.push((s.old_table, Step::Simple(s)));
        }
    }
    v
}

/// V2 tables in the order a group writes them (parents before children).
fn write_order() -> Vec<&'static Target> {
    let mut v: Vec<&'static Target> = vec![
        &targets::CLINICS,
        &targets::CLINIC_SETTINGS,
        &targets::USERS,
        &targets::USER_CLINIC_ACCESS,
        &targets::CLIENTS,
        &targets::PATIENTS,
        &targets::CASES,
        &targets::VAPI_ASSISTANT_MAPPINGS,
        &targets::OUTBOUND_CALLS,
        &targets::INBOUND_CALLS,
        &targets::CALL_ANALYSIS,
        &targets::OUTBOUND_EMAILS,
    ];
    for s in simple::SPECS {
        if !v.iter().any(|t| t.table == s.target.table) {
            v.push(s.target);
        }
    }
    v
}

/// Rows per table whose mapping is checked again after the table is done.
const SAMPLE: usize = 5;

pub(crate) fn mapped(table: &str) -> bool {
    steps().iter().any(|(t, _)| *t == table)
}

pub(crate) async fn load_ctx(target: &PgPool, opts: &ImportOptions) -> Result<Ctx, ImportError> {
    let mut conn = target.acquire().await.map_err(ImportError::Target)?;
    let t = ImportError::Target;
    Ok(Ctx {
        scope: (!opts.clinics.is_empty()).then(|| opts.clinics.iter().copied().collect()),
        clinic_ids: target_db::id_map(&mut conn, "clinics", "clinics")
            .await
            .map_err(t)?,
        client_ids: target_db::id_map(&mut conn, "clients", "clients")
            .await
            .map_err(t)?,
        patient_ids: target_db::id_map(&mut conn, "canonical_patients", "patients")
            .await
            .map_err(t)?,
    })
}

/// The writes of the run: the dry run's one transaction, or a pool to begin one per page.
enum Sink<'a> {
    Dry(sqlx::Transaction<'a, sqlx::Postgres>),
    Live(&'a PgPool),
}

pub(crate) async fn run_steps(
    target: &PgPool,
    old: &mut OldDb,
    ctx: &mut Ctx,
    opts: &ImportOptions,
    tables: &[String],
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let mut sink = if opts.dry_run {
        Sink::Dry(target.begin().await.map_err(ImportError::Target)?)
    } else {
        Sink::Live(target)
    };
    report.reconciled = true;
    for (table, step) in &steps() {
        if !tables.iter().any(|t| t == table) {
            continue;
        }
        let Some(read) = legacy_source::read_of(table) else {
            continue;
        };
        let expected = old
            .count(read, &opts.clinics)
            .await
            .map_err(ImportError::Old)?;
        let (stats, samples) =
            run_table(&mut sink, old, ctx, opts, read, *step, expected, report).await?;
        if stats.read != expected as u64 {
            report.reconciled = false;
        }
        // A table none of whose rows was imported or merged has nothing to compare.
        if !samples.is_empty() {
            let check = sample_check(&mut sink, old, ctx, read, *step, &samples).await?;
            report.sample_check.insert((*table).to_string(), check);
        }
        report.old_tables.insert((*table).to_string(), stats);
    }
    if let Sink::Dry(tx) = sink {
        tx.rollback().await.map_err(ImportError::Target)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn run_table(
    sink: &mut Sink<'_>,
    old: &mut OldDb,
    ctx: &mut Ctx,
    opts: &ImportOptions,
    read: &OldRead,
    step: Step,
    expected: i64,
    report: &mut ImportReport,
) -> Result<(OldTableStats, Vec<Uuid>), ImportError> {
    let mut stats = OldTableStats::default();
    let mut samples = Vec::new();
    let started = Instant::now();
    let mut last_line = Instant::now();
    old.begin_paging(read, &opts.clinics);
    let n = opts.batch_size.max(1);
    let mut page = old.fetch(n).await.map_err(ImportError::Old)?;
    while !page.is_empty() {
        // The next page is read from the old database while this one is written.
        let (next, outs) = tokio::join!(old.fetch(n), write_one(sink, ctx, step, page, report));
        let mut outs = outs?;
        page = next.map_err(ImportError::Old)?;
        count(&mut stats, &mut samples, &mut outs);
        if opts.progress && last_line.elapsed().as_secs() >= 2 {
            last_line = Instant::now();
            progress_line(read.table, stats.read, expected, started);
        }
    }
    old.end_paging();
    if opts.progress {
        progress_line(read.table, stats.read, expected, started);
    }
    Ok((stats, samples))
}

/// One page in its own transaction (or in the dry run's).
async fn write_one(
    sink: &mut Sink<'_>,
    ctx: &mut Ctx,
    step: Step,
    page: Vec<Value>,
    report: &mut ImportReport,
) -> Result<Vec<RowOut>, ImportError> {
    match sink {
        Sink::Dry(tx) => write_page(tx, ctx, step, page, report).await,
        Sink::Live(pool) => {
            let mut tx = pool.begin().await.map_err(ImportError::Target)?;
            let outs = write_page(&mut tx, ctx, step, page, report).await?;
            tx.commit().await.map_err(ImportError::Target)?;
            Ok(outs)
        }
    }
}

fn progress_line(table: &str, done: u64, total: i64, started: Instant) {
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    eprintln!(
        "import-legacy: {table}: {done}/{total} rows, {:.0} rows/s",
        done as f64 / secs
    );
}

fn count(stats: &mut OldTableStats, samples: &mut Vec<Uuid>, outs: &mut [RowOut]) {
    for o in outs.iter() {
        stats.read += 1;
        if samples.len() < SAMPLE && !matches!(o.outcome, Outcome::Skipped(_)) {
            samples.push(o.old_id);
        }
        match &o.outcome {
            Outcome::Imported => stats.imported += 1,
            Outcome::Merged => stats.merged += 1,
            Outcome::Skipped(s) => {
                stats.skipped += 1;
                *stats.skip_reasons.entry(s.code()).or_default() += 1;
            }
        }
    }
}

/// Translates a page and writes it on `conn` (inside the caller's transaction).
async fn write_page(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    step: Step,
    page: Vec<Value>,
    report: &mut ImportReport,
) -> Result<Vec<RowOut>, ImportError> {
    let rows = page.into_iter().map(object).collect();
    let mut outs = translate(conn, ctx, step, rows).await?;
    let written = write_groups(conn, &mut outs).await?;
    for (t, n) in written {
        report.new_tables.entry(t.to_string()).or_default().written += n;
    }
    Ok(outs)
}

pub(crate) async fn translate(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    step: Step,
    rows: Vec<super::rows::Row>,
) -> Result<Vec<RowOut>, ImportError> {
    let t = ImportError::Target;
    Ok(match step {
        Step::Clinics => identity::clinics(conn, ctx, rows).await.map_err(t)?,
        Step::Users => rows.iter().map(|r| identity::user(ctx, r)).collect(),
        Step::UserClinicAccess => rows.iter().map(|r| identity::access(ctx, r)).collect(),
        Step::Clients => clinical::clients(conn, ctx, rows).await.map_err(t)?,
        Step::CanonicalPatients => clinical::canonical_patients(conn, ctx, rows)
            .await
            .map_err(t)?,
        Step::Cases => clinical::cases(conn, ctx, rows).await.map_err(t)?,
        Step::Patients => clinical::case_patients(conn, rows).await.map_err(t)?,
        Step::VapiAssistantMappings => rows.iter().map(|r| calls::mapping(ctx, r)).collect(),
        Step::ClinicAssistants => calls::clinic_assistants(conn, ctx, rows).await.map_err(t)?,
        Step::OutboundCalls => rows.iter().map(|r| calls::outbound(ctx, r)).collect(),
        Step::InboundCalls => rows.iter().map(|r| calls::inbound(ctx, r)).collect(),
        Step::OutboundEmails => rows.iter().map(|r| calls::email(ctx, r)).collect(),
        Step::Simple(spec) => simple::page(conn, ctx, spec, rows).await.map_err(t)?,
    })
}

/// Writes every non-skipped row of the page, halving groups that the database refuses until
/// the refused row is alone (then skipped with the constraint as reason). Rows written per V2
/// table.
async fn write_groups(
    conn: &mut PgConnection,
    outs: &mut [RowOut],
) -> Result<BTreeMap<&'static str, u64>, ImportError> {
    let t = ImportError::Target;
    let mut written: BTreeMap<&'static str, u64> = BTreeMap::new();
    let live: Vec<usize> = (0..outs.len())
        .filter(|i| !matches!(outs[*i].outcome, Outcome::Skipped(_)))
        .collect();
    let mut stack = vec![live];
    while let Some(group) = stack.pop() {
        if group.is_empty() {
            continue;
        }
        target_db::savepoint(conn).await.map_err(t)?;
        match write_group(conn, outs, &group).await {
            Ok(counts) => {
                target_db::release_savepoint(conn).await.map_err(t)?;
                for (k, n) in counts {
                    *written.entry(k).or_default() += n;
                }
            }
            Err(e) => {
                let Some(skip) = row_fault(&e) else {
                    return Err(t(e));
                };
                target_db::rollback_savepoint(conn).await.map_err(t)?;
                target_db::release_savepoint(conn).await.map_err(t)?;
                if group.len() == 1 {
                    outs[group[0]].outcome = Outcome::Skipped(skip);
                } else {
                    let (left, right) = group.split_at(group.len() / 2);
                    stack.push(right.to_vec());
                    stack.push(left.to_vec());
                }
            }
        }
    }
    Ok(written)
}

/// The skip for an error that one row caused, `None` for a fatal one.
fn row_fault(e: &sqlx::Error) -> Option<Skip> {
    let db = e.as_database_error()?;
    let code = db.code()?;
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
    let column = pg.and_then(|p| p.column());
    Skip::from_db_error(&code, db.constraint(), column)
}

/// Writes the group's rows, table by table in `WRITE_ORDER` (a row another row of the group
/// also writes, by conflict key, is written once), then its id-map rows.
async fn write_group(
    conn: &mut PgConnection,
    outs: &[RowOut],
    group: &[usize],
) -> Result<BTreeMap<&'static str, u64>, sqlx::Error> {
    let mut counts = BTreeMap::new();
    for target in write_order() {
        let mut seen = HashSet::new();
        let rows: Vec<Value> = group
            .iter()
            .flat_map(|i| outs[*i].writes.iter())
            .filter(|(t, _)| t.table == target.table)
            .filter(|(_, row)| seen.insert(conflict_key(target, row)))
            .map(|(_, row)| row.clone())
            .collect();
        if rows.is_empty() {
            continue;
        }
        let n = target_db::upsert(conn, target, &rows).await?;
        *counts.entry(target.table).or_default() += n;
    }
    let ids: Vec<_> = group
        .iter()
        .flat_map(|i| outs[*i].id_map.iter().cloned())
        .collect();
    let n = target_db::upsert_id_map(conn, &ids).await?;
    if n > 0 {
        *counts.entry("legacy_id_map").or_default() += n;
    }
    Ok(counts)
}

fn conflict_key(target: &Target, row: &Value) -> String {
    target
        .conflict
        .iter()
        .map(|c| row.get(c).map(Value::to_string).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// Reads the sampled old rows (imported or merged) again, translates them again, and counts
/// the V2 rows that are not stored exactly as the mapping says (missing, or any compared column
/// different), and the rows whose `legacy_id_map` rows or the V2 rows they name are missing.
async fn sample_check(
    sink: &mut Sink<'_>,
    old: &mut OldDb,
    ctx: &mut Ctx,
    read: &OldRead,
    step: Step,
    samples: &[Uuid],
) -> Result<SampleStats, ImportError> {
    let t = ImportError::Target;
    let rows = old
        .rows_by_id(read, samples)
        .await
        .map_err(ImportError::Old)?;
    let rows = rows.into_iter().map(object).collect();
    let mut pooled;
    let conn: &mut PgConnection = match sink {
        Sink::Dry(tx) => tx,
        Sink::Live(pool) => {
            pooled = pool.acquire().await.map_err(t)?;
            &mut pooled
        }
    };
    let outs = translate(conn, ctx, step, rows).await?;
    let mut mismatches = 0u64;
    for o in &outs {
        if !target_db::id_map_holds(conn, &o.id_map).await.map_err(t)? {
            mismatches += 1;
            tracing::warn!(old_id = %o.old_id, "sample check: id map row or its V2 row missing");
        }
        for (target, row) in &o.writes {
            let n = target_db::mismatches(conn, target, std::slice::from_ref(row))
                .await
                .map_err(t)?;
            if n > 0 {
                mismatches += 1;
                tracing::warn!(table = target.table, old_id = %o.old_id, "sample check mismatch");
            }
        }
    }
    Ok(SampleStats {
        checked: samples.len() as u64,
        mismatches,
    })
}
