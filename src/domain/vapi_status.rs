//! The one VAPI classifier: `call.status` and `endedReason` → the spec's call statuses, and
//! which outbound endings earn another attempt (`docs/behaviour.md#vapi-status`). The webhook
//! and the dispatcher both use it.

use super::status::CallStatus;

/// VAPI `call.status` → spec status (before the ended reason is considered).
pub fn map_vapi_status(s: &str) -> Option<CallStatus> {
    Some(match s.to_ascii_lowercase().as_str() {
        "scheduled" | "queued" => CallStatus::Queued,
        "ringing" => CallStatus::Ringing,
        "in-progress" | "forwarding" => CallStatus::InProgress,
        "ended" => CallStatus::Ended,
        // `not-found`, `deletion-failed` and anything new say nothing about the lifecycle.
        _ => return None,
    })
}

/// Outbound endings that mean "the owner was not reached, try again later". Voicemail is
/// deliberately absent: a voicemail left is a completed discharge call.
const RETRY_WORTHY: &[&str] = &[
    "customer-did-not-answer",
    "customer-busy",
    "silence-timed-out",
    "dial-busy",
    "dial-no-answer",
    "twilio-failed-to-connect-call",
    "call.start.error-subscription-concurrency-limit-reached",
];

const FAILED_EXACT: &[&str] = &[
    "customer-did-not-answer",
    "customer-busy",
    "silence-timed-out",
    "dial-busy",
    "dial-failed",
    "dial-no-answer",
    "assistant-error",
    "assistant-not-found",
    "assistant-not-valid",
    "assistant-not-invalid",
    "assistant-not-provided",
    "assistant-join-timed-out",
    "twilio-failed-to-connect-call",
    "twilio-reported-customer-misdialed",
    "vonage-rejected",
    "vonage-disconnected",
    "vonage-failed-to-connect-call",
    "sip-outbound-call-failed",
    "failed-to-connect",
    "phone-call-provider-closed-websocket",
    "phone-call-provider-bypass-enabled-but-no-call-received",
    "worker-shutdown",
    "call-start-error-neither-assistant-nor-server-set",
];

const FAILED_PREFIXES: &[&str] = &[
    "call.start.error",
    "pipeline-error",
    "pipeline-no-available",
    "call.in-progress.error",
    "assistant-request-",
];

const CANCELLED_EXACT: &[&str] = &[
    "manually-canceled",
    "scheduled-call-deleted",
    "call-deleted",
];

/// The terminal status an ended call gets from its `endedReason` (an open string: unknown
/// reasons are a normal end, so a new VAPI reason never turns into a false failure).
pub fn terminal_status(ended_reason: Option<&str>) -> CallStatus {
    let Some(reason) = ended_reason.map(str::to_ascii_lowercase) else {
        return CallStatus::Ended;
    };
    let r = reason.as_str();
    if r.contains("voicemail") {
        return CallStatus::Ended;
    }
    if CANCELLED_EXACT.contains(&r) || r.contains("cancelled") || r.contains("canceled") {
        return CallStatus::Cancelled;
    }
    if FAILED_EXACT.contains(&r)
        || FAILED_PREFIXES.iter().any(|p| r.starts_with(p))
        // SIP ringing failures are failures, the ringing hooks are normal endings.
        || (r.starts_with("call.ringing.") && !r.starts_with("call.ringing.hook-executed"))
    {
        return CallStatus::Failed;
    }
    CallStatus::Ended
}

/// Whether an outbound attempt that ended this way gets a new attempt.
pub fn is_retry_worthy(ended_reason: Option<&str>) -> bool {
    let Some(r) = ended_reason.map(str::to_ascii_lowercase) else {
        return false;
    };
    !r.contains("voicemail") && RETRY_WORTHY.contains(&r.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_status_by_reason() {
        let cases = [
            (None, "ended"),
            (Some("customer-ended-call"), "ended"),
            (Some("assistant-ended-call"), "ended"),
            (Some("voicemail"), "ended"),
            (Some("exceeded-max-duration"), "ended"),
            (Some("call.ringing.hook-executed-say"), "ended"),
            (Some("some-new-reason"), "ended"),
            (Some("customer-did-not-answer"), "failed"),
            (Some("customer-busy"), "failed"),
            (Some("silence-timed-out"), "failed"),
            (Some("twilio-failed-to-connect-call"), "failed"),
            (Some("pipeline-error-openai-llm-failed"), "failed"),
            (Some("call.in-progress.error-vapifault-x"), "failed"),
            (Some("call.start.error-subscription-frozen"), "failed"),
            (Some("assistant-request-returned-error"), "failed"),
            (Some("call.ringing.sip-inbound-caller-hungup"), "failed"),
            (Some("manually-canceled"), "cancelled"),
            (Some("scheduled-call-deleted"), "cancelled"),
        ];
        for (reason, want) in cases {
            assert_eq!(terminal_status(reason).as_str(), want, "{reason:?}");
        }
    }

    #[test]
    fn retry_worthy_never_voicemail() {
        assert!(is_retry_worthy(Some("customer-did-not-answer")));
        assert!(is_retry_worthy(Some("Customer-Busy")));
        assert!(is_retry_worthy(Some("silence-timed-out")));
        assert!(!is_retry_worthy(Some("voicemail")));
        assert!(!is_retry_worthy(Some("customer-ended-call")));
        assert!(!is_retry_worthy(None));
    }

    #[test]
    fn vapi_status_mapping() {
        let cases = [
            ("scheduled", Some("queued")),
            ("queued", Some("queued")),
            ("ringing", Some("ringing")),
            ("in-progress", Some("in-progress")),
            ("forwarding", Some("in-progress")),
            ("ended", Some("ended")),
            ("not-found", None),
        ];
        for (s, want) in cases {
            assert_eq!(map_vapi_status(s).map(CallStatus::as_str), want, "{s}");
        }
    }
}
