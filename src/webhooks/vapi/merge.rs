//! The merge of one VAPI call event into its call row (`docs/behaviour.md#vapi-calls`). Pure.
//!
//! Rules, chosen so any delivery order gives the same final row:
//! * nothing a previous event set is ever nulled out;
//! * the end-of-call report is authoritative for the fields it carries (its values win), other
//!   events only fill gaps;
//! * status only moves forward (queued < ringing < in-progress < terminal); once terminal, only
//!   the report may re-classify it (from the merged `ended_reason`, `docs/behaviour.md#vapi-status`).
//!
//! May import: `domain`, `db` (row types only), `webhooks::vapi`.

use chrono::DateTime;
use serde_json::{json, Value};

use super::facts::CallFacts;
use crate::db::inbound_calls::CallRow;
use crate::domain::status::CallStatus;
use crate::domain::vapi_status::terminal_status;

/// Metadata key holding the time of the last `hang` notice.
pub const LAST_HANG_AT: &str = "last_hang_at";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    StatusUpdate,
    Report,
    /// VAPI's "assistant did not respond for a while" notice: not a hang-up. It may carry the
    /// call's end when sent late, but it never ends the call by itself.
    Hang,
}

/// `authoritative` picks the new value over the old one; otherwise the old one is kept.
fn pick<T>(old: Option<T>, new: Option<T>, authoritative: bool) -> Option<T> {
    if authoritative {
        new.or(old)
    } else {
        old.or(new)
    }
}

/// The pure merge of one event into a row (see the module doc for the rules).
pub fn merge(row: &CallRow, f: &CallFacts, kind: EventKind) -> CallRow {
    let auth = kind == EventKind::Report;
    let c = row.clone();
    let ended_reason = pick(c.ended_reason, f.ended_reason.clone(), auth);
    let old_status = c
        .status
        .unwrap_or_else(|| CallStatus::Queued.as_str().into());
    let old_rank = CallStatus::rank_of(&old_status);
    let old_terminal = CallStatus::parse(&old_status).is_some_and(CallStatus::is_terminal);
    // A report always describes an ended call, whatever `status` it carries.
    let new_status: Option<CallStatus> = if auth {
        Some(terminal_status(ended_reason.as_deref()))
    } else {
        f.status.map(|s| {
            if s.is_terminal() {
                terminal_status(ended_reason.as_deref())
            } else {
                s
            }
        })
    };
    let status = match new_status {
        Some(new) if old_terminal && auth && new.is_terminal() => new.as_str().to_string(),
        Some(new) if new.rank() > old_rank => new.as_str().to_string(),
        _ => old_status,
    };
    let mut metadata = match c.metadata {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    if kind == EventKind::Hang {
        // The last hang notice, by the event's own time so a redelivery writes the same value.
        if let Some(t) = f.event_time {
            let newer = metadata
                .get(LAST_HANG_AT)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .is_none_or(|prev| prev < t);
            if newer {
                metadata.insert(LAST_HANG_AT.into(), json!(t.to_rfc3339()));
            }
        }
    }
    CallRow {
        id: c.id,
        clinic_id: c.clinic_id,
        case_id: c.case_id,
        vapi_call_id: c.vapi_call_id.or_else(|| Some(f.vapi_call_id.clone())),
        assistant_id: pick(c.assistant_id, f.assistant_id.clone(), auth),
        phone_number_id: pick(c.phone_number_id, f.phone_number_id.clone(), auth),
        customer_phone: pick(c.customer_phone, f.customer_phone.clone(), auth),
        status: Some(status),
        started_at: pick(c.started_at, f.started_at, auth),
        ended_at: pick(c.ended_at, f.ended_at, auth),
        ended_reason,
        duration_seconds: pick(c.duration_seconds, f.duration_seconds, auth),
        cost: pick(c.cost, f.cost, auth),
        recording_url: pick(c.recording_url, f.recording_url.clone(), auth),
        stereo_recording_url: pick(c.stereo_recording_url, f.stereo_recording_url.clone(), auth),
        transcript: pick(c.transcript, f.transcript.clone(), auth),
        transcript_messages: pick(c.transcript_messages, f.transcript_messages.clone(), auth),
        metadata: Some(Value::Object(metadata)),
        outcome: c.outcome,
        extracted_caller_phone: c.extracted_caller_phone,
        extracted_caller_name: c.extracted_caller_name,
        extracted_pet_name: c.extracted_pet_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: Option<&'static str>, reason: Option<&str>) -> CallFacts {
        CallFacts {
            vapi_call_id: "c1".into(),
            status: status.and_then(CallStatus::parse),
            ended_reason: reason.map(str::to_string),
            ..CallFacts::default()
        }
    }

    #[test]
    fn status_never_moves_back_and_report_reclassifies() {
        let row = CallRow {
            status: Some("ended".into()),
            ..CallRow::default()
        };
        let m = merge(
            &row,
            &facts(Some("in-progress"), None),
            EventKind::StatusUpdate,
        );
        assert_eq!(m.status.as_deref(), Some("ended"));
        let m = merge(
            &row,
            &facts(Some("ended"), Some("customer-did-not-answer")),
            EventKind::Report,
        );
        assert_eq!(m.status.as_deref(), Some("failed"));
        // A later status-update with another reason cannot re-classify a terminal row.
        let m2 = merge(
            &m,
            &facts(Some("ended"), Some("customer-ended-call")),
            EventKind::StatusUpdate,
        );
        assert_eq!(m2.status.as_deref(), Some("failed"));
        assert_eq!(m2.ended_reason.as_deref(), Some("customer-did-not-answer"));
    }

    #[test]
    fn order_independent_merge() {
        let start = CallRow::default();
        let su = CallFacts {
            started_at: DateTime::from_timestamp(1_700_000_000, 0),
            customer_phone: Some("+1".into()),
            ..facts(Some("in-progress"), None)
        };
        let report = CallFacts {
            started_at: DateTime::from_timestamp(1_700_000_001, 0),
            ended_at: DateTime::from_timestamp(1_700_000_100, 0),
            transcript: Some("AI: hi".into()),
            ..facts(Some("ended"), Some("customer-ended-call"))
        };
        let a = merge(
            &merge(&start, &su, EventKind::StatusUpdate),
            &report,
            EventKind::Report,
        );
        let b = merge(
            &merge(&start, &report, EventKind::Report),
            &su,
            EventKind::StatusUpdate,
        );
        assert_eq!(a, b);
        assert_eq!(a.status.as_deref(), Some("ended"));
        assert_eq!(a.customer_phone.as_deref(), Some("+1"));
    }
}
