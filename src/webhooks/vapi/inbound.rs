//! Inbound calls' own reading of a report (`docs/behaviour.md#vapi-end-of-call`): caller
//! details, and applying them and the outcome (`domain::inbound_outcome`) (with the incomplete-call sanitising)
//! to the merged row. Pure, unit-tested.
//!
//! May import: `domain`, `db` (row types only), `webhooks::vapi`.

use serde_json::{json, Value};

use super::analysis::{self, Analysis};
use super::json::{at, str_at};
use crate::db::inbound_calls::CallRow;

/// Caller details of an inbound call (docs/behaviour.md#vapi-end-of-call; precedence: the
/// appointment a tool booked during the call > `callback_data` > `appointment_data`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Caller {
    pub phone: Option<String>,
    pub name: Option<String>,
    pub pet_name: Option<String>,
}

pub fn caller(tool_appointment: Option<&Value>, sd: Option<&Value>) -> Caller {
    let cb = sd.and_then(|s| at(s, &["callback_data"]));
    let ap = sd.and_then(|s| at(s, &["appointment_data"]));
    let first = |sources: [(Option<&Value>, &str); 3]| {
        sources
            .iter()
            .find_map(|(v, k)| v.and_then(|v| str_at(v, &[k])).map(str::to_string))
    };
    Caller {
        phone: first([
            (tool_appointment, "client_phone"),
            (cb, "phone_number"),
            (ap, "client_phone"),
        ]),
        name: first([
            (tool_appointment, "client_name"),
            (cb, "caller_name"),
            (ap, "client_name"),
        ]),
        pet_name: first([
            (tool_appointment, "patient_name"),
            (cb, "pet_name"),
            (ap, "patient_name"),
        ]),
    }
}

/// Inbound-only parts of a report: incomplete-call sanitising, outcome and caller details.
/// Returns the analysis as it is stored (with the sanitised structured data).
pub fn apply_report(row: &mut CallRow, mut an: Analysis) -> Analysis {
    let incomplete = analysis::is_incomplete_inbound_call(
        row.duration_seconds,
        row.transcript.as_deref(),
        row.transcript_messages.as_ref(),
        row.ended_reason.as_deref(),
    );
    let raw = an.structured_data.clone();
    let card_type = raw
        .as_ref()
        .and_then(|sd| str_at(sd, &["card_type"]))
        .map(str::to_string);
    let stored = if incomplete {
        analysis::sanitize_incomplete(raw.as_ref())
    } else {
        raw
    };
    // The appointment a booking tool wrote during the call (metadata.appointment,
    // docs/behaviour.md#vapi-tools-outcome).
    let tool_appointment = row
        .metadata
        .as_ref()
        .and_then(|m| m.get("appointment"))
        .filter(|a| a.is_object())
        .cloned();
    // Caller details come from the sanitised data: an incomplete call's action cards are not
    // trusted, so neither are the names in them.
    let caller = caller(tool_appointment.as_ref(), stored.as_ref());
    // What a tool did on the call outranks the assistant's own summary of it: the same final
    // row whether the tool call came before or after the report.
    let tool_outcome = row
        .metadata
        .as_ref()
        .and_then(|m| str_at(m, &["tool_outcome"]))
        .map(str::to_string);
    row.outcome = tool_outcome.or_else(|| {
        crate::domain::inbound_outcome::inbound_outcome(
            card_type.as_deref(),
            row.outcome.as_deref(),
            an.call_outcome.as_deref(),
            incomplete,
        )
    });
    row.extracted_caller_phone = caller.phone.or(row.extracted_caller_phone.take());
    row.extracted_caller_name = caller.name.or(row.extracted_caller_name.take());
    row.extracted_pet_name = caller.pet_name.or(row.extracted_pet_name.take());
    if let Some(Value::Object(m)) = row.metadata.as_mut() {
        m.insert(INCOMPLETE_CALL.into(), json!(incomplete));
    }
    an.structured_data = stored;
    an
}

/// Metadata key recording whether the call was judged incomplete.
pub const INCOMPLETE_CALL: &str = "incomplete_call";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn caller_precedence() {
        let tool = json!({"client_name": "Tool Name"});
        let sd = json!({"callback_data": {"caller_name": "CB", "phone_number": "+1555", "pet_name": "Rex"},
                        "appointment_data": {"client_name": "AP", "client_phone": "+1666", "patient_name": "Max"}});
        let c = caller(Some(&tool), Some(&sd));
        assert_eq!(c.name.as_deref(), Some("Tool Name"));
        assert_eq!(c.phone.as_deref(), Some("+1555"));
        assert_eq!(c.pet_name.as_deref(), Some("Rex"));
        let c = caller(
            None,
            Some(&json!({"appointment_data": {"patient_name": "Max"}})),
        );
        assert_eq!(c.pet_name.as_deref(), Some("Max"));
    }
}
