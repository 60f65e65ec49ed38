//! The `inbox-retry` catalogue entry: re-processing webhook events stored as `failed`.
//!
//! The webhook inbox (its table and the `ReprocessWebhook` job kind) belongs to the inbox
//! issue, which replaces this body; until then the entry exists, is scheduled and claimed like
//! any other, and re-queues nothing.

use super::{JobContext, JobError};

/// Enqueues reprocessing for failed inbox events; returns how many were enqueued.
pub async fn tick(_ctx: &JobContext) -> Result<u64, JobError> {
    Ok(0)
}
