//! `ProcessDischargeBatch`: process one discharge batch (`scheduling::discharge_batch::process`),
//! which resumes a half-done batch without redoing finished items, so retries are safe.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{JobContext, JobError, JobKind};
use crate::scheduling::discharge_batch;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessDischargeBatch {
    pub batch_id: Uuid,
}

impl JobKind for ProcessDischargeBatch {
    const QUEUE: &'static str = "odis.process_discharge_batch";
    const MAX_ATTEMPTS: usize = 5;

    async fn run(self, ctx: JobContext) -> Result<Value, JobError> {
        let outcome = discharge_batch::process(&ctx.pool, self.batch_id, Utc::now())
            .await
            .map_err(|e| JobError::Transient(format!("batch {}: {e}", self.batch_id)))?;
        serde_json::to_value(outcome).map_err(|e| JobError::Transient(e.to_string()))
    }
}
