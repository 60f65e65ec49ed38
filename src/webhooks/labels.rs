//! The closed sets metric labels are drawn from (`docs/behaviour.md#ingress-limits`): an event
//! type a sender invents, or a new one, is counted as `other`, so no delivery can add series to
//! `/metrics`.
//!
//! May import: `webhooks`.

use super::inbox::Source;
use super::qstash::Route;

/// VAPI's published server message types.
const VAPI_TYPES: &[&str] = &[
    "assistant-request",
    "tool-calls",
    "transfer-destination-request",
    "knowledge-base-request",
    "handoff-destination-request",
    "status-update",
    "end-of-call-report",
    "hang",
    "speech-update",
    "transcript",
    "conversation-update",
    "user-interrupted",
    "model-output",
    "transfer-update",
    "phone-call-control",
    "language-change-detected",
    "voice-input",
    "assistant.started",
    "function-call",
];

/// Clerk event types seen in practice beyond the handled ones (`clerk::HANDLED`).
const CLERK_OTHER_TYPES: &[&str] = &[
    "session.created",
    "session.ended",
    "session.removed",
    "session.revoked",
    "email.created",
    "sms.created",
];

/// The metric label of an event type: itself when known for its source, else `other`.
pub fn event_type(source: Source, event_type: Option<&str>) -> &'static str {
    let Some(t) = event_type else {
        return "other";
    };
    let known: Vec<&'static str> = match source {
        Source::Vapi => VAPI_TYPES.to_vec(),
        Source::Clerk => super::clerk::HANDLED
            .iter()
            .chain(CLERK_OTHER_TYPES)
            .copied()
            .collect(),
        Source::Qstash => [Route::ExecuteCall, Route::ExecuteEmail, Route::AutoSchedule]
            .into_iter()
            .map(Route::name)
            .collect(),
    };
    known.into_iter().find(|k| *k == t).unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_known_types_or_other() {
        let cases = [
            (
                Source::Vapi,
                Some("end-of-call-report"),
                "end-of-call-report",
            ),
            (Source::Vapi, Some("user.created"), "other"),
            (Source::Vapi, Some("made-up-type-123"), "other"),
            (Source::Vapi, None, "other"),
            (Source::Clerk, Some("user.created"), "user.created"),
            (Source::Clerk, Some("session.created"), "session.created"),
            (Source::Clerk, Some("user.created\u{0}"), "other"),
            (Source::Qstash, Some("execute-call"), "execute-call"),
            (Source::Qstash, Some("tool-calls"), "other"),
        ];
        for (source, t, want) in cases {
            assert_eq!(event_type(source, t), want, "{source} {t:?}");
        }
    }
}
