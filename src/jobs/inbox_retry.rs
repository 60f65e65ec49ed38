//! The `inbox-retry` catalogue entry: enqueue `ReprocessWebhook` for inbox events whose retry is
//! due — `failed` events past their `next_attempt_at`, and `pending` ones older than a minute
//! (stored, but their first processing never ran: the process died or the database blinked).
//!
//! Claiming pushes `next_attempt_at` forward in the same statement (`FOR UPDATE SKIP LOCKED`),
//! so concurrent ticks and a slow job never enqueue one event twice; the processing itself then
//! sets the real backoff, or clears it when the event is done. Events that used up
//! `inbox::MAX_ATTEMPTS` have no `next_attempt_at` and stay `failed` for an operator
//! (`odis-worker replay --from-inbox --status failed`). See `docs/behaviour.md#inbox`.
//!
//! The claim's SQL is `db::webhook_events::claim_due_for_retry`. May import: `db`, `jobs`.

use super::reprocess_webhook::ReprocessWebhook;
use super::{enqueue, AppState, JobError};

/// Events claimed per tick; the rest wait for the next tick.
const BATCH: i64 = 200;

/// Enqueues reprocessing for due inbox events; returns how many were enqueued.
pub async fn tick(ctx: &AppState) -> Result<u64, JobError> {
    let ids = crate::db::webhook_events::claim_due_for_retry(&ctx.pool, BATCH).await?;
    let mut enqueued = 0;
    for event_id in ids {
        enqueue(&ctx.pool, ReprocessWebhook { event_id }, None).await?;
        enqueued += 1;
    }
    Ok(enqueued)
}
