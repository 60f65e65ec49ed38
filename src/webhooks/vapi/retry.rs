//! The next attempt of an unanswered outbound call (`docs/behaviour.md#vapi-outbound-retry`):
//! when it is allowed, when it is placed, and which metadata it carries over.
//!
//! May import: `domain`, `db`, `webhooks::vapi`.

use chrono::Utc;
use serde_json::Value;
use sqlx::PgConnection;

use super::calls::{LAST_TRANSFER, TRANSFERS};
use super::inbound::INCOMPLETE_CALL;
use super::merge::LAST_HANG_AT;
use crate::db;
use crate::db::inbound_calls::CallRow;
use crate::domain::clinic_policy::{self, CallPolicy};
use crate::domain::dispatch_meta;

/// Metadata a retry row must not inherit: the failed attempt's own call notes, and the
/// dispatcher's claim on the failed attempt. A copied claim made the dispatcher refuse the
/// retry row as already claimed, and the stale-claim sweep then failed it: the retry was never
/// placed (`docs/behaviour.md#fixed-bugs`).
pub const NOT_INHERITED: &[&str] = &[
    LAST_HANG_AT,
    TRANSFERS,
    LAST_TRANSFER,
    INCOMPLETE_CALL,
    dispatch_meta::CLAIMED_AT,
    dispatch_meta::CLAIMED_BY,
    dispatch_meta::SENDING_AT,
    dispatch_meta::RETRY_AT,
    dispatch_meta::RETRIES,
    dispatch_meta::AMBIGUOUS,
];

/// The attempt number stored by the dispatcher (first call = 1; absent means 1).
pub fn attempt_of(metadata: Option<&Value>) -> i64 {
    match metadata.and_then(|m| m.get(dispatch_meta::ATTEMPT)) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(1),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(1),
        _ => 1,
    }
    .max(1)
}

/// A new `outbound_calls` row for the next attempt when the clinic's policy allows one, in the
/// clinic's call window after the redial delay; at most once per failed attempt.
pub async fn create(conn: &mut PgConnection, row: &CallRow) -> Result<(), sqlx::Error> {
    let Some(cols) = db::clinics::call_policy_columns(&mut *conn, row.clinic_id).await? else {
        return Ok(());
    };
    let policy = CallPolicy::from_columns(
        row.clinic_id,
        Some(&cols.timezone),
        cols.preferred_call_start_time,
        cols.preferred_call_end_time,
        cols.max_call_retries,
    );
    let attempt = attempt_of(row.metadata.as_ref());
    if !policy.may_retry_after(attempt) {
        return Ok(());
    }
    let base = row.ended_at.unwrap_or_else(Utc::now) + clinic_policy::REDIAL_DELAY;
    let scheduled_for = crate::domain::clock::next_in_window(
        policy.tz,
        policy.window_start,
        policy.window_end,
        base,
    );
    let retry = db::outbound_calls::RetryOf {
        failed_id: row.id,
        scheduled_for,
        attempt: attempt + 1,
        drop_keys: NOT_INHERITED,
    };
    db::outbound_calls::insert_retry(conn, &retry).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attempts() {
        assert_eq!(attempt_of(None), 1);
        assert_eq!(attempt_of(Some(&json!({"attempt": 3}))), 3);
        assert_eq!(attempt_of(Some(&json!({"attempt": "2"}))), 2);
        assert_eq!(attempt_of(Some(&json!({"attempt": "x"}))), 1);
    }

    #[test]
    fn no_dispatcher_claim_key_is_inherited() {
        for key in [
            dispatch_meta::CLAIMED_AT,
            dispatch_meta::CLAIMED_BY,
            dispatch_meta::SENDING_AT,
            dispatch_meta::RETRY_AT,
            dispatch_meta::RETRIES,
        ] {
            assert!(NOT_INHERITED.contains(&key), "{key}");
        }
        assert!(!NOT_INHERITED.contains(&dispatch_meta::ATTEMPT));
    }
}
