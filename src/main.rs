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
    /// List the periodic job catalogue (jobs/catalogue.toml) with each entry's next run time,
    /// in the entry's time zone and in UTC.
    Jobs {
        #[command(subcommand)]
        action: Option<JobsAction>,
    },
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
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => odis_worker::app::serve(config).await,
            Command::Worker => odis_worker::app::worker(config).await,
            Command::Migrate => odis_worker::app::migrate(config).await,
            Command::Jobs { action: None } => odis_worker::app::jobs_list(),
            Command::Jobs {
                action: Some(JobsAction::Run { name }),
            } => odis_worker::app::jobs_run(config, &name).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("odis-worker: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
