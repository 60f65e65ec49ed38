//! VAPI server messages → `inbound_calls` / `outbound_calls` / `call_analysis`, and the
//! synchronous answers VAPI waits on (`tool-calls`, `assistant-request`,
//! `transfer-destination-request`).
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
    let mut v = event.json()?;
    strip_nul(&mut v);
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
    Ok(match t {
        // Answered synchronously by `respond` (the tools write their own rows there).
        "tool-calls" | "assistant-request" | "transfer-destination-request" => {
            Outcome::skipped(format!("{t}: answered synchronously"))
        }
        _ => Outcome::skipped(format!("message type {t} not handled")),
    })
}

/// PostgreSQL text and jsonb cannot hold U+0000; a payload carrying one would fail every retry
/// forever. The raw body stays untouched in the inbox; only what we copy into rows is cleaned.
fn strip_nul(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(map);
                for (k, mut val) in old {
                    strip_nul(&mut val);
                    map.insert(k.replace('\0', ""), val);
                }
            } else {
                map.values_mut().for_each(strip_nul);
            }
        }
        _ => {}
    }
}

/// The synchronous answer for messages VAPI waits on; `None` for the others.
pub async fn respond(state: &AppState, v: &Value) -> Option<Value> {
    let msg = v.get("message")?;
    match message_type(v)? {
        "tool-calls" => {
            let ctx = tools::Ctx::load(state, msg).await;
            Some(tools::answer(&ctx, msg).await)
        }
        "assistant-request" => Some(answers::assistant_request(msg)),
        "transfer-destination-request" => {
            Some(answers::transfer_destination(&state.pool, msg).await)
        }
        _ => None,
    }
}
