//! The voice assistant's tools, answered live during an inbound call
//! (`docs/behaviour.md#vapi-tools`). `tool-calls` → one result per tool call, in order; each
//! `result` is the JSON text of `{success, message, data, error?}` where `message` is what the
//! assistant says.
//!
//! * [`args`]: reading and validating arguments; [`context`]: the clinic, its zone and today;
//! * one module per concern: [`availability`], [`booking`], [`appointments`] (verify, cancel,
//!   reschedule), [`messages`] (messages, emergency triage), [`refills`], [`hours`].
//!
//! Tools that write run in one transaction that also stores their answer under the tool call
//! id (`db::tool_results`): a redelivered or duplicated tool call gets the same answer and
//! writes nothing twice.
//!
//! May import: `domain`, `db`, `state`, `webhooks::vapi`.

mod appointments;
mod args;
mod availability;
mod booking;
mod context;
mod hours;
mod messages;
mod refills;

use serde_json::{json, Value};
use sqlx::PgConnection;

use crate::state::AppState;

pub use context::Ctx;

/// The tools, by canonical name.
const KNOWN_TOOLS: &[&str] = &[
    "check_availability_range",
    "check_availability",
    "book_appointment",
    "verify_appointment",
    "cancel_appointment",
    "reschedule_appointment",
    "leave_message",
    "log_emergency_triage",
    "create_refill_request",
    "get_clinic_hours",
];

/// `bookAppointment`, `book-appointment`, `clinic_x_book_appointment` → `book_appointment`.
/// Only a real prefix is stripped (`x_check_availability`), never part of a longer word.
pub fn canonical_tool_name(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    for (i, c) in name.trim().chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !snake.ends_with('_') {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else if c == '-' || c == ' ' {
            snake.push('_');
        } else {
            snake.push(c);
        }
    }
    KNOWN_TOOLS
        .iter()
        .find(|known| snake.ends_with(*known) && snake != **known)
        .filter(|known| {
            let prefix = &snake[..snake.len() - known.len()];
            prefix.ends_with('_') || prefix.ends_with('.')
        })
        .map(|k| k.to_string())
        .unwrap_or(snake)
}

/// What a tool says back: `{success, message, data, error?}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub success: bool,
    pub message: String,
    pub data: Value,
    pub error: Option<&'static str>,
}

impl Reply {
    pub fn ok(message: impl Into<String>, data: Value) -> Self {
        Self {
            success: true,
            message: message.into(),
            data,
            error: None,
        }
    }

    pub fn fail(error: &'static str, message: impl Into<String>, data: Value) -> Self {
        Self {
            success: false,
            message: message.into(),
            data,
            error: Some(error),
        }
    }

    pub fn to_value(&self) -> Value {
        let mut v = json!({"success": self.success, "message": self.message, "data": self.data});
        if let Some(e) = self.error {
            v["error"] = json!(e);
        }
        v
    }
}

/// A failure of the tools' own machinery (never of the caller's input).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Enqueue(#[from] crate::db::queue::EnqueueError),
}

/// One entry of the tool call list.
#[derive(Clone, Debug)]
pub struct ToolCall {
    /// The tool call's id, or `unknown-{index}` when the message gave none (what the answer
    /// echoes).
    pub id: String,
    /// `id` came from the message. A made-up id is not a key for stored answers: see
    /// [`replay_key`].
    pub id_given: bool,
    /// The canonical tool name (what runs).
    pub name: String,
    /// The name as the assistant called it (what the answer echoes).
    pub called_as: String,
    pub args: Value,
}

/// The tool calls of a message: `toolCallList`, else the paired `toolWithToolCallList`, with
/// name and arguments read tolerantly (`function.name` or `name`; `function.arguments`,
/// `arguments` or `parameters`, as an object or a JSON string).
pub fn tool_call_list(msg: &Value) -> Vec<ToolCall> {
    let mut calls: Vec<&Value> = msg
        .get("toolCallList")
        .and_then(Value::as_array)
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    if calls.is_empty() {
        calls = msg
            .get("toolWithToolCallList")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(|t| t.get("toolCall")).collect())
            .unwrap_or_default();
    }
    calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let s = |path: &[&str]| super::json::str_at(call, path);
            let given = s(&["id"]).or_else(|| s(&["toolCallId"]));
            let id = given
                .map(str::to_string)
                .unwrap_or_else(|| format!("unknown-{i}"));
            let called_as = s(&["function", "name"])
                .or_else(|| s(&["name"]))
                .unwrap_or("unknown_tool")
                .to_string();
            let name = canonical_tool_name(&called_as);
            let raw = [
                call.pointer("/function/arguments"),
                call.get("arguments"),
                call.get("parameters"),
            ]
            .into_iter()
            .flatten()
            .find(|v| !v.is_null());
            let args = match raw {
                Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(json!({})),
                Some(v @ Value::Object(_)) => v.clone(),
                _ => json!({}),
            };
            let args = if args.is_object() { args } else { json!({}) };
            ToolCall {
                id,
                id_given: given.is_some(),
                name,
                called_as,
                args,
            }
        })
        .collect()
}

/// `{results: [...]}` for a `tool-calls` message, one entry per call in request order.
pub async fn answer(state: &AppState, msg: &Value) -> Value {
    let calls = tool_call_list(msg);
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    let ctx = Ctx::load(state, msg, &names).await;
    let mut results = Vec::new();
    for call in calls {
        let entry = match run(&ctx, &call).await {
            Some(reply) => json!({
                "toolCallId": call.id,
                "name": call.called_as,
                "result": reply.to_string(),
            }),
            None => json!({
                "toolCallId": call.id,
                "name": call.called_as,
                "error": format!("Unknown tool \"{}\". Available tools: {}.", call.called_as, KNOWN_TOOLS.join(", ")),
            }),
        };
        results.push(entry);
    }
    json!({ "results": results })
}

/// Runs one tool; `None` for a tool we do not have.
async fn run(ctx: &Ctx<'_>, call: &ToolCall) -> Option<Value> {
    if !KNOWN_TOOLS.contains(&call.name.as_str()) {
        return None;
    }
    let Some(clinic) = ctx.clinic.as_ref() else {
        return Some(no_clinic(ctx.lookup_failed, &call.name).to_value());
    };
    let a = &call.args;
    let result = match call.name.as_str() {
        "check_availability" => availability::check_availability(ctx, clinic, a).await,
        "check_availability_range" => availability::check_range(ctx, clinic, a).await,
        "book_appointment" => booking::book(ctx, clinic, call).await,
        "verify_appointment" => appointments::verify(ctx, clinic, a).await,
        "cancel_appointment" => appointments::cancel(ctx, clinic, call).await,
        "reschedule_appointment" => appointments::reschedule(ctx, clinic, call).await,
        "leave_message" => messages::leave_message(ctx, clinic, call).await,
        "log_emergency_triage" => messages::log_emergency(ctx, clinic, call).await,
        "create_refill_request" => refills::create(ctx, clinic, call).await,
        _ => Ok(hours::clinic_hours(clinic).to_value()),
    };
    Some(result.unwrap_or_else(|e| {
        tracing::error!(tool = %call.name, error = %e, "voice tool failed");
        Reply::fail("database_error", db_error_message(&call.name), json!({})).to_value()
    }))
}

/// The answer of every tool when the message has no clinic: `database_error` when looking it
/// up failed on our side (the clinic may exist), else `clinic_not_found`.
fn no_clinic(lookup_failed: bool, tool: &str) -> Reply {
    if lookup_failed {
        return Reply::fail("database_error", db_error_message(tool), json!({}));
    }
    let message = if tool.starts_with("check_availability") {
        "I'm having trouble accessing the clinic schedule. Please try again later."
    } else {
        "I couldn't identify the clinic. Please try again later."
    };
    Reply::fail("clinic_not_found", message, json!({}))
}

/// What the assistant says when our side failed (behaviour of the old tools, per tool).
fn db_error_message(tool: &str) -> &'static str {
    match tool {
        "check_availability" | "check_availability_range" => {
            "I'm having trouble seeing the calendar right now."
        }
        "book_appointment" => {
            "I'm having trouble booking your appointment right now. Please try again in a moment."
        }
        "leave_message" => "I'm having trouble saving your message. Please try again.",
        "log_emergency_triage" => "I'm having trouble logging this emergency. Please try again.",
        "create_refill_request" => {
            "I'm having trouble submitting your refill request. Please try again."
        }
        _ => "I apologize, but I'm having some trouble right now. Please call the office directly.",
    }
}

/// The key a write tool's answer is stored under (`db::tool_results`): the VAPI call and the
/// tool call id. `None` (run, and keep nothing) without a VAPI call, or when the tool call had
/// no id: a made-up `unknown-{index}` would make a later, different id-less call at the same
/// position replay this one's answer and write nothing. Keying on a hash of the name and
/// arguments instead was rejected: a caller who books, cancels and books the same slot again
/// sends the same arguments twice and must get a new booking, not the cancelled one's answer.
/// VAPI always sends ids; without one a redelivery may run the tool twice, the lesser harm.
fn replay_key<'c>(ctx: &'c Ctx<'_>, call: &'c ToolCall) -> Option<(&'c str, &'c str)> {
    let vapi_call = ctx.call_id.as_deref()?;
    call.id_given.then_some((vapi_call, call.id.as_str()))
}

/// The stored answer of this tool call if an earlier delivery already ran it (the tool call's
/// lock is then held until `conn`'s transaction ends).
async fn replayed(
    ctx: &Ctx<'_>,
    conn: &mut PgConnection,
    call: &ToolCall,
) -> Result<Option<Value>, sqlx::Error> {
    match replay_key(ctx, call) {
        Some((vapi_call, id)) => crate::db::tool_results::lock_and_get(conn, vapi_call, id).await,
        None => Ok(None),
    }
}

/// Keeps a write tool's answer for redeliveries, in the transaction of its writes.
async fn remember(
    ctx: &Ctx<'_>,
    conn: &mut PgConnection,
    call: &ToolCall,
    reply: &Value,
) -> Result<(), sqlx::Error> {
    match replay_key(ctx, call) {
        Some((vapi_call, id)) => {
            crate::db::tool_results::store(conn, vapi_call, id, &call.name, reply).await
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names() {
        let table = [
            ("book_appointment", "book_appointment"),
            ("bookAppointment", "book_appointment"),
            ("book-appointment", "book_appointment"),
            ("checkAvailabilityRange", "check_availability_range"),
            ("x_check_availability_range", "check_availability_range"),
            ("clinic.get_clinic_hours", "get_clinic_hours"),
            ("recheck_availability", "recheck_availability"),
            ("logEmergencyTriage", "log_emergency_triage"),
            ("create-refill-request", "create_refill_request"),
        ];
        for (input, want) in table {
            assert_eq!(canonical_tool_name(input), want, "{input}");
        }
    }

    #[test]
    fn call_list_shapes() {
        let msg = json!({"toolCallList": [
            {"id": "call_1", "type": "function", "function": {"name": "book_appointment", "arguments": "{\"date\":\"tomorrow\"}"}},
            {"id": "call_2", "name": "clinic_check_availability", "parameters": {"date": "today"}},
            {"function": {"name": "leave_message", "arguments": "not json"}},
            "garbage"
        ]});
        let calls = tool_call_list(&msg);
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[0].id, "call_1");
        assert_eq!(calls[0].args, json!({"date": "tomorrow"}));
        assert_eq!(calls[1].name, "check_availability");
        assert_eq!(calls[1].args, json!({"date": "today"}));
        assert_eq!(calls[2].id, "unknown-2");
        assert!(calls[0].id_given && !calls[2].id_given);
        assert_eq!(calls[2].args, json!({}));
        assert_eq!(calls[3].name, "unknown_tool");
        assert!(tool_call_list(&json!({})).is_empty());
        let paired = json!({"toolWithToolCallList": [{"type": "function", "toolCall": {"id": "t9", "function": {"name": "leave_message", "arguments": {"a": 1}}}}]});
        let calls = tool_call_list(&paired);
        assert_eq!(calls[0].id, "t9");
        assert_eq!(calls[0].args, json!({"a": 1}));
    }

    #[test]
    fn a_failed_clinic_lookup_is_a_database_error() {
        let failed = no_clinic(true, "book_appointment");
        assert_eq!(failed.error, Some("database_error"));
        assert_eq!(failed.message, db_error_message("book_appointment"));
        let unknown = no_clinic(false, "check_availability");
        assert_eq!(unknown.error, Some("clinic_not_found"));
        assert!(unknown.message.contains("clinic schedule"));
    }

    #[test]
    fn reply_shape() {
        let r = Reply::fail(
            "validation_error",
            "Say it again.",
            json!({"missing": ["date"]}),
        );
        assert_eq!(
            r.to_value(),
            json!({"success": false, "message": "Say it again.", "data": {"missing": ["date"]}, "error": "validation_error"})
        );
        assert!(Reply::ok("Fine.", json!({}))
            .to_value()
            .get("error")
            .is_none());
    }
}
