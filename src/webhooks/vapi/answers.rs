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
use crate::db::vapi_assistants::CallKeys;

/// The phone number an `assistant-request` is about: `message.phoneNumber.id`, else the call's.
fn phone_number_id(msg: &Value) -> Option<&str> {
    str_at(msg, &["phoneNumber", "id"])
        .or_else(|| str_at(msg, &["call", "phoneNumberId"]))
        .or_else(|| str_at(msg, &["call", "phoneNumber", "id"]))
}

/// Spoken to a caller whose number has no active inbound mapping.
pub const NO_ASSISTANT_FOR_NUMBER: &str =
    "Sorry, this number is not set up to take calls yet. Please call the clinic directly.";

/// `assistant-request`: the assistant (or squad) of the active inbound mapping of the phone
/// number the call came in on; else VAPI's error shape, whose text VAPI speaks to the caller
/// (`docs/behaviour.md#vapi-answers`).
pub async fn assistant_request(pool: &PgPool, msg: &Value) -> Value {
    let unavailable = json!({ "error": NO_ASSISTANT_FOR_NUMBER });
    let Some(number) = phone_number_id(msg) else {
        return unavailable;
    };
    match db::vapi_assistants::inbound_route_for_phone_number(pool, number).await {
        Ok(Some(route)) => match route.squad_id {
            Some(squad) => json!({ "squadId": squad }),
            None => json!({ "assistantId": route.assistant_id }),
        },
        Ok(None) => unavailable,
        Err(e) => {
            tracing::warn!(error = %e, phone_number_id = number, "assistant-request lookup failed");
            unavailable
        }
    }
}

/// `knowledge-base-request`: no custom knowledge base is served, so no documents (VAPI then lets
/// the model answer from its own prompt).
pub fn knowledge_base() -> Value {
    json!({ "documents": [] })
}

/// `handoff-destination-request`: handoffs inside a squad are configured on the squad, never
/// decided here; the `error` field is VAPI's way to decline one.
pub fn handoff_destination() -> Value {
    json!({ "error": "No handoff destination is available for this call." })
}

/// What a message says about who serves its call: assistant, phone number, squad.
pub(super) fn call_keys(msg: &Value) -> CallKeys<'_> {
    let call = msg.get("call").unwrap_or(&Value::Null);
    CallKeys {
        assistant_id: str_at(call, &["assistantId"]).or_else(|| str_at(msg, &["assistant", "id"])),
        phone_number_id: phone_number_id(msg),
        squad_id: str_at(call, &["squadId"]),
    }
}

/// The clinic of the call: by assistant, phone number or squad mapping, else the call row we
/// already have.
pub(super) async fn clinic_of_call(
    pool: &PgPool,
    msg: &Value,
) -> Result<Option<Uuid>, sqlx::Error> {
    let call = msg.get("call").unwrap_or(&Value::Null);
    let keys = call_keys(msg);
    if let Some(clinic) = db::vapi_assistants::active_clinic_of_call(pool, &keys).await? {
        return Ok(Some(clinic));
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
