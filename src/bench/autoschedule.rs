//! Auto-scheduling benchmark (seeding SQL in `db::bench`): for each size, a fresh scratch database is seeded (set-based
//! `INSERT … SELECT generate_series`) with `--clinics` clinics whose `auto_scheduling_config` is
//! enabled, their `clinic_settings`, and N eligible cases (completed, 1 hour to 20 days old,
//! owner phone and email, a discharge summary) spread evenly over the clinics; then one real
//! (not dry) [`auto_schedule::run`] is timed. Seeding is timed separately. Besides wall time,
//! each size reports the CPU the run cost this process and the PostgreSQL backends serving the
//! scratch database (`bench::cpu`, less sensitive to other load on the machine than wall time)
//! and the WAL the server wrote meanwhile.

use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;
use serde::Serialize;

use super::{cpu, ScratchDb};
use crate::config::Config;
use crate::db::bench as bench_db;
use crate::domain::cadence::DEFAULT_ELIGIBLE_CASE_STATUS;
use crate::scheduling::auto_schedule::{self, RunOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct AutoscheduleArgs {
    /// Eligible cases per run, comma-separated; one fresh database per size.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    pub cases: Vec<i64>,
    /// Clinics the cases are spread over (all with auto-scheduling enabled).
    #[arg(long, default_value_t = 100)]
    pub clinics: i64,
    /// Clinics scheduled at once (the run's default unless given).
    #[arg(long, default_value_t = auto_schedule::CLINICS_AT_ONCE)]
    pub clinics_at_once: usize,
}

#[derive(Debug, Serialize)]
pub struct SizeReport {
    pub cases: i64,
    pub clinics: i64,
    pub seed_secs: f64,
    pub run_secs: f64,
    pub cases_per_s: f64,
    /// CPU seconds of this process (planning, rendering, encoding) during the run.
    pub process_cpu_secs: f64,
    /// CPU seconds of the PostgreSQL backends serving the scratch database during the run.
    pub postgres_cpu_secs: f64,
    /// WAL the server wrote during the run, in MB (the whole server's: other databases too).
    pub wal_mb: f64,
    pub status: String,
    pub cases_processed: i64,
    pub emails_scheduled: i64,
    pub calls_scheduled: i64,
    pub skipped: i64,
    pub errors: i64,
}

#[derive(Debug, Serialize)]
pub struct Ratio {
    pub from_cases: i64,
    pub to_cases: i64,
    pub size_ratio: f64,
    pub time_ratio: f64,
    /// time ratio / size ratio: 1.0 is exactly linear, above 1 worse than linear.
    pub vs_linear: f64,
}

#[derive(Debug, Serialize)]
pub struct AutoscheduleReport {
    pub sizes: Vec<SizeReport>,
    pub ratios: Vec<Ratio>,
}

pub async fn run(config: Config, args: AutoscheduleArgs) -> anyhow::Result<AutoscheduleReport> {
    let clinics = args.clinics.max(1);
    let mut sizes = Vec::with_capacity(args.cases.len());
    for &n in &args.cases {
        let n = n.max(1);
        let db = ScratchDb::create(&config, 8).await?;
        let result = one_size(&db, n, clinics, args.clinics_at_once).await;
        db.drop_db().await;
        let r = result?;
        eprintln!(
            "  {} cases: seeded in {:.1} s, run in {:.2} s",
            r.cases, r.seed_secs, r.run_secs
        );
        sizes.push(r);
    }
    let ratios = ratios(&sizes);
    Ok(AutoscheduleReport { sizes, ratios })
}

/// Each size against the first (smallest given first).
fn ratios(sizes: &[SizeReport]) -> Vec<Ratio> {
    let Some(first) = sizes.first() else {
        return Vec::new();
    };
    sizes
        .iter()
        .skip(1)
        .map(|s| {
            let size_ratio = s.cases as f64 / first.cases as f64;
            let time_ratio = if first.run_secs > 0.0 {
                s.run_secs / first.run_secs
            } else {
                0.0
            };
            Ratio {
                from_cases: first.cases,
                to_cases: s.cases,
                size_ratio,
                time_ratio,
                vs_linear: time_ratio / size_ratio,
            }
        })
        .collect()
}

/// The zones the seeded clinics are spread over (fixture data, not a policy): four US zones,
/// so a run crosses zone rules.
const SEED_ZONES: [Tz; 4] = [
    Tz::America__Los_Angeles,
    Tz::America__Denver,
    Tz::America__Chicago,
    Tz::America__New_York,
];

async fn one_size(
    db: &ScratchDb,
    n: i64,
    clinics: i64,
    clinics_at_once: usize,
) -> anyhow::Result<SizeReport> {
    let now = Utc::now();
    let t = Instant::now();
    let zones: Vec<&str> = SEED_ZONES.iter().map(|z| z.name()).collect();
    bench_db::seed_autoschedule_clinics(&db.pool, clinics, &zones)
        .await
        .context("seed clinics")?;
    bench_db::seed_autoschedule_cases(&db.pool, n, clinics, DEFAULT_ELIGIBLE_CASE_STATUS, now)
        .await
        .context("seed cases and discharge summaries")?;
    bench_db::vacuum_analyze(&db.pool)
        .await
        .context("vacuum analyze")?;
    let seed_secs = t.elapsed().as_secs_f64();

    let cpu_before = cpu::snapshot(&bench_db::backend_pids(&db.pool).await?);
    let lsn = bench_db::wal_lsn(&db.pool).await?;
    let t = Instant::now();
    let summary = auto_schedule::run_with(
        &db.pool,
        &RunOptions {
            clinic_ids: None,
            dry_run: false,
            now,
        },
        clinics_at_once,
    )
    .await
    .context("auto-scheduling run")?;
    let run_secs = t.elapsed().as_secs_f64();
    let wal_bytes = bench_db::wal_bytes_since(&db.pool, &lsn).await?;
    let spent = cpu::spent(
        &cpu_before,
        &cpu::snapshot(&bench_db::backend_pids(&db.pool).await?),
    );

    if summary.emails_scheduled <= 0 || summary.calls_scheduled <= 0 {
        anyhow::bail!(
            "the run scheduled {} emails and {} calls for {n} seeded cases (status {}, {} skipped, {} errors): the seed is not eligible",
            summary.emails_scheduled,
            summary.calls_scheduled,
            summary.status,
            summary.skipped,
            summary.errors
        );
    }
    Ok(SizeReport {
        cases: n,
        clinics,
        seed_secs,
        run_secs,
        cases_per_s: if run_secs > 0.0 {
            n as f64 / run_secs
        } else {
            0.0
        },
        process_cpu_secs: (spent.client_ms + spent.server_ms) / 1e3,
        postgres_cpu_secs: spent.postgres_ms / 1e3,
        wal_mb: wal_bytes as f64 / 1e6,
        status: summary.status,
        cases_processed: summary.cases_processed,
        emails_scheduled: summary.emails_scheduled,
        calls_scheduled: summary.calls_scheduled,
        skipped: summary.skipped,
        errors: summary.errors,
    })
}

/// The table's column titles, aligned as the rows are (one literal: the titles are words such
/// as "processed", not statuses).
const HEADER: &str = "   cases  clinics    seed s     run s    cases/s  proc cpu s    pg cpu s    WAL MB  processed    emails     calls  skipped  errors     status";

pub fn print(r: &AutoscheduleReport) {
    println!("auto-scheduling benchmark (one real run per size, fresh database each)");
    println!("{HEADER}");
    for s in &r.sizes {
        println!(
            "{:>8} {:>8} {:>9.1} {:>9.2} {:>10.0} {:>11.2} {:>11.2} {:>9.0} {:>10} {:>9} {:>9} {:>8} {:>7} {:>10}",
            s.cases,
            s.clinics,
            s.seed_secs,
            s.run_secs,
            s.cases_per_s,
            s.process_cpu_secs,
            s.postgres_cpu_secs,
            s.wal_mb,
            s.cases_processed,
            s.emails_scheduled,
            s.calls_scheduled,
            s.skipped,
            s.errors,
            s.status
        );
    }
    for q in &r.ratios {
        println!(
            "ratio {} / {} cases: size x{:.1}, time x{:.2} ({:.2} of linear)",
            q.to_cases, q.from_cases, q.size_ratio, q.time_ratio, q.vs_linear
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(cases: i64, run_secs: f64) -> SizeReport {
        SizeReport {
            cases,
            clinics: 100,
            seed_secs: 0.0,
            run_secs,
            cases_per_s: 0.0,
            process_cpu_secs: 0.0,
            postgres_cpu_secs: 0.0,
            wal_mb: 0.0,
            status: "completed".into(),
            cases_processed: cases,
            emails_scheduled: cases,
            calls_scheduled: cases,
            skipped: 0,
            errors: 0,
        }
    }

    #[test]
    fn ratios_against_the_first_size() {
        let r = ratios(&[size(10_000, 2.0), size(100_000, 25.0)]);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].size_ratio, r[0].time_ratio, r[0].vs_linear),
            (10.0, 12.5, 1.25)
        );
        assert!(ratios(&[size(10, 1.0)]).is_empty());
    }

    #[test]
    fn header_is_aligned_with_the_rows() {
        let built = format!(
            "{:>8} {:>8} {:>9} {:>9} {:>10} {:>11} {:>11} {:>9} {:>10} {:>9} {:>9} {:>8} {:>7} {:>10}",
            "cases",
            "clinics",
            "seed s",
            "run s",
            "cases/s",
            "proc cpu s",
            "pg cpu s",
            "WAL MB",
            "processed",
            "emails",
            "calls",
            "skipped",
            "errors",
            "status"
        );
        assert_eq!(HEADER, built);
    }
}
