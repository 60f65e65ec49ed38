//! `AutoScheduleRun`: the daily auto-scheduling run (`scheduling::auto_schedule::run`).
//! Retrying is safe: a second run the same day schedules nothing twice
//! (`docs/behaviour.md#auto-schedule`). May import: `db`, `scheduling`, `state`, `jobs`.

use chrono::Utc;
use serde_json::Value;
use sqlx::PgPool;

use super::{AppState, JobError, JobKind};
pub use crate::db::queue::AutoScheduleRun;
use crate::scheduling::auto_schedule::{self, RunOptions, RunSummary};

impl JobKind for AutoScheduleRun {
    fn concurrency(_ctx: &AppState) -> usize {
        1
    }

    async fn run(self, ctx: AppState) -> Result<Value, JobError> {
        let summary = run_now(&ctx.pool, &self).await?;
        serde_json::to_value(summary).map_err(|e| JobError::Transient(e.to_string()))
    }
}

/// Runs the auto-scheduling run now, in this task (also used by `odis-worker jobs run`).
pub async fn run_now(pool: &PgPool, job: &AutoScheduleRun) -> Result<RunSummary, JobError> {
    let opts = RunOptions {
        clinic_ids: job.clinic_ids.clone(),
        dry_run: job.dry_run,
        now: Utc::now(),
    };
    auto_schedule::run(pool, &opts)
        .await
        .map_err(|e| JobError::Transient(format!("auto-scheduling run failed: {e}")))
}
