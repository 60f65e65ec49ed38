//! TEMPORARY STUB on branch issue-12-tests only: the importer's API as
//! /work/notes/import-contract.md gives it, so `bench import` and the tests compile before the
//! importer lands. Replaced by the importer's module when `issue-12` is merged.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub from: String,
    pub clinics: Vec<uuid::Uuid>,
    pub dry_run: bool,
    pub batch_size: usize,
    pub report: Option<std::path::PathBuf>,
    pub progress: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub clinics: Vec<uuid::Uuid>,
    pub old_tables: BTreeMap<String, serde_json::Value>,
    pub new_tables: BTreeMap<String, serde_json::Value>,
    pub not_imported: BTreeMap<String, u64>,
    pub sample_check: BTreeMap<String, serde_json::Value>,
    pub reconciled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the importer is not merged into this branch yet")]
    NotYet,
}

pub async fn run(
    _target: &sqlx::PgPool,
    _opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    Err(ImportError::NotYet)
}
