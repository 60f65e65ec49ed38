//! `bench import`: the legacy import (`import::run`) of a generated old database against a plain
//! `COPY` of the same rows into the same V2 tables, in one run on one server.
//!
//! 1. An old database with `--clinics` clinics and about `--rows` rows in the main tables (cases,
//!    per-case and canonical patients, discharge calls, inbound calls, e-mails) is generated
//!    server-side (`bench::legacy_gen`); its time is printed, not measured against anything.
//! 2. A scratch V2 database is migrated and the old database imported into it with
//!    `import::run` → wall seconds, CPU seconds of this process, rows written per second.
//! 3. The COPY baseline: every V2 table the import wrote to is streamed with
//!    `COPY … TO STDOUT` from that database into the same table of a second, freshly migrated
//!    scratch database (`COPY … FROM STDIN`, binary, parents first) → rows per second.
//! 4. The ratio import/COPY (target ≥ 0.3) and this process's peak resident memory (`VmHWM`).
//!
//! All three databases are dropped at the end, also when a step fails.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sqlx::{Connection, PgConnection};

use super::legacy_gen::{LegacyDb, LegacySize, SeedTimes};
use super::ScratchDb;
use crate::config::Config;
use crate::db::bench as bench_db;
use crate::import::{self, ImportOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Clinics in the old database.
    #[arg(long, default_value_t = 100)]
    pub clinics: u32,
    /// Rows in the old database's main tables (cases, patients, canonical patients, discharge
    /// calls, inbound calls, e-mails), spread evenly over the clinics.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// The importer's `--batch-size`.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
}

#[derive(Debug, Serialize)]
pub struct ImportBenchReport {
    pub clinics: u32,
    pub cases_per_clinic: u32,
    /// Rows in the old database's main tables / in all its tables.
    pub old_main_rows: i64,
    pub old_rows: i64,
    pub generate: SeedTimes,
    pub import_secs: f64,
    pub import_cpu_secs: f64,
    /// Rows the import wrote (sum of the report's `new_tables.*.written`).
    pub import_rows: u64,
    pub import_rows_per_sec: f64,
    /// Rows per V2 table the import wrote.
    pub new_tables: BTreeMap<String, u64>,
    pub reconciled: bool,
    pub copy_secs: f64,
    pub copy_rows: u64,
    pub copy_rows_per_sec: f64,
    /// import rows/s ÷ COPY rows/s.
    pub ratio: f64,
    /// `VmHWM` of this process after the import (KiB), and at the end.
    pub peak_rss_kib_after_import: u64,
    pub peak_rss_kib: u64,
}

/// The old tables counted as "main" rows.
const MAIN_TABLES: [&str; 6] = [
    "cases",
    "patients",
    "canonical_patients",
    "scheduled_discharge_calls",
    "inbound_vapi_calls",
    "scheduled_discharge_emails",
];

pub async fn run(config: Config, args: ImportArgs) -> anyhow::Result<ImportBenchReport> {
    let target = ScratchDb::create_named(&config, 8, "import").await?;
    let copy = match ScratchDb::create_named(&config, 2, "import_copy").await {
        Ok(db) => db,
        Err(e) => {
            target.drop_db().await;
            return Err(e);
        }
    };
    let old_name = format!("odis_bench_{}_legacy", std::process::id());
    let result = match LegacyDb::create(&target.url, &old_name).await {
        Ok(old) => {
            let r = measure(&target, &copy, &old, &args).await;
            if let Err(e) = old.drop_db().await {
                eprintln!("  could not drop {old_name}: {e:#}");
            }
            r
        }
        Err(e) => Err(e),
    };
    copy.drop_db().await;
    target.drop_db().await;
    result
}

async fn measure(
    target: &ScratchDb,
    copy: &ScratchDb,
    old: &LegacyDb,
    args: &ImportArgs,
) -> anyhow::Result<ImportBenchReport> {
    let size = LegacySize::for_rows(args.clinics, args.rows);
    eprintln!(
        "  generating the old database: {} clinics × {} cases …",
        size.clinics, size.cases_per_clinic
    );
    let generate = old.build(size).await?;
    let counts: BTreeMap<String, i64> = old.counts().await?.into_iter().collect();
    let old_main_rows: i64 = MAIN_TABLES.iter().filter_map(|t| counts.get(*t)).sum();
    let old_rows: i64 = counts.values().sum();
    eprintln!(
        "  generated {old_main_rows} main rows ({old_rows} in all) in {:.1} s \
         (schema {:.1} s, rows {:.1} s, keys {:.1} s)",
        generate.schema_secs + generate.rows_secs + generate.keys_secs,
        generate.schema_secs,
        generate.rows_secs,
        generate.keys_secs
    );

    let opts = ImportOptions {
        from: old.url.clone(),
        clinics: Vec::new(),
        dry_run: false,
        batch_size: args.batch_size,
        report: None,
        progress: true,
    };
    let cpu = cpu_secs();
    let started = Instant::now();
    let report = import::run(&target.pool, &opts)
        .await
        .context("import::run")?;
    let import_secs = started.elapsed().as_secs_f64();
    let import_cpu_secs = cpu_secs() - cpu;
    let peak_rss_kib_after_import = vm_hwm_kib();
    let report = serde_json::to_value(&report)?;
    let new_tables = written_per_table(&report);
    let import_rows: u64 = new_tables.values().sum();
    let reconciled = report["reconciled"].as_bool().unwrap_or(false);

    let (copy_secs, copy_rows) = copy_baseline(target, copy, &new_tables).await?;
    let import_rows_per_sec = import_rows as f64 / import_secs.max(1e-9);
    let copy_rows_per_sec = copy_rows as f64 / copy_secs.max(1e-9);
    Ok(ImportBenchReport {
        clinics: size.clinics,
        cases_per_clinic: size.cases_per_clinic,
        old_main_rows,
        old_rows,
        generate,
        import_secs,
        import_cpu_secs,
        import_rows,
        import_rows_per_sec,
        new_tables,
        reconciled,
        copy_secs,
        copy_rows,
        copy_rows_per_sec,
        ratio: import_rows_per_sec / copy_rows_per_sec.max(1e-9),
        peak_rss_kib_after_import,
        peak_rss_kib: vm_hwm_kib(),
    })
}

/// `new_tables.<t>.written` of the import report (the contract's JSON shape), tables with rows.
fn written_per_table(report: &serde_json::Value) -> BTreeMap<String, u64> {
    report["new_tables"]
        .as_object()
        .map(|tables| {
            tables
                .iter()
                .filter_map(|(t, v)| Some((t.clone(), v["written"].as_u64()?)))
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default()
}

/// COPYs the tables in `tables` from `from` into `to`, parents first → (seconds, rows).
async fn copy_baseline(
    from: &ScratchDb,
    to: &ScratchDb,
    tables: &BTreeMap<String, u64>,
) -> anyhow::Result<(f64, u64)> {
    let order = bench_db::tables_in_fk_order(&from.pool).await?;
    let mut src = PgConnection::connect(&from.url).await?;
    let mut dst = PgConnection::connect(&to.url).await?;
    // Rows the migrations put there (none today) would collide with the copied ones.
    let wanted: Vec<String> = order
        .iter()
        .filter(|t| tables.contains_key(*t))
        .cloned()
        .collect();
    bench_db::truncate_tables(&mut dst, &wanted).await?;
    let started = Instant::now();
    let mut rows = 0;
    for table in &wanted {
        rows += bench_db::copy_table(&mut src, &mut dst, table)
            .await
            .with_context(|| format!("COPY {table}"))?;
    }
    let secs = started.elapsed().as_secs_f64();
    src.close().await?;
    dst.close().await?;
    Ok((secs, rows))
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`; 0 where unavailable).
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => 0.0,
    }
}

/// `VmHWM` (peak resident set) of this process in KiB (0 where unavailable).
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub fn print(r: &ImportBenchReport) {
    println!(
        "old database: {} clinics × {} cases = {} main rows ({} in all), generated in {:.1} s",
        r.clinics,
        r.cases_per_clinic,
        r.old_main_rows,
        r.old_rows,
        r.generate.schema_secs + r.generate.rows_secs + r.generate.keys_secs
    );
    println!("{:<32} {:>12}", "V2 table", "rows written");
    for (t, n) in &r.new_tables {
        println!("{t:<32} {n:>12}");
    }
    println!(
        "import: {} rows in {:.1} s ({:.1} s CPU in this process) = {:.0} rows/s, reconciled: {}",
        r.import_rows, r.import_secs, r.import_cpu_secs, r.import_rows_per_sec, r.reconciled
    );
    println!(
        "COPY:   {} rows in {:.1} s = {:.0} rows/s",
        r.copy_rows, r.copy_secs, r.copy_rows_per_sec
    );
    println!(
        "ratio import/COPY: {:.2} (target ≥ 0.3); peak RSS (VmHWM) {:.1} MiB after the import, {:.1} MiB at the end",
        r.ratio,
        r.peak_rss_kib_after_import as f64 / 1024.0,
        r.peak_rss_kib as f64 / 1024.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_rows_are_read_from_the_report_json() {
        let report = serde_json::json!({
            "new_tables": {"cases": {"written": 3}, "users": {"written": 0}, "x": {}},
            "reconciled": true
        });
        let got = written_per_table(&report);
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            [("cases".to_string(), 3)]
        );
    }

    #[test]
    fn proc_figures_are_read() {
        assert!(vm_hwm_kib() > 0);
        assert!(cpu_secs() >= 0.0);
    }
}
