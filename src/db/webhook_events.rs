//! `webhook_events`: the inbox (`docs/behaviour.md#inbox`).

use sqlx::PgPool;

use crate::domain::status::EventStatus;

// ==== reads for operators (http/health, http/metrics) ====

/// Events per status (every status present, zero when none).
pub async fn count_by_status(pool: &PgPool) -> Result<Vec<(EventStatus, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM webhook_events GROUP BY status")
            .fetch_all(pool)
            .await?;
    Ok(EventStatus::ALL
        .iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|(r, _)| r == s.as_str())
                .map_or(0, |(_, n)| *n);
            (*s, n)
        })
        .collect())
}

/// Events still to be (re)processed: `failed` and `pending`.
pub async fn retry_backlog(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE status IN ($1, $2)")
        .bind(EventStatus::Failed.as_str())
        .bind(EventStatus::Pending.as_str())
        .fetch_one(pool)
        .await
}

// ==== end reads for operators ====

// ==== inbox store/process/replay (webhooks/inbox, replay) ====

// ==== end inbox store/process/replay ====

// ==== inbox retry claim (jobs/inbox_retry) ====

/// Claims up to `limit` events whose retry is due — `failed` past their `next_attempt_at`, and
/// `pending` ones older than a minute (their first processing never ran) — by pushing
/// `next_attempt_at` five minutes forward in the same statement (`FOR UPDATE SKIP LOCKED`), so
/// concurrent ticks never claim one event twice. Returns their ids, oldest first.
pub async fn claim_due_for_retry(
    ex: impl sqlx::PgExecutor<'_>,
    limit: i64,
) -> Result<Vec<uuid::Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE webhook_events SET next_attempt_at = now() + interval '5 minutes'
         WHERE id IN (
           SELECT id FROM webhook_events
           WHERE (status = $2 AND next_attempt_at <= now())
              OR (status = $3 AND received_at < now() - interval '1 minute'
                  AND (next_attempt_at IS NULL OR next_attempt_at <= now()))
           ORDER BY received_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .bind(limit)
    .bind(EventStatus::Failed.as_str())
    .bind(EventStatus::Pending.as_str())
    .fetch_all(ex)
    .await
}

// ==== end inbox retry claim ====
