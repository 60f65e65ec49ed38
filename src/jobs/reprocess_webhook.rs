//! `ReprocessWebhook`: process one stored webhook event again (an inbox event left `failed`, or
//! `pending` because its first processing could not even start). The inbox keeps its own attempt
//! count and backoff, so a processing failure is an `Ok` result here, not a job retry: only a
//! database outage (the event could not be read or updated at all) makes the job retry
//! (`docs/behaviour.md#inbox`). May import: `db`, `domain`, `webhooks`, `state`, `jobs`.

use serde_json::{json, Value};

use super::{AppState, JobError, JobKind};
pub use crate::db::queue::ReprocessWebhook;
use crate::domain::status::EventStatus;
use crate::webhooks::inbox::{self, Processed};

impl JobKind for ReprocessWebhook {
    async fn run(self, ctx: AppState) -> Result<Value, JobError> {
        let result = inbox::process(&ctx, self.event_id).await?;
        Ok(match result {
            Processed::Done(o) => json!({"status": o.status, "note": o.note}),
            Processed::Invalid { field, message } => {
                json!({"status": EventStatus::Invalid.as_str(), "field": field, "reason": message})
            }
            Processed::Failed(e) => json!({"status": EventStatus::Failed.as_str(), "error": e}),
            Processed::Busy => json!({"status": "busy"}),
            Processed::NotFound => json!({"status": "not_found"}),
        })
    }
}
