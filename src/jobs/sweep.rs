//! The `sweep-due` catalogue entry: finds work whose time has come and enqueues it
//! (`docs/behaviour.md#catalogue`, `docs/behaviour.md#dispatch`).
//!
//! * `queued`, unclaimed calls/emails whose `scheduled_for` (and retry time) has passed and that
//!   have no live job yet → `DispatchCall` / `DispatchEmail`. "Live job" is read from
//!   `apalis.jobs` (pending, queued, running, or failed with attempts left), so a backlog does
//!   not grow one duplicate job per sweep; a duplicate would be harmless anyway (the claim).
//! * `scheduling::discharge_batch::due_batches` without a live job → `ProcessDischargeBatch`.
//! * Claims left by a crashed worker (older than [`STALE_CLAIM`]): an email, or a call whose
//!   request was never sent, is released; a call that may have reached VAPI is failed with
//!   `dispatch_ambiguous` (never placed twice).
//! * Booking holds (`docs/behaviour.md#vapi-tools-holds`): a pending hold whose call has ended is
//!   confirmed, one whose call is still live is kept alive, and one past `hold_expires_at` with
//!   no live call is expired, freeing its slot.
//! * Call slots whose lease passed are freed (they would be taken over anyway; freeing them
//!   makes the slot table say what is live).
//! * Old `job_ticks` rows are the `prune` entry's (`jobs::prune`).
//!
//! The SQL is in `db::outbound_calls`, `db::outbound_emails`, `db::queue` and `db::provider_limits`
//! (one named query per table, no SQL built here). May import: `db`, `scheduling`, `jobs`.

use serde::Serialize;
use sqlx::PgPool;

use super::dispatch::claim::{STALE_CALL_ERROR, STALE_CALL_REASON};
use super::items::{self, Channel, Final};
use super::{AppState, DispatchCall, DispatchEmail, Job, JobError, ProcessDischargeBatch};
use crate::db::{bookings, outbound_calls, outbound_emails, provider_limits, queue};
use crate::domain::tool_refs::HOLD_MINUTES;

/// Most rows enqueued per table per sweep; the next sweep takes the rest.
pub const SWEEP_LIMIT: i64 = 500;
/// A claim older than this belongs to a dead worker (a live one finishes in seconds); a
/// PostgreSQL interval.
pub const STALE_CLAIM: &str = super::dispatch::claim::STALE_CLAIM;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SweepSummary {
    pub calls_enqueued: u64,
    pub emails_enqueued: u64,
    pub batches_enqueued: u64,
    pub stale_claims_released: u64,
    pub stale_calls_failed: u64,
    pub holds_confirmed: u64,
    pub holds_extended: u64,
    pub holds_expired: u64,
    /// Call slots whose lease passed (a process died mid-request, or a call's end was never
    /// reported), freed (`docs/behaviour.md#provider-limits`).
    pub call_slots_expired: u64,
}

pub async fn run(ctx: &AppState) -> Result<SweepSummary, JobError> {
    let pool = &ctx.pool;
    let mut summary = SweepSummary::default();
    // Stale claims first, so released rows are enqueued by this same sweep.
    recover_stale_claims(pool, &mut summary).await?;
    summary.call_slots_expired = provider_limits::free_expired_call_slots(pool).await?;
    enqueue_due_rows(pool, &mut summary).await?;
    enqueue_due_batches(pool, &mut summary).await?;
    let holds = bookings::sweep_holds(pool, i32::try_from(HOLD_MINUTES).unwrap_or(5)).await?;
    summary.holds_confirmed = holds.confirmed;
    summary.holds_extended = holds.extended;
    summary.holds_expired = holds.expired;
    Ok(summary)
}

/// Releases the claims of dead workers, failing as ambiguous the calls that may have been sent.
async fn recover_stale_claims(pool: &PgPool, summary: &mut SweepSummary) -> Result<(), JobError> {
    let released_calls = outbound_calls::release_stale_unsent_claims(pool, STALE_CLAIM).await?;
    let failed_calls =
        outbound_calls::fail_stale_in_flight(pool, STALE_CLAIM, STALE_CALL_ERROR).await?;
    for id in &failed_calls {
        let error = STALE_CALL_REASON.to_string();
        items::follow(pool, Channel::Call, *id, &Final::Failed(error)).await?;
    }
    let released_emails = outbound_emails::release_stale_claims(pool, STALE_CLAIM).await?;
    summary.stale_claims_released = released_calls + released_emails;
    summary.stale_calls_failed = failed_calls.len() as u64;
    Ok(())
}

async fn enqueue_due_rows(pool: &PgPool, summary: &mut SweepSummary) -> Result<(), JobError> {
    for id in outbound_calls::due_without_job(pool, DispatchCall::QUEUE, SWEEP_LIMIT).await? {
        super::enqueue_dispatch_call(pool, id, None).await?;
        summary.calls_enqueued += 1;
    }
    for id in outbound_emails::due_without_job(pool, DispatchEmail::QUEUE, SWEEP_LIMIT).await? {
        super::enqueue_dispatch_email(pool, id, None).await?;
        summary.emails_enqueued += 1;
    }
    Ok(())
}

async fn enqueue_due_batches(pool: &PgPool, summary: &mut SweepSummary) -> Result<(), JobError> {
    let batches = crate::scheduling::discharge_batch::due_batches(pool)
        .await
        .map_err(|e| JobError::Transient(format!("listing due discharge batches: {e}")))?;
    if batches.is_empty() {
        return Ok(());
    }
    let live = queue::live_job_keys(pool, ProcessDischargeBatch::QUEUE, "batch_id").await?;
    for batch_id in batches {
        if live.iter().flatten().any(|l| *l == batch_id.to_string()) {
            continue;
        }
        super::enqueue_process_discharge_batch(pool, batch_id).await?;
        summary.batches_enqueued += 1;
    }
    Ok(())
}
