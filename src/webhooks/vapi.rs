//! VAPI server messages → inbound_calls / outbound_calls / call_analysis. (Filled by the webhook issue.)

use serde_json::Value;
use sqlx::PgConnection;

use super::inbox::{Outcome, ProcessError, StoredEvent};
use crate::http::AppState;

/// `message.type` of a VAPI envelope.
pub fn message_type(v: &Value) -> Option<&str> {
    v.get("message")?.get("type")?.as_str()
}

pub async fn process(
    _conn: &mut PgConnection,
    _state: &AppState,
    event: &StoredEvent,
) -> Result<Outcome, ProcessError> {
    let v = event.json()?;
    let t = message_type(&v).ok_or_else(|| ProcessError::invalid("message.type", "missing"))?;
    Ok(Outcome::skipped(format!("message type {t} not handled")))
}

/// The synchronous answer for messages VAPI waits on; `None` for the others.
pub async fn respond(_state: &AppState, _v: &Value) -> Option<Value> {
    None
}
