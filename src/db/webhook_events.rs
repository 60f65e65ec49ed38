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

// ==== end inbox retry claim ====
