//! The claim rules both dispatch channels share (`docs/behaviour.md#dispatch`).
//!
//! A row is claimed by one conditional `UPDATE` (`db::outbound_*::claim_for_dispatch`) that
//! marks `metadata` with `dispatch_meta::CLAIMED_AT`; the spec's statuses have no "dispatching"
//! state, so the row stays `queued` until the provider answers. What happens to a claim after a
//! failure differs by channel, and is decided here:
//! * an email's claim may always be released: every send carries the same idempotency key;
//! * a call's claim is released only while `SENDING_AT` is unset; after that VAPI may have
//!   placed the call, so the row is failed as ambiguous instead, never sent twice.
//!
//! Pure; may import `domain` and `db` row types.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::db::outbound_calls::CallDispatchState;
use crate::domain::status::{CallStatus, EmailStatus};

/// A claim older than this belongs to a dead worker (a live one finishes in seconds); a
/// PostgreSQL interval, bound into the sweeper's queries.
pub const STALE_CLAIM: &str = "10 minutes";
/// `metadata.error` of a call failed because its worker died with the request in flight.
pub const STALE_CALL_ERROR: &str =
    "worker stopped while the VAPI request was in flight; outcome unknown";
/// The tracking items' reason for the same.
pub const STALE_CALL_REASON: &str = "worker stopped while the VAPI request was in flight";
/// The shortest delay before a provider retry.
pub const MIN_RETRY_DELAY: Duration = Duration::from_secs(1);

/// A counter kept in the row's `metadata` (`dispatch_meta::RETRIES`, `ATTEMPTS`); 0 when absent.
pub fn count_in(metadata: &Value, key: &str) -> i64 {
    metadata.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// After a provider failure that is safe to repeat, with `done` tries already counted against
/// `limit`: `None` to give up, else the delay — the provider's advice, or `fallback`, never
/// under [`MIN_RETRY_DELAY`].
pub fn retry_delay(
    done: i64,
    limit: i64,
    advised: Option<Duration>,
    fallback: impl FnOnce() -> Duration,
) -> Option<Duration> {
    if done >= limit {
        return None;
    }
    Some(advised.unwrap_or_else(fallback).max(MIN_RETRY_DELAY))
}

/// The metadata merged into a failed row: `extra` (test-mode facts …), the error and, when the
/// provider may have acted, the ambiguity marker (a VAPI webhook may still link the call).
/// The error a call or email row fails with when its case is not a case of its clinic: never
/// dispatched (`docs/behaviour.md#tenant-isolation`).
pub const CASE_NOT_IN_CLINIC: &str =
    "case_not_in_clinic: the row's case does not belong to the row's clinic";

pub fn failure_metadata(extra: Value, error: &str, ambiguous: bool) -> Value {
    let mut extra = match extra {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    extra.insert("error".into(), json!(error));
    if ambiguous {
        extra.insert(crate::domain::dispatch_meta::AMBIGUOUS.into(), json!(true));
    }
    Value::Object(extra)
}

/// Why a call could not be claimed, from its row (`None`: no such row).
pub fn call_skip_reason(state: Option<&CallDispatchState>) -> String {
    let Some(s) = state else {
        return "outbound call not found".into();
    };
    if s.placed {
        "already placed".into()
    } else if s.status.as_deref() != Some(CallStatus::Queued.as_str()) {
        format!("status is {}", s.status.as_deref().unwrap_or("null"))
    } else if s.claimed {
        "claimed by another dispatcher".into()
    } else {
        "not due yet".into()
    }
}

/// Why an email could not be claimed, from its status (`None`: no such row).
pub fn email_skip_reason(status: Option<Option<String>>) -> String {
    match status {
        None => "outbound email not found".to_string(),
        Some(Some(s)) if s != EmailStatus::Queued.as_str() => format!("status is {s}"),
        Some(_) => "not due yet or claimed by another dispatcher".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_respects_limit_advice_and_floor() {
        let fallback = || Duration::from_secs(10);
        assert_eq!(retry_delay(5, 5, None, fallback), None);
        assert_eq!(
            retry_delay(6, 5, Some(Duration::from_secs(3)), fallback),
            None
        );
        assert_eq!(
            retry_delay(0, 5, None, fallback),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_delay(4, 5, Some(Duration::from_secs(3)), fallback),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_delay(0, 5, Some(Duration::from_millis(10)), fallback),
            Some(MIN_RETRY_DELAY)
        );
    }

    #[test]
    fn counters_default_to_zero() {
        assert_eq!(
            count_in(&json!({"dispatch_retries": 2}), "dispatch_retries"),
            2
        );
        assert_eq!(count_in(&json!({}), "dispatch_retries"), 0);
        assert_eq!(count_in(&Value::Null, "dispatch_attempts"), 0);
    }

    #[test]
    fn failure_metadata_marks_ambiguity_only_when_asked() {
        let m = failure_metadata(json!({"test_mode": true}), "boom", true);
        assert_eq!(
            m,
            json!({"test_mode": true, "error": "boom", "dispatch_ambiguous": true})
        );
        assert_eq!(
            failure_metadata(Value::Null, "x", false),
            json!({"error": "x"})
        );
    }

    #[test]
    fn skip_reasons() {
        let state = |status: &str, placed, claimed| CallDispatchState {
            status: Some(status.into()),
            placed,
            claimed,
        };
        assert_eq!(call_skip_reason(None), "outbound call not found");
        assert_eq!(
            call_skip_reason(Some(&state("queued", true, false))),
            "already placed"
        );
        assert_eq!(
            call_skip_reason(Some(&state("ended", false, false))),
            "status is ended"
        );
        assert_eq!(
            call_skip_reason(Some(&state("queued", false, true))),
            "claimed by another dispatcher"
        );
        assert_eq!(
            call_skip_reason(Some(&state("queued", false, false))),
            "not due yet"
        );
        assert_eq!(email_skip_reason(None), "outbound email not found");
        assert_eq!(
            email_skip_reason(Some(Some("sent".into()))),
            "status is sent"
        );
        assert_eq!(
            email_skip_reason(Some(Some("queued".into()))),
            "not due yet or claimed by another dispatcher"
        );
        assert_eq!(
            email_skip_reason(Some(None)),
            "not due yet or claimed by another dispatcher"
        );
    }
}
