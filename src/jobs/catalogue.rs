//! The catalogue of periodic work (`jobs/catalogue.toml`): parsing, validation, next run
//! times, the once-per-tick claim and the tick loops.
//!
//! Every process computes the same tick instants from the same catalogue. Before running a
//! tick a process inserts `(name, tick instant)` into `job_ticks`; the primary key lets exactly
//! one insert succeed, and only that process runs the tick. apalis-cron's scheduler is not used
//! because it would fire in every process; the claim is what makes several workers safe
//! (`docs/behaviour.md#catalogue`). The claim's SQL is in `db::job_ticks`.
//!
//! May import: `db`, `domain`, `state`, `jobs`.

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{AppState, JobError};

/// Where the catalogue is looked for, relative to the working directory.
pub const DEFAULT_PATH: &str = "jobs/catalogue.toml";
/// The catalogue compiled into the binary, used when [`DEFAULT_PATH`] does not exist.
pub const EMBEDDED: &str = include_str!("../../jobs/catalogue.toml");

/// The periodic jobs this binary knows how to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodicJob {
    AutoSchedule,
    SweepDue,
    InboxRetry,
}

impl PeriodicJob {
    pub const ALL: [PeriodicJob; 3] = [Self::AutoSchedule, Self::SweepDue, Self::InboxRetry];

    pub fn name(self) -> &'static str {
        match self {
            Self::AutoSchedule => "auto-schedule",
            Self::SweepDue => "sweep-due",
            Self::InboxRetry => "inbox-retry",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|j| j.name() == name)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogueError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{source_name}: {message}")]
    Syntax {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: entry `{entry}`: {message}")]
    Entry {
        source_name: String,
        entry: String,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[serde(default)]
    job: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    cron: String,
    timezone: String,
    enabled: bool,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub job: PeriodicJob,
    /// The expression as written.
    pub cron: String,
    pub schedule: cron::Schedule,
    pub timezone: Tz,
    pub enabled: bool,
}

impl Entry {
    /// The first tick strictly after `at`.
    pub fn next_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .after(&at.with_timezone(&self.timezone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }
}

#[derive(Clone, Debug)]
pub struct Catalogue {
    /// Where it was read from (a path, or "embedded catalogue").
    pub source: String,
    pub entries: Vec<Entry>,
}

/// Accepts the usual 5-field form by prefixing second 0; 6/7 fields go to `cron` unchanged.
fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {}", expr.trim()),
        6 | 7 => expr.trim().to_string(),
        n => {
            return Err(format!(
                "bad cron expression {expr:?}: expected 5 or 6 fields, found {n}"
            ))
        }
    };
    cron::Schedule::from_str(&full).map_err(|e| {
        // The parser's message spans lines (input, caret, reason); keep the reason only so the
        // error stays one line.
        let text = e.to_string();
        let reason = text
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or("invalid expression");
        format!("bad cron expression {expr:?}: {reason}")
    })
}

impl Catalogue {
    pub fn parse(text: &str, source_name: &str) -> Result<Self, CatalogueError> {
        let raw: RawCatalogue = toml::from_str(text).map_err(|e| CatalogueError::Syntax {
            source_name: source_name.to_string(),
            message: e.message().to_string(),
        })?;
        let mut entries: Vec<Entry> = Vec::new();
        for r in raw.job {
            let err = |message: String| CatalogueError::Entry {
                source_name: source_name.to_string(),
                entry: r.name.clone(),
                message,
            };
            let known = || {
                PeriodicJob::ALL
                    .iter()
                    .map(|j| j.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let job = PeriodicJob::from_name(&r.name)
                .ok_or_else(|| err(format!("unknown job (known: {})", known())))?;
            if entries.iter().any(|e| e.name == r.name) {
                return Err(err("listed twice".into()));
            }
            let schedule = parse_cron(&r.cron).map_err(err)?;
            let timezone: Tz = r.timezone.parse().map_err(|_| {
                err(format!(
                    "bad time zone {:?} (expected an IANA name)",
                    r.timezone
                ))
            })?;
            entries.push(Entry {
                name: r.name.clone(),
                job,
                cron: r.cron.clone(),
                schedule,
                timezone,
                enabled: r.enabled,
            });
        }
        Ok(Self {
            source: source_name.to_string(),
            entries,
        })
    }

    /// `jobs/catalogue.toml` from the working directory if present, else the embedded copy.
    pub fn load_default() -> Result<Self, CatalogueError> {
        let path = Path::new(DEFAULT_PATH);
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| CatalogueError::Read {
                path: DEFAULT_PATH.into(),
                message: e.to_string(),
            })?;
            Self::parse(&text, DEFAULT_PATH)
        } else {
            Self::parse(EMBEDDED, "embedded catalogue")
        }
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The `odis-worker jobs` listing: one line per entry with its next run.
    pub fn listing(&self, now: DateTime<Utc>) -> String {
        let mut out = format!("catalogue: {}\n", self.source);
        out.push_str(&format!(
            "{:<14} {:<8} {:<16} {:<22} {:<27} {}\n",
            "NAME", "ENABLED", "CRON", "TIME ZONE", "NEXT (LOCAL)", "NEXT (UTC)"
        ));
        for e in &self.entries {
            let (local, utc) = match (e.enabled, e.next_after(now)) {
                (true, Some(t)) => (
                    t.with_timezone(&e.timezone)
                        .format("%Y-%m-%d %H:%M:%S %Z")
                        .to_string(),
                    t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                ),
                (false, _) => ("-".into(), "-".into()),
                (true, None) => ("never".into(), "never".into()),
            };
            out.push_str(&format!(
                "{:<14} {:<8} {:<16} {:<22} {:<27} {}\n",
                e.name,
                if e.enabled { "yes" } else { "no" },
                e.cron,
                e.timezone.name(),
                local,
                utc
            ));
        }
        out
    }
}

/// Claims tick `tick_at` of entry `name` for `claimer`; true for exactly one caller per tick.
pub async fn claim_tick(
    pool: &PgPool,
    name: &str,
    tick_at: DateTime<Utc>,
    claimer: &str,
) -> Result<bool, sqlx::Error> {
    crate::db::job_ticks::claim(pool, name, tick_at, claimer).await
}

/// What a tick does. The auto-scheduling run is enqueued as a durable job (retries, dead
/// state); the sweeper and the inbox retry are quick and run in the tick itself.
pub async fn fire(ctx: &AppState, job: PeriodicJob) -> Result<Value, JobError> {
    match job {
        PeriodicJob::AutoSchedule => {
            super::enqueue_auto_schedule_run(&ctx.pool, None, false).await?;
            Ok(json!({"enqueued": "auto_schedule_run"}))
        }
        _ => run_now(ctx, job).await,
    }
}

/// Runs an entry's work now, in this process, and returns its result (`odis-worker jobs run`).
pub async fn run_now(ctx: &AppState, job: PeriodicJob) -> Result<Value, JobError> {
    let to_json =
        |v: Result<Value, serde_json::Error>| v.map_err(|e| JobError::Transient(e.to_string()));
    match job {
        PeriodicJob::AutoSchedule => {
            let job = super::AutoScheduleRun {
                clinic_ids: None,
                dry_run: false,
            };
            let summary = super::auto_schedule_run::run_now(&ctx.pool, &job).await?;
            to_json(serde_json::to_value(summary))
        }
        PeriodicJob::SweepDue => to_json(serde_json::to_value(super::sweep::run(ctx).await?)),
        PeriodicJob::InboxRetry => Ok(json!({"enqueued": super::inbox_retry::tick(ctx).await?})),
    }
}

/// Fires a claimed tick and records its result on the tick's row (the console's periodic-jobs
/// page shows it); returns the result.
pub async fn fire_and_record(
    ctx: &AppState,
    name: &str,
    job: PeriodicJob,
    tick: DateTime<Utc>,
) -> Result<Value, String> {
    let outcome = fire(ctx, job).await.map_err(|e| e.to_string());
    match &outcome {
        Ok(result) => tracing::info!(entry = %name, %tick, %result, "tick done"),
        Err(e) => tracing::error!(entry = %name, %tick, error = %e, "tick failed"),
    }
    let recorded = outcome.as_ref().map_err(String::as_str);
    if let Err(e) = crate::db::job_ticks::record_result(&ctx.pool, name, tick, recorded).await {
        tracing::warn!(entry = %name, %tick, error = %e, "cannot record the tick's result");
    }
    outcome
}

/// One loop per enabled entry until `shutdown`.
pub async fn run_ticks(ctx: AppState, catalogue: Catalogue, shutdown: CancellationToken) {
    let mut loops = tokio::task::JoinSet::new();
    for entry in catalogue.entries.into_iter().filter(|e| e.enabled) {
        loops.spawn(tick_loop(ctx.clone(), entry, shutdown.clone()));
    }
    while loops.join_next().await.is_some() {}
}

async fn tick_loop(ctx: AppState, entry: Entry, shutdown: CancellationToken) {
    loop {
        let now = Utc::now();
        let Some(tick) = entry.next_after(now) else {
            tracing::warn!(entry = %entry.name, "cron expression has no further ticks");
            return;
        };
        let wait = (tick - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        match claim_tick(&ctx.pool, &entry.name, tick, &ctx.instance).await {
            Ok(true) => {
                let _ = fire_and_record(&ctx, &entry.name, entry.job, tick).await;
            }
            Ok(false) => {
                tracing::debug!(entry = %entry.name, %tick, "tick claimed by another process")
            }
            Err(e) => tracing::warn!(entry = %entry.name, %tick, error = %e, "cannot claim tick"),
        }
    }
}
