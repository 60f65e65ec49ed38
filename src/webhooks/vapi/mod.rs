//! VAPI server messages → `inbound_calls` / `outbound_calls` / `call_analysis`, and the
//! synchronous answers VAPI waits on (`tool-calls`, `assistant-request`,
//! `transfer-destination-request`, `knowledge-base-request`, `handoff-destination-request`);
//! `transfer-update` is recorded on its call row.
//!
//! Pure reading of the payload (unit-tested):
//! * [`json`]: tolerant field access; [`facts`]: what a call event says about the call row;
//! * [`analysis`]: structured-output buckets, attention, incomplete-call detector;
//! * [`inbound`]: caller details and outcome of an inbound call;
//! * [`merge`]: the order-independent merge of an event into its row.
//!
//! Inside the inbox's transaction: [`calls`] (find/lock, merge, write the rows) and [`retry`]
//! (the next attempt of an unanswered outbound call). [`answers`]: the synchronous responses;
//! [`tools`]: the voice assistant's tools, answered live.
//!
//! May import: `domain`, `db`, `state`, `webhooks::inbox`.

mod analysis;
mod answers;
mod calls;
mod facts;
mod inbound;
mod json;
mod merge;
mod retry;
mod tools;

use serde_json::Value;
use sqlx::PgConnection;

use super::inbox::{Outcome, ProcessError, StoredEvent};
use crate::state::AppState;

/// `message.type` of a VAPI envelope. A type containing U+0000 is treated as absent: the
/// inbox stores it in a text column, which cannot hold that character (the delivery would be
/// refused with a 503 forever instead of being kept as `invalid`).
/// The VAPI call a message is about (`message.call.id`), kept on the inbox row so operators
/// find a call's deliveries by an index (`docs/behaviour.md#ops-console`).
pub fn call_id(v: &Value) -> Option<&str> {
    v.pointer("/message/call/id")?
        .as_str()
        .filter(|t| !t.contains('\0'))
}

pub fn message_type(v: &Value) -> Option<&str> {
    v.get("message")?
        .get("type")?
        .as_str()
        .filter(|t| !t.contains('\0'))
}

/// Which kind of call event a message is; decides how much of it is trusted (see
/// [`merge::EventKind`]).
fn call_event_kind(t: &str) -> Option<merge::EventKind> {
    match t {
        "status-update" => Some(merge::EventKind::StatusUpdate),
        "end-of-call-report" => Some(merge::EventKind::Report),
        "hang" => Some(merge::EventKind::Hang),
        _ => None,
    }
}

/// Writes what a stored VAPI message says into the call rows (`docs/behaviour.md#vapi-calls`).
pub async fn process(
    conn: &mut PgConnection,
    event: &StoredEvent,
) -> Result<Outcome, ProcessError> {
    // `event.json()` has already made every string storable (no U+0000).
    let v = event.json()?;
    let msg = v
        .get("message")
        .filter(|m| m.is_object())
        .ok_or_else(|| ProcessError::invalid("message", "missing or not an object"))?;
    let t = msg
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ProcessError::invalid("message.type", "missing or not a string"))?;

    if let Some(kind) = call_event_kind(t) {
        let call = msg
            .get("call")
            .filter(|c| c.is_object())
            .ok_or_else(|| ProcessError::invalid("message.call", "missing or not an object"))?;
        let call_id = json::str_at(call, &["id"])
            .ok_or_else(|| ProcessError::invalid("message.call.id", "missing or not a string"))?;
        return calls::apply(conn, msg, call, call_id, kind).await;
    }
    if t == "transfer-update" {
        let call = msg
            .get("call")
            .filter(|c| c.is_object())
            .ok_or_else(|| ProcessError::invalid("message.call", "missing or not an object"))?;
        let call_id = json::str_at(call, &["id"])
            .ok_or_else(|| ProcessError::invalid("message.call.id", "missing or not a string"))?;
        return calls::record_transfer(conn, msg, call, call_id).await;
    }
    Ok(answered_synchronously(t)
        .unwrap_or_else(|| Outcome::skipped(format!("message type {t} not handled"))))
}

/// The outcome of a message answered synchronously by [`respond`] (the tools write their own
/// rows there): processing it records only this.
fn answered_synchronously(t: &str) -> Option<Outcome> {
    matches!(
        t,
        "tool-calls"
            | "assistant-request"
            | "transfer-destination-request"
            | "knowledge-base-request"
            | "handoff-destination-request"
    )
    .then(|| Outcome::skipped(format!("{t}: answered synchronously")))
}

/// What [`process`] would record for this payload when that is known without processing
/// (`None`: it must be processed): the inbox stores such a delivery with its outcome in one
/// commit (`webhooks::inbox::ingest_settled`).
pub fn settled_outcome(v: &Value) -> Option<Outcome> {
    // The same checks as `process`: `message` an object, `type` a non-empty string.
    let t = message_type(v).filter(|t| !t.is_empty())?;
    answered_synchronously(t)
}

/// The synchronous answer for messages VAPI waits on; `None` for the others.
pub async fn respond(state: &AppState, v: &Value) -> Option<Value> {
    let msg = v.get("message")?;
    match message_type(v)? {
        "tool-calls" => Some(tools::answer(state, msg).await),
        "assistant-request" => Some(answers::assistant_request(&state.pool, msg).await),
        "knowledge-base-request" => Some(answers::knowledge_base()),
        "handoff-destination-request" => Some(answers::handoff_destination()),
        "transfer-destination-request" => {
            Some(answers::transfer_destination(&state.pool, msg).await)
        }
        _ => None,
    }
}
