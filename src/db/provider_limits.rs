//! `provider_call_slots` and `provider_rate_buckets`: provider limits shared by every process
//! (`docs/behaviour.md#provider-limits`). The rules (leases, when a slot is freed) are in
//! `domain::provider_limits`; durations are bound as seconds and compared with the database's
//! clock, so the processes' clocks never matter.

use std::time::Duration;

use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

// --- call slots (jobs/dispatch/call, webhooks/vapi, jobs/sweep) ---

/// Takes a free slot among `1..=limit` for `call`, leased for `lease`: the slot this call
/// already holds, else the lowest free one (no call, or its lease passed). `None` when all are
/// taken. Creates the slot rows on first use (and when the limit was raised).
pub async fn acquire_call_slot(
    pool: &PgPool,
    call: Uuid,
    holder: &str,
    limit: usize,
    lease: Duration,
) -> Result<Option<i32>, sqlx::Error> {
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    for _ in 0..2 {
        let slot: Option<i32> = sqlx::query_scalar(
            "WITH free AS ( \
               SELECT slot FROM provider_call_slots \
               WHERE slot <= $3 AND (outbound_call_id IS NULL OR lease_until < now() \
                                     OR outbound_call_id = $1) \
               ORDER BY (outbound_call_id = $1) IS TRUE DESC, slot \
               LIMIT 1 FOR UPDATE SKIP LOCKED) \
             UPDATE provider_call_slots s SET outbound_call_id = $1, holder = $2, \
               acquired_at = now(), lease_until = now() + make_interval(secs => $4) \
             FROM free WHERE s.slot = free.slot RETURNING s.slot",
        )
        .bind(call)
        .bind(holder)
        .bind(limit)
        .bind(lease.as_secs_f64())
        .fetch_optional(pool)
        .await?;
        if slot.is_some() {
            return Ok(slot);
        }
        let created = sqlx::query(
            "INSERT INTO provider_call_slots (slot) SELECT generate_series(1, $1) \
             ON CONFLICT (slot) DO NOTHING",
        )
        .bind(limit)
        .execute(pool)
        .await?;
        if created.rows_affected() == 0 {
            return Ok(None);
        }
    }
    Ok(None)
}

/// Keeps `call`'s slot for the live call, for at most `timeout` from now.
pub async fn hold_call_slot(
    ex: impl PgExecutor<'_>,
    call: Uuid,
    timeout: Duration,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE provider_call_slots SET lease_until = now() + make_interval(secs => $2) \
         WHERE outbound_call_id = $1",
    )
    .bind(call)
    .bind(timeout.as_secs_f64())
    .execute(ex)
    .await
    .map(|r| r.rows_affected())
}

/// Frees `call`'s slot (its request failed, or its end was reported); 0 when it held none.
pub async fn release_call_slot(ex: impl PgExecutor<'_>, call: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE provider_call_slots SET outbound_call_id = NULL, holder = NULL, \
           acquired_at = NULL, lease_until = NULL WHERE outbound_call_id = $1",
    )
    .bind(call)
    .execute(ex)
    .await
    .map(|r| r.rows_affected())
}

/// Slots whose lease has passed while still naming a call (their holder died or the call's end
/// was never reported): freed, so the counts say what happened. Returns how many.
pub async fn free_expired_call_slots(ex: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE provider_call_slots SET outbound_call_id = NULL, holder = NULL, \
           acquired_at = NULL, lease_until = NULL \
         WHERE outbound_call_id IS NOT NULL AND lease_until < now()",
    )
    .execute(ex)
    .await
    .map(|r| r.rows_affected())
}

/// Slots currently taken (not expired), for health and tests.
pub async fn live_call_slots(ex: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM provider_call_slots \
         WHERE outbound_call_id IS NOT NULL AND lease_until >= now()",
    )
    .fetch_one(ex)
    .await
}

// --- rate buckets (jobs/dispatch/email) ---

/// Books the next send of `provider`, spaced `interval` after the previous booking across all
/// processes, and returns how long the caller must wait before sending (zero when it may send
/// now). One statement, so concurrent bookings serialize on the row.
pub async fn book_send(
    ex: impl PgExecutor<'_>,
    provider: &str,
    interval: Duration,
) -> Result<Duration, sqlx::Error> {
    let wait: f64 = sqlx::query_scalar(
        "INSERT INTO provider_rate_buckets AS b (provider, next_free_at) \
           VALUES ($1, clock_timestamp() + make_interval(secs => $2)) \
         ON CONFLICT (provider) DO UPDATE SET next_free_at = \
           greatest(b.next_free_at, clock_timestamp()) + make_interval(secs => $2) \
         RETURNING greatest(0, extract(epoch FROM \
           (next_free_at - make_interval(secs => $2) - clock_timestamp())))::float8",
    )
    .bind(provider)
    .bind(interval.as_secs_f64())
    .fetch_one(ex)
    .await?;
    Ok(Duration::from_secs_f64(wait.max(0.0)))
}
