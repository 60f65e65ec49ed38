//! The `outcome` of an inbound call from its report (`docs/behaviour.md#vapi-end-of-call`):
//! the assistant's action card (`card_type`, VAPI's vocabulary) mapped onto the spec's outcome
//! vocabulary, by priority. Pure.
//!
//! May import: external crates only.

/// Inbound `outcome` (docs/behaviour.md#vapi-end-of-call priorities, in the spec's vocabulary).
pub fn inbound_outcome(
    card_type: Option<&str>,
    existing: Option<&str>,
    call_outcome: Option<&str>,
    incomplete: bool,
) -> Option<String> {
    let card = card_type.map(|c| c.trim().to_ascii_lowercase());
    match card.as_deref() {
        Some("rescheduled") => return Some("appointment_rescheduled".into()),
        Some("cancellation" | "canceled" | "cancelled") => {
            return Some("appointment_cancelled".into())
        }
        _ => {}
    }
    if let Some(e) = existing {
        return Some(e.to_string());
    }
    if incomplete {
        return None;
    }
    if let Some(o) = call_outcome {
        return Some(o.to_string());
    }
    Some(
        match card.as_deref()? {
            "scheduled" => "appointment_booked",
            "emergency" => "emergency",
            "callback" => "message_taken",
            "info" => "info_provided",
            _ => return None,
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_priorities() {
        assert_eq!(
            inbound_outcome(Some("rescheduled"), Some("x"), None, true).as_deref(),
            Some("appointment_rescheduled")
        );
        assert_eq!(
            inbound_outcome(Some("callback"), Some("Scheduled"), None, false).as_deref(),
            Some("Scheduled")
        );
        assert_eq!(
            inbound_outcome(Some("callback"), None, Some("resolved"), false).as_deref(),
            Some("resolved")
        );
        assert_eq!(
            inbound_outcome(Some("callback"), None, None, false).as_deref(),
            Some("message_taken")
        );
        assert_eq!(inbound_outcome(Some("scheduled"), None, None, true), None);
    }
}
