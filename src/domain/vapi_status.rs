//! The one VAPI classifier: `call.status` and `endedReason` → the spec's call statuses, and
//! which outbound endings earn another attempt (`docs/behaviour.md#vapi-status`). The webhook
//! and the dispatcher both use it.
//!
//! `endedReason` is classified by one ordered table, [`ENDED_REASONS`], checked by the unit tests
//! against every value VAPI publishes (`vapi_ended_reasons.txt`, with its source and date). The
//! first matching row wins. A reason no row matches has no class: a call that ended for a reason
//! we do not know is `failed` (never silently "completed"), and the webhook logs the value.

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

/// What an ended call's `endedReason` means for us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndedClass {
    /// The conversation happened and ended (either side hung up, a hook ran, the call was
    /// forwarded, the maximum duration was reached).
    Completed,
    /// A voicemail was reached: a completed discharge call, never retried.
    Voicemail,
    /// The owner was not reached: no answer, or picked up and never spoke. Retried.
    NoAnswer,
    /// The line was busy. Retried.
    Busy,
    /// The call failed. `retry`: the failure happened before anyone was reached and is
    /// transient (carrier/SIP connect failures, VAPI's concurrency limit, a VAPI worker
    /// restart); configuration, billing, assistant and mid-conversation pipeline errors are not
    /// retried (they would fail the same way and need someone to look).
    Failed { retry: bool },
    /// Cancelled or deleted before it happened.
    Cancelled,
}

impl EndedClass {
    /// The terminal status a call with this ending gets.
    pub const fn status(self) -> CallStatus {
        match self {
            Self::Completed | Self::Voicemail => CallStatus::Ended,
            Self::NoAnswer | Self::Busy | Self::Failed { .. } => CallStatus::Failed,
            Self::Cancelled => CallStatus::Cancelled,
        }
    }

    /// Whether an outbound attempt that ended this way gets a new attempt.
    pub const fn retry(self) -> bool {
        matches!(
            self,
            Self::NoAnswer | Self::Busy | Self::Failed { retry: true }
        )
    }
}

/// How a row of [`ENDED_REASONS`] matches a (lower-cased, trimmed) reason.
#[derive(Clone, Copy, Debug)]
pub enum Match {
    Exact(&'static str),
    Prefix(&'static str),
}

impl Match {
    fn matches(self, reason: &str) -> bool {
        match self {
            Self::Exact(s) => reason == s,
            Self::Prefix(p) => reason.starts_with(p),
        }
    }
}

use EndedClass::{Busy, Cancelled, Completed, Failed, NoAnswer, Voicemail};
use Match::{Exact, Prefix};

const FAILED_RETRY: EndedClass = Failed { retry: true };
const FAILED: EndedClass = Failed { retry: false };

/// Every published `endedReason`, classified: exact values first, then the families VAPI
/// generates per provider (`pipeline-error-<provider>-…`, `call.in-progress.error-…`,
/// `call.start.error-…`). Order matters: the first matching row wins.
pub const ENDED_REASONS: &[(Match, EndedClass)] = &[
    // -- a conversation that ended normally
    (Exact("assistant-ended-call"), Completed),
    (Exact("assistant-said-end-call-phrase"), Completed),
    (Exact("assistant-ended-call-with-hangup-task"), Completed),
    (
        Exact("assistant-ended-call-after-message-spoken"),
        Completed,
    ),
    (Exact("assistant-forwarded-call"), Completed),
    (Exact("customer-ended-call"), Completed),
    (Exact("customer-ended-call-before-warm-transfer"), Completed),
    (
        Exact("customer-ended-call-after-warm-transfer-attempt"),
        Completed,
    ),
    (Exact("customer-ended-call-during-transfer"), Completed),
    (Exact("exceeded-max-duration"), Completed),
    (Exact("call.in-progress.twilio-completed-call"), Completed),
    (Exact("call.in-progress.sip-completed-call"), Completed),
    (Exact("vonage-completed"), Completed),
    // The caller was talked to; only the transfer target did not pick up.
    (Exact("call.forwarding.operator-busy"), Completed),
    (Exact("call.forwarding.no-answer"), Completed),
    (Prefix("call.ending.hook-executed-"), Completed),
    (Prefix("call.ringing.hook-executed-"), Completed),
    // -- voicemail, not reached, busy
    (Exact("voicemail"), Voicemail),
    (Exact("customer-did-not-answer"), NoAnswer),
    (Exact("silence-timed-out"), NoAnswer),
    (Exact("customer-busy"), Busy),
    // -- cancelled before it happened
    (Exact("manually-canceled"), Cancelled),
    (Exact("scheduled-call-deleted"), Cancelled),
    (Exact("call-deleted"), Cancelled),
    // -- could not connect, transient: retried
    (Exact("twilio-failed-to-connect-call"), FAILED_RETRY),
    (Exact("vonage-failed-to-connect-call"), FAILED_RETRY),
    (
        Exact("call.in-progress.error-sip-outbound-call-failed-to-connect"),
        FAILED_RETRY,
    ),
    (
        Exact("call.in-progress.error-providerfault-outbound-sip-408-request-timeout"),
        FAILED_RETRY,
    ),
    (
        Exact("call.in-progress.error-providerfault-outbound-sip-480-temporarily-unavailable"),
        FAILED_RETRY,
    ),
    (
        Exact("call.in-progress.error-providerfault-outbound-sip-503-service-unavailable"),
        FAILED_RETRY,
    ),
    (
        Exact("call.in-progress.error-providerfault-transport-never-connected"),
        FAILED_RETRY,
    ),
    (
        Exact("call.start.error-subscription-concurrency-limit-reached"),
        FAILED_RETRY,
    ),
    (
        Exact("call.start.error-vapi-number-outbound-daily-limit"),
        FAILED_RETRY,
    ),
    (Exact("phone-call-provider-closed-websocket"), FAILED_RETRY),
    (Exact("worker-shutdown"), FAILED_RETRY),
    // -- failed, not retried: the number, the carrier's refusal, the setup
    (Exact("twilio-reported-customer-misdialed"), FAILED),
    (Exact("vonage-rejected"), FAILED),
    (Exact("vonage-disconnected"), FAILED),
    (Exact("customer-did-not-give-microphone-permission"), FAILED),
    (
        Exact("phone-call-provider-bypass-enabled-but-no-call-received"),
        FAILED,
    ),
    (
        Exact("call-start-error-neither-assistant-nor-server-set"),
        FAILED,
    ),
    (Exact("assistant-not-found"), FAILED),
    (Exact("assistant-not-valid"), FAILED),
    (Exact("assistant-join-timed-out"), FAILED),
    (
        Exact("call.start.assistant-version-error-validation"),
        FAILED,
    ),
    (
        Exact("call.ringing.sip-inbound-caller-hungup-before-call-connect"),
        FAILED,
    ),
    (Prefix("call.ringing.error-"), FAILED),
    (Prefix("assistant-request-"), FAILED),
    // Billing, fraud checks, missing resources (the concurrency and daily limits are above).
    (Prefix("call.start.error-"), FAILED),
    // Provider and pipeline errors during the call, including VAPI's own faults, the warm
    // transfer errors (`…-warm-transfer-assistant-cancelled` is a failed transfer, not a
    // cancelled call) and the `…-request-canceled` provider errors.
    (Prefix("pipeline-error-"), FAILED),
    (Prefix("call.in-progress.error-"), FAILED),
];

/// The class of a reason by [`ENDED_REASONS`]; `None` for a reason no row knows.
pub fn classify(reason: &str) -> Option<EndedClass> {
    let r = reason.trim().to_ascii_lowercase();
    ENDED_REASONS
        .iter()
        .find(|(m, _)| m.matches(&r))
        .map(|(_, class)| *class)
}

/// The terminal status an ended call gets from its `endedReason`. No reason at all is a normal
/// end; an unknown reason is `failed` (the webhook logs it).
pub fn terminal_status(ended_reason: Option<&str>) -> CallStatus {
    match ended_reason {
        None => CallStatus::Ended,
        Some(r) => classify(r).map_or(CallStatus::Failed, EndedClass::status),
    }
}

/// Whether an outbound attempt that ended this way gets a new attempt (never for voicemail,
/// never for an unknown reason).
pub fn is_retry_worthy(ended_reason: Option<&str>) -> bool {
    ended_reason
        .and_then(classify)
        .is_some_and(EndedClass::retry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// VAPI's published list (see the header of the file for its source and date).
    fn published() -> Vec<&'static str> {
        include_str!("vapi_ended_reasons.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect()
    }

    #[test]
    fn every_published_reason_is_classified() {
        let list = published();
        assert_eq!(list.len(), 595);
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for reason in &list {
            let class = classify(reason).unwrap_or_else(|| panic!("unclassified: {reason}"));
            *counts.entry(format!("{class:?}")).or_default() += 1;
        }
        // A change to the table or to the list shows up here.
        let expected: BTreeMap<String, usize> = [
            ("Busy", 1),
            ("Cancelled", 3),
            ("Completed", 19),
            ("Failed { retry: false }", 558),
            ("Failed { retry: true }", 11),
            ("NoAnswer", 2),
            ("Voicemail", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn no_exact_row_is_unpublished_or_shadowed() {
        let list = published();
        for (i, (m, class)) in ENDED_REASONS.iter().enumerate() {
            if let Exact(value) = m {
                assert!(list.contains(value), "{value} is not a published reason");
                assert_eq!(
                    classify(value),
                    Some(*class),
                    "{value} is shadowed by an earlier row"
                );
                assert!(
                    !ENDED_REASONS[..i].iter().any(|(e, _)| e.matches(value)),
                    "{value} is matched by an earlier row"
                );
            }
        }
        // `dial-busy` / `dial-no-answer` are not VAPI values: they must not be in the table.
        for old in ["dial-busy", "dial-no-answer", "dial-failed"] {
            assert!(!list.contains(&old));
            assert_eq!(classify(old), None);
        }
    }

    #[test]
    fn the_published_families_land_where_they_should() {
        for reason in published() {
            let class = classify(reason);
            // Only the three real cancellations cancel: provider `…-request-canceled` errors and
            // the warm-transfer `…-assistant-cancelled` error are failures.
            if reason.contains("cancel") && class != Some(Cancelled) {
                assert_eq!(class, Some(FAILED), "{reason}");
            }
            if reason.contains("sip-outbound")
                || reason.contains("outbound-sip-4")
                || reason.contains("outbound-sip-5")
            {
                assert_eq!(
                    class.map(EndedClass::status),
                    Some(CallStatus::Failed),
                    "{reason}"
                );
            }
            if reason.starts_with("pipeline-error-") {
                assert_eq!(class, Some(FAILED), "{reason}");
            }
            if reason.ends_with("-completed-call") || reason == "vonage-completed" {
                assert_eq!(class, Some(Completed), "{reason}");
            }
        }
        let cancelled: Vec<&str> = published()
            .into_iter()
            .filter(|r| classify(r) == Some(Cancelled))
            .collect();
        assert_eq!(
            cancelled,
            [
                "scheduled-call-deleted",
                "manually-canceled",
                "call-deleted"
            ]
        );
    }

    #[test]
    fn terminal_status_by_reason() {
        let cases = [
            (None, "ended"),
            (Some("customer-ended-call"), "ended"),
            (Some("assistant-ended-call"), "ended"),
            (Some("Voicemail"), "ended"),
            (Some("exceeded-max-duration"), "ended"),
            (Some("call.ringing.hook-executed-say"), "ended"),
            (Some("customer-did-not-answer"), "failed"),
            (Some("customer-busy"), "failed"),
            (Some("silence-timed-out"), "failed"),
            (Some("twilio-failed-to-connect-call"), "failed"),
            (Some("pipeline-error-openai-llm-failed"), "failed"),
            (
                Some("pipeline-error-microsoft-voice-request-canceled"),
                "failed",
            ),
            (
                Some("call.in-progress.error-warm-transfer-assistant-cancelled"),
                "failed",
            ),
            (Some("call.in-progress.error-vapifault-x"), "failed"),
            (Some("call.start.error-subscription-frozen"), "failed"),
            (Some("assistant-request-returned-error"), "failed"),
            (
                Some("call.ringing.sip-inbound-caller-hungup-before-call-connect"),
                "failed",
            ),
            (Some("manually-canceled"), "cancelled"),
            (Some("scheduled-call-deleted"), "cancelled"),
            // unknown future values fail, never "completed"
            (Some("some-new-reason"), "failed"),
            (Some(""), "failed"),
        ];
        for (reason, want) in cases {
            assert_eq!(terminal_status(reason).as_str(), want, "{reason:?}");
        }
    }

    #[test]
    fn retry_worthy_endings() {
        let retried = [
            "customer-did-not-answer",
            "Customer-Busy",
            "silence-timed-out",
            "twilio-failed-to-connect-call",
            "call.in-progress.error-sip-outbound-call-failed-to-connect",
            "call.in-progress.error-providerfault-outbound-sip-408-request-timeout",
            "call.in-progress.error-providerfault-outbound-sip-480-temporarily-unavailable",
            "call.in-progress.error-providerfault-outbound-sip-503-service-unavailable",
            "call.start.error-subscription-concurrency-limit-reached",
        ];
        for r in retried {
            assert!(is_retry_worthy(Some(r)), "{r}");
        }
        let not_retried = [
            "voicemail",
            "customer-ended-call",
            "call.in-progress.error-providerfault-outbound-sip-403-forbidden",
            "pipeline-error-openai-401-incorrect-api-key",
            "twilio-reported-customer-misdialed",
            "manually-canceled",
            "dial-busy",
            "some-new-reason",
        ];
        for r in not_retried {
            assert!(!is_retry_worthy(Some(r)), "{r}");
        }
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
