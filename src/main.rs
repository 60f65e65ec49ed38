//! The `odis-worker` command line. Each subcommand's body lives in `odis_worker::app`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use odis_worker::config::Config;

#[derive(Parser)]
#[command(
    name = "odis-worker",
    version,
    about = "ODIS webhook receiver, job worker and Schema V2 owner"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (webhooks, health, metrics) and run the job workers in one process.
    ///
    /// Without DATABASE_URL an embedded PostgreSQL cluster under ODIS_DATA_DIR is used.
    Serve,
    /// Run the job workers only (no HTTP server).
    Worker,
    /// Apply pending database migrations and exit (a no-op when up to date).
    Migrate,
    /// Push fixture files, or stored inbox events, through the webhook processing pipeline.
    ///
    /// Files: each `*.json` fixture (see fixtures/README.md) is stored in the inbox (dedupe
    /// honoured) and processed, without signature checks. `--from-inbox`: re-process stored events
    /// (by default those `unmatched` or `failed`), e.g. after adding a missing assistant mapping.
    Replay(ReplayArgs),
    /// Benchmarks on loopback against the local PostgreSQL (figures as a table and JSON).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// List the periodic job catalogue (jobs/catalogue.toml) with each entry's next run time,
    /// in the entry's time zone and in UTC, and its catch-up window; with DATABASE_URL set, also
    /// whether each entry's most recent scheduled tick ran or was missed.
    Jobs {
        #[command(subcommand)]
        action: Option<JobsAction>,
    },
    /// Import clinics' data from the old (63-table) database into Schema V2 (DATABASE_URL,
    /// migrated first). Idempotent and resumable: run it again to continue or to bring over
    /// what changed. See docs/legacy-import.md.
    ImportLegacy(ImportLegacyArgs),
}

#[derive(clap::Args)]
struct ImportLegacyArgs {
    /// Postgres URL of the old database (read in a READ ONLY transaction; never written).
    #[arg(long)]
    from: String,
    /// Import only this old clinic (repeatable), with the users and shared rows it needs.
    #[arg(long = "clinic")]
    clinics: Vec<uuid::Uuid>,
    /// Do everything in one transaction and roll it back: the same report, nothing written.
    #[arg(long)]
    dry_run: bool,
    /// Old rows per page and per transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// Also write the JSON report to this file.
    #[arg(long)]
    report: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum JobsAction {
    /// Run one catalogue entry now, in this process, and print its result as JSON
    /// (e.g. `odis-worker jobs run auto-schedule` prints the run summary).
    Run {
        /// Entry name: auto-schedule, sweep-due or inbox-retry.
        name: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Signed VAPI end-of-call reports over HTTP vs the plain-SQL ceiling, and a paced phase.
    Ingest(odis_worker::bench::ingest::IngestArgs),
    /// Job engine: no-op jobs enqueued then worked, and DispatchEmail jobs against a fake Resend.
    ///
    /// No-op: N jobs enqueued (one per round trip, then batched) and worked → enqueue/s and
    /// work/s. Dispatch: N DispatchEmail jobs through the real engine against an in-process fake
    /// Resend → jobs/s and provider requests (must equal N, else the command fails). Published
    /// River / graphile-worker figures are printed beside ours as references (not measured here).
    Jobs(odis_worker::bench::jobs::JobsArgs),
    /// Auto-scheduling: one real run over N eligible cases per size → seconds and the ratio.
    ///
    /// For each size a fresh scratch database is seeded (clinics with auto-scheduling enabled,
    /// eligible cases with discharge summaries; seeding timed separately), then one real (not
    /// dry) run is timed → seconds, cases/s, emails/calls scheduled and the time ratio between
    /// sizes (1.0 of linear = linear).
    Autoschedule(odis_worker::bench::autoschedule::AutoscheduleArgs),
    /// Unauthenticated load on a real `serve` child process: forged and unauthenticated 8 MiB
    /// bodies, slowloris heads → answers by status and the server's peak RSS.
    Attack(odis_worker::bench::attack::AttackArgs),
    /// Voice tools: N concurrent calls run check_availability_range (14 days) then book on one
    /// busy calendar (1,000 appointments), over HTTP → p50/p95/p99 per tool and the
    /// overbooking check (the command fails when a slot holds more than its capacity).
    Tools(odis_worker::bench::tools::ToolsArgs),
    /// The operator console's inbox page on N seeded events: first, deep (keyset), filtered,
    /// searched pages and the replay-all count → p50/p95 ms; a deep OFFSET page for comparison.
    Inbox(odis_worker::bench::inbox::InboxArgs),
    /// Legacy import: a generated old database (N clinics, M rows in the main tables) imported
    /// with `import-legacy`'s code → rows/s, against a plain COPY of the same rows into the same
    /// V2 tables in the same run → the ratio (target ≥ 0.3), and the peak RSS.
    Import(odis_worker::bench::import::ImportArgs),
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// Fixture files or directories (searched recursively for *.json).
    #[arg(required_unless_present = "from_inbox", conflicts_with = "from_inbox")]
    paths: Vec<std::path::PathBuf>,
    /// Re-process events stored in the inbox instead of files.
    #[arg(long)]
    from_inbox: bool,
    /// Only events of this source (vapi, clerk, qstash).
    #[arg(long, requires = "from_inbox", value_parser = parse_source)]
    source: Option<odis_worker::webhooks::inbox::Source>,
    /// Only events in these statuses (comma-separated; default unmatched,failed).
    #[arg(long, requires = "from_inbox", value_delimiter = ',', value_parser = parse_status)]
    status: Vec<odis_worker::domain::status::EventStatus>,
    /// Only this event (any status).
    #[arg(long, requires = "from_inbox")]
    id: Option<uuid::Uuid>,
    /// Only events received at or after this time (RFC 3339, e.g. 2026-11-25T00:00:00Z).
    #[arg(long, requires = "from_inbox")]
    since: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_source(s: &str) -> Result<odis_worker::webhooks::inbox::Source, String> {
    odis_worker::webhooks::inbox::Source::parse(s)
        .ok_or_else(|| format!("unknown source {s:?} (vapi, clerk, qstash)"))
}

fn parse_status(s: &str) -> Result<odis_worker::domain::status::EventStatus, String> {
    odis_worker::domain::status::EventStatus::parse(s).ok_or_else(|| {
        format!("unknown status {s:?} (pending, processed, skipped, unmatched, invalid, failed)")
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("odis-worker: {e}");
            return ExitCode::from(2);
        }
    };
    odis_worker::telemetry::init(config.log_format);
    // The one global metrics recorder, before anything records.
    if odis_worker::metrics::handle().is_none() {
        tracing::warn!("another metrics recorder is installed: /metrics will answer 503");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("odis-worker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("odis-worker: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The subcommand's body.
async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => odis_worker::app::serve(config).await,
        Command::Worker => odis_worker::app::worker(config).await,
        Command::Migrate => odis_worker::app::migrate(config).await,
        Command::Bench(BenchCommand::Ingest(args)) => {
            let report = odis_worker::bench::ingest::run(config, args).await?;
            odis_worker::bench::ingest::print(&report);
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Jobs(args)) => {
            let report = odis_worker::bench::jobs::run(config, args).await?;
            odis_worker::bench::jobs::print(&report);
            println!("{}", serde_json::to_string(&report)?);
            match &report.dispatch {
                Some(d) if !d.exactly_once => Err(anyhow::anyhow!(
                    "dispatch was not exactly once ({} provider requests for {} jobs)",
                    d.provider_requests,
                    d.jobs
                )),
                _ => Ok(()),
            }
        }
        Command::Bench(BenchCommand::Autoschedule(args)) => {
            let report = odis_worker::bench::autoschedule::run(config, args).await?;
            odis_worker::bench::autoschedule::print(&report);
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Import(args)) => {
            let report = odis_worker::bench::import::run(config, args).await?;
            odis_worker::bench::import::print(&report);
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Inbox(args)) => {
            let report = odis_worker::bench::inbox::run(config, args).await?;
            odis_worker::bench::inbox::print(&report);
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Attack(args)) => {
            let report = odis_worker::bench::attack::run(config, args).await?;
            odis_worker::bench::attack::print(&report);
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Tools(args)) => {
            let report = odis_worker::bench::tools::run(config, args).await?;
            odis_worker::bench::tools::print(&report);
            println!("{}", serde_json::to_string(&report)?);
            if report.overbooked_bookings > 0 || report.errors > 0 {
                return Err(anyhow::anyhow!(
                    "{} overbooked bookings, {} errors",
                    report.overbooked_bookings,
                    report.errors
                ));
            }
            Ok(())
        }
        Command::Replay(args) => {
            let filter = args.from_inbox.then_some(odis_worker::replay::InboxFilter {
                source: args.source,
                statuses: args.status,
                id: args.id,
                since: args.since,
            });
            odis_worker::app::replay(config, args.paths, filter).await
        }
        Command::ImportLegacy(args) => {
            let opts = odis_worker::import::ImportOptions {
                from: args.from,
                clinics: args.clinics,
                dry_run: args.dry_run,
                batch_size: args.batch_size as usize,
                report: args.report,
                progress: true,
            };
            odis_worker::app::import_legacy(config, opts).await
        }
        Command::Jobs { action: None } => odis_worker::app::jobs_list(&config).await,
        Command::Jobs {
            action: Some(JobsAction::Run { name }),
        } => odis_worker::app::jobs_run(config, &name).await,
    }
}
