//! The auto-scheduling run (docs/behaviour.md#auto-schedule).
//!
//! Split by reason to change: [`plan`] decides, per case and without I/O, whether and when an
//! email and a call go out (eligibility, cadence precedence, clinic-local times, the 2-minute
//! call spread); `run` orchestrates a run (bulk loads, pages, the
//! `auto_scheduling_runs` bookkeeping); `write` turns a page of plans into rows through `db`.
//! May import: `db`, `domain`, `scheduling::{case_data, content}`.
//!
//! Shape, chosen so it stays fast at 100k cases: per clinic, candidate cases are read in pages
//! of [`PAGE_SIZE`] by one keyset query (newest first) that also brings the latest discharge
//! summary, contacts and "already has a live call/email" flags; times and content are computed
//! in Rust; each page is written in one transaction with a handful of bulk
//! `INSERT ... SELECT FROM UNNEST(...)` statements. Up to [`CLINICS_AT_ONCE`] clinics are in
//! flight at once (PostgreSQL's per-row work dominates a run, docs/benchmarks.md), so memory is
//! bounded by that many pages.
//!
//! Idempotency: a page's transaction first *claims* its cases (`auto_scheduled_at`,
//! `scheduling_source='auto'` where both are still NULL); only claimed cases get rows, so a
//! second (or a concurrent) run schedules nothing twice. The partial unique index
//! `uq_auto_scheduled_items_case_live` backs this up.

pub mod plan;
mod run;
mod write;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

pub use run::{run, run_with, CLINICS_AT_ONCE};

/// Cases per read/write round; a page is one SELECT and one write transaction.
pub const PAGE_SIZE: i64 = 1000;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only these clinics (still only those whose `auto_scheduling_config.is_enabled`).
    pub clinic_ids: Option<Vec<Uuid>>,
    /// Compute everything, write nothing (no run row either).
    pub dry_run: bool,
    /// The run's notion of "now": schedule times, case ages and `auto_scheduled_at` use it.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct RunSummary {
    pub run_id: Option<Uuid>,
    /// `completed` | `partial` | `failed` (a dry run reports what the run would have been).
    pub status: String,
    pub clinics: usize,
    /// Cases that got at least one email or call.
    pub cases_processed: i64,
    pub emails_scheduled: i64,
    pub calls_scheduled: i64,
    pub skipped: i64,
    pub errors: i64,
    /// One object per clinic, the same objects stored in `auto_scheduling_runs.results`.
    pub per_clinic: Vec<Value>,
}

/// Skip reason codes (docs/behaviour.md#auto-schedule), including the ones the corrected rules
/// add. These are codes recorded in a run's results, not statuses.
pub mod reason {
    pub const EXTREME_CASE: &str = "EXTREME_CASE";
    pub const NO_CONTACT_INFO: &str = "NO_CONTACT_INFO";
    pub const NO_DISCHARGE_SUMMARY: &str = "NO_DISCHARGE_SUMMARY";
    /// Younger than `minCaseAgeHours` (the old code reported this as CASE_TOO_OLD).
    pub const CASE_TOO_NEW: &str = "CASE_TOO_NEW";
    pub const ALREADY_SCHEDULED: &str = "ALREADY_SCHEDULED";
    pub const NEVER_AUTO_SCHEDULE: &str = "NEVER_AUTO_SCHEDULE";
    /// The client opted out of communication (`clients.communication_opt_out`).
    pub const OPTED_OUT: &str = "OPTED_OUT";
    /// Channels disabled, already present, or lacking the matching contact.
    pub const NOTHING_TO_SCHEDULE: &str = "NOTHING_TO_SCHEDULE";
    /// Another run claimed the case between our read and our write.
    pub const CLAIMED_ELSEWHERE: &str = "CLAIMED_ELSEWHERE";
}
