//! The `prune` catalogue entry: retention (`docs/behaviour.md#retention`).
//!
//! Deletes finished jobs, old inbox payloads and old ticks in batches of
//! `Retention::batch_size` rows, one short statement (and transaction) per batch, so no lock is
//! held for long and the live queue keeps moving while a large backlog is pruned. A run stops
//! after [`MAX_BATCHES`] batches per kind; the next day's run continues. The SQL is in
//! `db::queue`, `db::webhook_events` and `db::job_ticks`.
//!
//! May import: `db`, `jobs`.

use std::future::Future;

use serde::Serialize;

use super::catalogue::Retention;
use super::{AppState, JobError};
use crate::db::{job_ticks, queue, webhook_events};

/// Batches per kind and run: bounds one run's time (at the default 1000 rows, a million rows).
pub const MAX_BATCHES: usize = 1000;

/// What one run pruned.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct PruneSummary {
    pub finished_jobs_deleted: u64,
    pub webhook_payloads_dropped: u64,
    pub ticks_deleted: u64,
    /// Whether a kind still had rows to prune when the run stopped at [`MAX_BATCHES`].
    pub more_left: bool,
}

pub async fn run(ctx: &AppState, retention: &Retention) -> Result<PruneSummary, JobError> {
    let pool = &ctx.pool;
    let batch = retention.batch_size;
    let secs = |d: chrono::Duration| d.num_milliseconds() as f64 / 1000.0;
    let mut summary = PruneSummary::default();
    let (n, more) = in_batches(batch, || {
        queue::prune_finished_batch(pool, secs(retention.finished_jobs), batch)
    })
    .await?;
    summary.finished_jobs_deleted = n;
    summary.more_left |= more;
    let (n, more) = in_batches(batch, || {
        webhook_events::prune_payloads_batch(pool, secs(retention.webhook_payloads), batch)
    })
    .await?;
    summary.webhook_payloads_dropped = n;
    summary.more_left |= more;
    let (n, more) = in_batches(batch, || {
        job_ticks::prune_batch(pool, secs(retention.ticks), batch)
    })
    .await?;
    summary.ticks_deleted = n;
    summary.more_left |= more;
    tracing::info!(?summary, "pruned");
    Ok(summary)
}

/// Runs `step` until a batch comes back short (nothing left) or [`MAX_BATCHES`] ran; returns
/// the rows pruned and whether rows may be left.
async fn in_batches<F, Fut>(batch: i64, mut step: F) -> Result<(u64, bool), JobError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let n = step().await?;
        total += n;
        if (n as i64) < batch {
            return Ok((total, false));
        }
    }
    Ok((total, true))
}
