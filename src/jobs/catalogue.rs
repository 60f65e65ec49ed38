//! The catalogue of periodic work (`jobs/catalogue.toml`): parsing, validation, next run
//! times, the once-per-tick claim and the tick loops.
//!
//! Every process computes the same tick instants from the same catalogue. Before running a
//! tick a process inserts `(name, tick instant)` into `job_ticks`; the primary key lets exactly
//! one insert succeed, and only that process runs the tick. apalis-cron's scheduler is not used
//! because it would fire in every process; the claim is what makes several workers safe
//! (`docs/behaviour.md#catalogue`). The claim's SQL is in `db::job_ticks`.
//!
//! An entry with `catch_up` also runs a tick that was missed while no process ran: at start-up
//! and on every pass of its loop, the most recent scheduled instant within the window is
//! claimed like a live tick if nobody claimed it (`docs/behaviour.md#catch-up`).
//!
//! May import: `db`, `domain`, `state`, `jobs`.

use std::collections::HashMap;
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
    Prune,
}

impl PeriodicJob {
    pub const ALL: [PeriodicJob; 4] = [
        Self::AutoSchedule,
        Self::SweepDue,
        Self::InboxRetry,
        Self::Prune,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::AutoSchedule => "auto-schedule",
            Self::SweepDue => "sweep-due",
            Self::InboxRetry => "inbox-retry",
            Self::Prune => "prune",
        }
    }

    /// The catch-up window an entry gets when it names none: auto-scheduling must happen every
    /// day even if every process was down at its hour; the sweepers run so often that the next
    /// tick does the work of a missed one.
    pub fn default_catch_up(self) -> Option<chrono::Duration> {
        match self {
            Self::AutoSchedule => Some(chrono::Duration::hours(12)),
            _ => None,
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
    /// `"12h"`, `"30m"`, `"1d"`…, or `"off"`.
    catch_up: Option<String>,
    // `prune` only (`docs/behaviour.md#retention`).
    keep_finished_jobs: Option<String>,
    keep_webhook_payloads: Option<String>,
    keep_ticks: Option<String>,
    batch_size: Option<i64>,
}

/// What the `prune` entry deletes, and in what batches (`docs/behaviour.md#retention`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// `apalis.jobs` rows finished (Done, or dead: Failed with no attempt left, Killed) longer ago.
    pub finished_jobs: chrono::Duration,
    /// Raw payloads of `processed`/`skipped` inbox events received longer ago are dropped (the
    /// row and its status stay).
    pub webhook_payloads: chrono::Duration,
    /// `job_ticks` rows older than this.
    pub ticks: chrono::Duration,
    /// Rows per statement, so no statement holds locks for long.
    pub batch_size: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            finished_jobs: chrono::Duration::days(7),
            webhook_payloads: chrono::Duration::days(90),
            ticks: chrono::Duration::days(30),
            batch_size: 1000,
        }
    }
}

/// The longest catch-up window: ticks are kept 30 days by default, and a window longer than
/// the kept ticks could run a tick twice.
pub const MAX_CATCH_UP: chrono::Duration = chrono::Duration::days(7);

/// `"90d"`, `"12h"`, `"30m"`, `"45s"` or combinations (`"1h30m"`).
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("bad duration {text:?} (expected e.g. \"12h\", \"30m\", \"90d\")");
    let mut total = chrono::Duration::zero();
    let mut digits = String::new();
    let mut parts = 0;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let part = match c {
            's' => chrono::Duration::try_seconds(n),
            'm' => chrono::Duration::try_minutes(n),
            'h' => chrono::Duration::try_hours(n),
            'd' => chrono::Duration::try_days(n),
            _ => None,
        };
        total = total.checked_add(&part.ok_or_else(bad)?).ok_or_else(bad)?;
        parts += 1;
    }
    if !digits.is_empty() || parts == 0 {
        return Err(bad());
    }
    Ok(total)
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
    /// Missed ticks this recent are run late (`None`: never).
    pub catch_up: Option<chrono::Duration>,
    /// The `prune` entry's settings (defaults for other entries, unused).
    pub retention: Retention,
}

impl Entry {
    /// The first tick strictly after `at`.
    pub fn next_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .after(&at.with_timezone(&self.timezone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The most recent tick at or before `at`.
    pub fn last_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let just_after = at + chrono::Duration::milliseconds(1);
        self.schedule
            .after(&just_after.with_timezone(&self.timezone))
            .next_back()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The tick a catch-up at `now` would run: the most recent scheduled instant, if it lies
    /// within the catch-up window (a later tick supersedes earlier missed ones: each tick's work
    /// is "as of now").
    pub fn catch_up_instant(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let window = self.catch_up?;
        self.last_at_or_before(now).filter(|t| *t >= now - window)
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

/// The `prune` settings of an entry: defaults for what is not written; an error when another
/// entry names them.
fn retention_of(r: &RawEntry, job: PeriodicJob) -> Result<Retention, String> {
    let given = [
        &r.keep_finished_jobs,
        &r.keep_webhook_payloads,
        &r.keep_ticks,
    ]
    .iter()
    .any(|v| v.is_some())
        || r.batch_size.is_some();
    if job != PeriodicJob::Prune {
        return match given {
            true => Err("keep_* and batch_size are settings of the `prune` entry only".into()),
            false => Ok(Retention::default()),
        };
    }
    let mut out = Retention::default();
    let field = |name: &str, v: &Option<String>, into: &mut chrono::Duration| {
        if let Some(text) = v {
            let d = parse_duration(text).map_err(|m| format!("{name}: {m}"))?;
            if d < chrono::Duration::days(1) {
                return Err(format!("{name}: {text:?} is shorter than a day"));
            }
            *into = d;
        }
        Ok::<(), String>(())
    };
    field(
        "keep_finished_jobs",
        &r.keep_finished_jobs,
        &mut out.finished_jobs,
    )?;
    field(
        "keep_webhook_payloads",
        &r.keep_webhook_payloads,
        &mut out.webhook_payloads,
    )?;
    field("keep_ticks", &r.keep_ticks, &mut out.ticks)?;
    if out.ticks < MAX_CATCH_UP {
        return Err("keep_ticks: must be at least 7 days (the longest catch-up window)".into());
    }
    if let Some(b) = r.batch_size {
        if !(1..=100_000).contains(&b) {
            return Err(format!("batch_size: {b} is not between 1 and 100000"));
        }
        out.batch_size = b;
    }
    Ok(out)
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
            let catch_up = match r.catch_up.as_deref().map(str::trim) {
                None => job.default_catch_up(),
                Some("off") => None,
                Some(text) => {
                    let d = parse_duration(text).map_err(|m| err(format!("catch_up: {m}")))?;
                    if d > MAX_CATCH_UP {
                        return Err(err(format!("catch_up {text:?} is longer than 7 days")));
                    }
                    (d > chrono::Duration::zero()).then_some(d)
                }
            };
            let retention = retention_of(&r, job).map_err(err)?;
            entries.push(Entry {
                name: r.name.clone(),
                job,
                cron: r.cron.clone(),
                schedule,
                timezone,
                enabled: r.enabled,
                catch_up,
                retention,
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

    /// The `odis-worker jobs` listing: one line per entry with its next run, its catch-up
    /// window and, when the latest tick of each entry is known (`latest`: from `job_ticks`),
    /// whether its most recent scheduled instant ran or was missed.
    pub fn listing(
        &self,
        now: DateTime<Utc>,
        latest: Option<&HashMap<String, DateTime<Utc>>>,
    ) -> String {
        let mut out = format!("catalogue: {}\n", self.source);
        out.push_str(&format!(
            "{:<14} {:<8} {:<16} {:<22} {:<27} {:<21} {:<9} {}\n",
            "NAME",
            "ENABLED",
            "CRON",
            "TIME ZONE",
            "NEXT (LOCAL)",
            "NEXT (UTC)",
            "CATCH-UP",
            "LAST DUE"
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
            let catch_up = e.catch_up.map_or("off".to_string(), format_duration);
            out.push_str(&format!(
                "{:<14} {:<8} {:<16} {:<22} {:<27} {:<21} {:<9} {}\n",
                e.name,
                if e.enabled { "yes" } else { "no" },
                e.cron,
                e.timezone.name(),
                local,
                utc,
                catch_up,
                last_due(e, now, latest)
            ));
        }
        if latest.is_none() {
            out.push_str("(set DATABASE_URL to see which ticks ran and which were missed)\n");
        }
        out
    }
}

/// The LAST DUE column: the most recent scheduled instant and whether a process ran it.
fn last_due(
    e: &Entry,
    now: DateTime<Utc>,
    latest: Option<&HashMap<String, DateTime<Utc>>>,
) -> String {
    let Some(due) = e.last_at_or_before(now).filter(|_| e.enabled) else {
        return "-".into();
    };
    let at = due.format("%Y-%m-%dT%H:%M:%SZ");
    let Some(latest) = latest else {
        return at.to_string();
    };
    if latest.get(&e.name).is_some_and(|t| *t >= due) {
        return format!("{at} ran");
    }
    let why = match (e.catch_up, e.catch_up_instant(now)) {
        (None, _) => "catch-up off",
        (Some(_), Some(_)) => "will be caught up",
        (Some(_), None) => "older than the catch-up window",
    };
    format!("{at} MISSED ({why})")
}

/// `12h`, `1d`, `90m`: the largest whole unit.
pub fn format_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds();
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
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
pub async fn fire(ctx: &AppState, entry: &Entry) -> Result<Value, JobError> {
    match entry.job {
        PeriodicJob::AutoSchedule => {
            super::enqueue_auto_schedule_run(&ctx.pool, None, false).await?;
            Ok(json!({"enqueued": "auto_schedule_run"}))
        }
        job => run_now(ctx, job, Some(&entry.retention)).await,
    }
}

/// Runs an entry's work now, in this process, and returns its result (`odis-worker jobs run`).
/// `retention`: the `prune` entry's settings (defaults when `None`).
pub async fn run_now(
    ctx: &AppState,
    job: PeriodicJob,
    retention: Option<&Retention>,
) -> Result<Value, JobError> {
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
        PeriodicJob::Prune => {
            let retention = retention.cloned().unwrap_or_default();
            to_json(serde_json::to_value(
                super::prune::run(ctx, &retention).await?,
            ))
        }
    }
}

/// Fires a claimed tick and records its result on the tick's row (the console's periodic-jobs
/// page shows it); returns the result.
pub async fn fire_and_record(
    ctx: &AppState,
    entry: &Entry,
    tick: DateTime<Utc>,
    why: &str,
) -> Result<Value, String> {
    let name = entry.name.as_str();
    let outcome = fire(ctx, entry).await.map_err(|e| e.to_string());
    match &outcome {
        Ok(result) => tracing::info!(entry = %name, %tick, %result, why, "tick done"),
        Err(e) => tracing::error!(entry = %name, %tick, error = %e, why, "tick failed"),
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

/// How often a loop with a catch-up window wakes between ticks, so a tick whose claim failed
/// (the database was down) is retried within a minute instead of at the next tick. A pass
/// whose instant is already settled costs no query.
const CATCH_UP_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

async fn tick_loop(ctx: AppState, entry: Entry, shutdown: CancellationToken) {
    // The latest instant whose claim got an answer (won or lost): nothing to catch up before it.
    let mut settled: Option<DateTime<Utc>> = None;
    loop {
        let now = Utc::now();
        if let Some(missed) = entry.catch_up_instant(now) {
            if settled.is_none_or(|s| s < missed)
                && run_tick(&ctx, &entry, missed, "catch-up").await
            {
                settled = Some(missed);
            }
        }
        let Some(tick) = entry.next_after(now) else {
            tracing::warn!(entry = %entry.name, "cron expression has no further ticks");
            return;
        };
        let mut wait = (tick - now).to_std().unwrap_or_default();
        if entry.catch_up.is_some() {
            wait = wait.min(CATCH_UP_RECHECK);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if Utc::now() >= tick && run_tick(&ctx, &entry, tick, "tick").await {
            settled = Some(tick);
        }
    }
}

/// Claims and, if won, runs one tick; true when the claim was answered (won or lost), false
/// when it could not be made (to be tried again).
async fn run_tick(ctx: &AppState, entry: &Entry, tick: DateTime<Utc>, why: &str) -> bool {
    match claim_tick(&ctx.pool, &entry.name, tick, &ctx.instance).await {
        Ok(true) => {
            let _ = fire_and_record(ctx, entry, tick, why).await;
            true
        }
        Ok(false) => {
            tracing::debug!(entry = %entry.name, %tick, why, "tick claimed by another process");
            true
        }
        Err(e) => {
            tracing::warn!(entry = %entry.name, %tick, error = %e, why, "cannot claim tick");
            false
        }
    }
}
