//! Provider limits shared by every process (`docs/behaviour.md#provider-limits`).
//!
//! VAPI limits *live calls* per account and Resend *requests per second* per team, so both are
//! enforced through PostgreSQL, not per process: a call takes one of `VAPI_MAX_CONCURRENT_CALLS`
//! slot rows for as long as VAPI may count it, and every Resend send books the next free instant
//! of one shared bucket row. This module holds the rules; the SQL is in `db::provider_limits`.

use std::time::Duration;

use crate::domain::status::CallStatus;

/// How long a process may hold a slot for a create-call request before the slot is presumed
/// abandoned (the process died). Longer than one request can take (the VAPI client's 15 s
/// timeout plus the writes around it), so a live process never loses its slot mid-request.
pub const REQUEST_LEASE: Duration = Duration::from_secs(30);
/// How long a placed call keeps its slot when VAPI's end of the call is never reported to us
/// (a lost webhook). VAPI's default `maxDurationSeconds` is 10 minutes; 30 covers assistants
/// configured longer without leaking a slot forever.
pub const LIVE_CALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How often a dispatcher waiting for a free call slot looks again.
pub const SLOT_POLL: Duration = Duration::from_millis(250);
/// How long a dispatcher waits for a free call slot before giving the row back and trying again
/// later (so a full account does not pin every worker).
pub const SLOT_WAIT: Duration = Duration::from_secs(20);
/// When the dispatcher that gave up waiting tries again.
pub const SLOT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The shared bucket row of Resend's sends.
pub const RESEND_BUCKET: &str = "resend";

/// What happens to a call's slot once VAPI answered the create-call request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotAfterCreate {
    /// Free it now.
    Release,
    /// Keep it for the live call, at most this long (the end webhook frees it earlier).
    HoldFor(Duration),
}

/// A created call keeps its slot until its end is reported, since VAPI counts live calls. That
/// report can only arrive when this deployment receives VAPI's webhooks (`VAPI_WEBHOOK_SECRET`
/// set); without them no end is ever seen, and the slot bounds the requests in flight instead.
/// A call VAPI answers as already over needs no slot.
pub fn slot_after_create(webhooks_received: bool, status: CallStatus) -> SlotAfterCreate {
    if !webhooks_received || status.is_terminal() {
        SlotAfterCreate::Release
    } else {
        SlotAfterCreate::HoldFor(LIVE_CALL_TIMEOUT)
    }
}

/// Whether a call row's new status ends its call (the slot is freed by the webhook that says so).
pub fn call_is_over(status: Option<&str>) -> bool {
    status
        .and_then(CallStatus::parse)
        .is_some_and(CallStatus::is_terminal)
}

/// The spacing of Resend sends for `rps` requests per second (shared by every process).
pub fn send_interval(rps: u32) -> Duration {
    Duration::from_secs(1) / rps.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_fate_after_create() {
        let cases = [
            (
                true,
                CallStatus::Queued,
                SlotAfterCreate::HoldFor(LIVE_CALL_TIMEOUT),
            ),
            (
                true,
                CallStatus::Ringing,
                SlotAfterCreate::HoldFor(LIVE_CALL_TIMEOUT),
            ),
            (
                true,
                CallStatus::InProgress,
                SlotAfterCreate::HoldFor(LIVE_CALL_TIMEOUT),
            ),
            (true, CallStatus::Ended, SlotAfterCreate::Release),
            (true, CallStatus::Failed, SlotAfterCreate::Release),
            (false, CallStatus::Queued, SlotAfterCreate::Release),
            (false, CallStatus::InProgress, SlotAfterCreate::Release),
        ];
        for (webhooks, status, want) in cases {
            assert_eq!(
                slot_after_create(webhooks, status),
                want,
                "{webhooks} {status:?}"
            );
        }
    }

    #[test]
    fn which_statuses_end_a_call() {
        let cases = [
            (Some(CallStatus::Ended.as_str()), true),
            (Some(CallStatus::Failed.as_str()), true),
            (Some(CallStatus::Cancelled.as_str()), true),
            (Some(CallStatus::InProgress.as_str()), false),
            (Some(CallStatus::Queued.as_str()), false),
            (Some("nonsense"), false),
            (None, false),
        ];
        for (status, want) in cases {
            assert_eq!(call_is_over(status), want, "{status:?}");
        }
    }

    #[test]
    fn send_spacing() {
        assert_eq!(send_interval(2), Duration::from_millis(500));
        assert_eq!(send_interval(0), Duration::from_secs(1));
        assert_eq!(send_interval(1000), Duration::from_millis(1));
    }
}
