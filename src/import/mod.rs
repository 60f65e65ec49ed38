//! `odis-worker import-legacy`: moves clinics' data from the old 63-table database into Schema
//! V2 (`docs/legacy-import.md`). The old database is read in one read-only snapshot, table by
//! table in foreign-key order, streamed in id-ordered keyset pages of `batch_size` rows; each
//! page is translated (`domain::legacy`) and written with one set-based upsert per V2 table, in
//! one transaction per page. Upserts write only rows that differ, and every V2 id is the old id
//! or derived from it, so a second run writes nothing and a run killed half-way simply
//! continues when started again. `--dry-run` does all of it in one transaction rolled back.

mod calls;
mod clinical;
mod engine;
mod identity;
pub mod report;
mod rows;
mod simple;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::legacy_source::OldDb;
pub use report::ImportReport;

#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Postgres URL of the old database (opened READ ONLY).
    pub from: String,
    /// Old clinic ids; empty = all clinics.
    pub clinics: Vec<Uuid>,
    pub dry_run: bool,
    /// Old rows per page (and per transaction); at least 1.
    pub batch_size: usize,
    pub report: Option<PathBuf>,
    /// Per-table progress lines on stderr.
    pub progress: bool,
}

impl ImportOptions {
    pub fn new(from: impl Into<String>) -> Self {
        Self {
            from: from.into(),
            clinics: Vec::new(),
            dry_run: false,
            batch_size: 1000,
            report: None,
            progress: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("old database: {0}")]
    Old(sqlx::Error),
    #[error("target database: {0}")]
    Target(sqlx::Error),
    #[error("writing the report {path}: {source}")]
    Report {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Old tables the spec removes (`docs/spec/schema-v2.md`, "Tables Removed"), plus old tables
/// that no V2 table stands for: the report lists them with their row counts.
const NOT_IMPORTED: &[&str] = &[
    "retell_calls",
    "call_patients",
    "slack_installations",
    "schedule_slots",
    "schedule_appointments",
    "vapi_bookings",
    "user_events",
    "feature_usage",
    "session_analytics",
    "error_logs",
    "audio_files",
    "generations",
    "transcriptions",
    "clinic_api_keys",
    "normalized_data",
    "pims_session_cache",
    "discharge_template_shares",
    "soap_template_shares",
];

/// What a run carries from page to page: the clinics asked for and the ids that moved.
pub(crate) struct Ctx {
    /// Old clinic ids of `--clinic` (None = all).
    pub scope: Option<HashSet<Uuid>>,
    /// Old clinic id → V2 clinic id where they differ (a clinic Clerk had already created).
    pub clinic_ids: HashMap<Uuid, Uuid>,
    /// Merged clients: old id → the V2 client it became.
    pub client_ids: HashMap<Uuid, Uuid>,
    /// Merged canonical patients: old id → the V2 patient it became.
    pub patient_ids: HashMap<Uuid, Uuid>,
}

impl Ctx {
    pub fn clinic(&self, old: Uuid) -> Uuid {
        self.clinic_ids.get(&old).copied().unwrap_or(old)
    }
    pub fn client(&self, old: Uuid) -> Uuid {
        self.client_ids.get(&old).copied().unwrap_or(old)
    }
    pub fn patient(&self, old: Uuid) -> Uuid {
        self.patient_ids.get(&old).copied().unwrap_or(old)
    }
    pub fn in_scope(&self, old_clinic: Uuid) -> bool {
        self.scope.as_ref().is_none_or(|s| s.contains(&old_clinic))
    }
}

/// Runs the import into `target` and returns (and with `opts.report`, writes) the report.
pub async fn run(target: &PgPool, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let mut old = OldDb::open(&opts.from).await.map_err(ImportError::Old)?;
    let mut report = ImportReport {
        dry_run: opts.dry_run,
        clinics: opts.clinics.clone(),
        ..ImportReport::default()
    };
    let mut ctx = engine::load_ctx(target, opts).await?;
    let tables = old.tables().await.map_err(ImportError::Old)?;
    engine::run_steps(target, &mut old, &mut ctx, opts, &tables, &mut report).await?;
    for t in &tables {
        if NOT_IMPORTED.contains(&t.as_str()) {
            let n = old.count_table(t).await.map_err(ImportError::Old)?;
            report.not_imported.insert(t.clone(), n);
        } else if !engine::mapped(t) {
            let n = old.count_table(t).await.map_err(ImportError::Old)?;
            report.not_mapped.insert(t.clone(), n);
        }
    }
    old.close().await.map_err(ImportError::Old)?;
    report.reconciled = report.reconciled
        && report.sample_check.values().all(|s| s.mismatches == 0)
        && report
            .old_tables
            .values()
            .all(|s| s.read == s.imported + s.merged + s.skipped);
    if opts.progress {
        eprintln!(
            "import-legacy: done in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(path) = &opts.report {
        let json = serde_json::to_vec_pretty(&report).unwrap_or_default();
        std::fs::write(path, json).map_err(|source| ImportError::Report {
            path: path.clone(),
            source,
        })?;
    }
    Ok(report)
}
