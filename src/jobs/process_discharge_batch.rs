//! `ProcessDischargeBatch`: process one discharge batch (`scheduling::discharge_batch::process`),
//! which resumes a half-done batch without redoing finished items, so retries are safe
//! (`docs/behaviour.md#discharge-batch`). May import: `db`, `scheduling`, `state`, `jobs`.

use chrono::Utc;
use serde_json::Value;

use super::{AppState, JobError, JobKind};
pub use crate::db::queue::ProcessDischargeBatch;
use crate::scheduling::discharge_batch;

impl JobKind for ProcessDischargeBatch {
    async fn run(self, ctx: AppState) -> Result<Value, JobError> {
        let outcome = discharge_batch::process(&ctx.pool, self.batch_id, Utc::now())
            .await
            .map_err(|e| JobError::Transient(format!("batch {}: {e}", self.batch_id)))?;
        serde_json::to_value(outcome).map_err(|e| JobError::Transient(e.to_string()))
    }
}
