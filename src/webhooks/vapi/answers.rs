//! Answers to the messages VAPI waits on (`tool-calls` are answered by `tools`). They must be fast and must always be a 200 with a
//! body VAPI understands: a lookup failure becomes an `error` VAPI can speak or report, never
//! an HTTP error (which VAPI would treat as a dead server) (`docs/behaviour.md#vapi-answers`).
//!
//! May import: `domain`, `db`, `webhooks::vapi::json`.

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::json::str_at;
use crate::db;

/// Schema V2 has no phone-number → assistant column (the old `clinics.inbound_phone_number_id`
/// is gone) and no default inbound assistant is configured, so VAPI gets a spoken error.
pub fn assistant_request(_msg: &Value) -> Value {
    json!({"error": "Sorry, this number is not set up to take calls yet. Please call the clinic directly."})
}

/// The clinic of the call: the assistant's active mapping, else the call row we already have.
pub(super) async fn clinic_of_call(
    pool: &PgPool,
    msg: &Value,
) -> Result<Option<Uuid>, sqlx::Error> {
    let call = msg.get("call").unwrap_or(&Value::Null);
    let assistant = str_at(call, &["assistantId"]).or_else(|| str_at(msg, &["assistant", "id"]));
    if let Some(a) = assistant {
        let clinic = db::vapi_assistants::active_clinic_of(pool, a).await?;
        if clinic.is_some() {
            return Ok(clinic);
        }
    }
    let Some(call_id) = str_at(call, &["id"]) else {
        return Ok(None);
    };
    db::inbound_calls::clinic_of_vapi_call(pool, call_id).await
}

/// E.164 as VAPI requires (rules: [`crate::domain::phone::normalize_e164`]).
pub fn e164(raw: &str) -> Option<String> {
    crate::domain::phone::normalize_e164(raw).ok()
}

/// The clinic's staffed line: `clinic_settings.emergency_phone` first (the clinic's main number
/// may itself forward to the voice assistant, which would loop the caller back to us), else
/// `clinics.phone`.
pub async fn transfer_destination(pool: &PgPool, msg: &Value) -> Value {
    let unavailable = json!({"error": "Sorry, I can't transfer your call right now. Please call the clinic directly."});
    let clinic = match clinic_of_call(pool, msg).await {
        Ok(Some(c)) => c,
        Ok(None) => return unavailable,
        Err(e) => {
            tracing::warn!(error = %e, "transfer-destination lookup failed");
            return unavailable;
        }
    };
    let Ok(Some(phones)) = db::clinics::transfer_phones(pool, clinic).await else {
        return unavailable;
    };
    let name = phones.name;
    let Some(number) = [phones.emergency_phone, phones.phone]
        .into_iter()
        .flatten()
        .find_map(|p| e164(&p))
    else {
        return unavailable;
    };
    json!({
        "destination": {
            "type": "number",
            "number": number,
            "message": format!("Transferring you to {name}. Please hold."),
        },
        "message": {"type": "request-start", "message": "I'm transferring you now. One moment please."}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        assert_eq!(e164("(415) 555-0100").as_deref(), Some("+14155550100"));
        assert_eq!(e164("+1 415 555 0100").as_deref(), Some("+14155550100"));
        assert_eq!(e164("14155550100").as_deref(), Some("+14155550100"));
        assert_eq!(e164("call us"), None);
    }
}
