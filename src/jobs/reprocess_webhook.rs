//! `ReprocessWebhook`: process one stored webhook event again (an inbox event left `failed`, or
//! `pending` because its first processing could not even start). The inbox keeps its own attempt
//! count and backoff, so a processing failure is an `Ok` result here, not a job retry: only a
//! database outage (the event could not be read or updated at all) makes the job retry.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{JobContext, JobError, JobKind};
use crate::http::AppState;
use crate::webhooks::inbox::{self, Processed};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReprocessWebhook {
    pub event_id: Uuid,
}

impl JobKind for ReprocessWebhook {
    const QUEUE: &'static str = "odis.reprocess_webhook";
    const MAX_ATTEMPTS: usize = 3;

    async fn run(self, ctx: JobContext) -> Result<Value, JobError> {
        let state = AppState::from_parts(ctx.pool.clone(), ctx.config.clone());
        let result = inbox::process(&state, self.event_id).await?;
        Ok(match result {
            Processed::Done(o) => json!({"status": o.status, "note": o.note}),
            Processed::Invalid { field, message } => {
                json!({"status": "invalid", "field": field, "reason": message})
            }
            Processed::Failed(e) => json!({"status": "failed", "error": e}),
            Processed::Busy => json!({"status": "busy"}),
            Processed::NotFound => json!({"status": "not_found"}),
        })
    }
}
