//! `leave_message` and `log_emergency_triage` → `clinic_messages`
//! (`docs/behaviour.md#vapi-tools-messages`). Emergencies and urgent messages also get a
//! durable staff alert (`SlackAlert`, enqueued in the same transaction); what the caller hears
//! never depends on it.

use serde_json::{json, Value};

use super::{args, remember, replayed, Ctx, Reply, ToolCall, ToolError};
use crate::db;
use crate::db::clinic_messages::NewMessage;
use crate::db::queue::{enqueue_in_tx, SlackAlert};
use crate::db::tool_clinic::ToolClinic;
use crate::domain::status::MessagePriority;
use crate::domain::tool_refs::{TRIAGE_ACTIONS, URGENCIES};

/// A message's row and alert, in one transaction with its stored answer.
async fn store(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    call: &ToolCall,
    mut m: NewMessage<'_>,
    alert: bool,
    reply: impl FnOnce(uuid::Uuid) -> Reply,
) -> Result<Value, ToolError> {
    let mut tx = ctx.pool.begin().await?;
    if let Some(prev) = replayed(ctx, &mut tx, call).await? {
        return Ok(prev);
    }
    let row = ctx.call_row(&mut tx, clinic.id, false).await?;
    m.inbound_call_id = row.filter(|(_, c)| *c == clinic.id).map(|(id, _)| id);
    let id = db::clinic_messages::insert(&mut tx, &m).await?;
    if alert {
        enqueue_in_tx(&mut tx, &SlackAlert { message_id: id }, None).await?;
    }
    let value = reply(id).to_value();
    remember(ctx, &mut tx, call, &value).await?;
    tx.commit().await?;
    Ok(value)
}

pub async fn leave_message(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    call: &ToolCall,
) -> Result<Value, ToolError> {
    let a = &call.args;
    let [name, phone, message] = match args::required(
        a,
        ["client_name", "client_phone", "message"],
        "I need some information to take your message. Please provide your name, phone number, and your message.",
    ) {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let urgent = args::flag(a, "is_urgent").unwrap_or(false);
    let (pet, callback, notes) = (
        args::text(a, "pet_name"),
        args::text(a, "best_callback_time"),
        args::text(a, "notes"),
    );
    let mut content = message.clone();
    for (label, v) in [
        ("Pet", &pet),
        ("Best callback time", &callback),
        ("Notes", &notes),
    ] {
        if let Some(v) = v {
            content.push_str(&format!("\n{label}: {v}"));
        }
    }
    let metadata = json!({
        "source": "vapi_tool", "tool_call_id": call.id, "vapi_call_id": ctx.call_id,
        "is_urgent": urgent, "pet_name": pet, "best_callback_time": callback, "notes": notes,
    });
    let priority = if urgent {
        MessagePriority::Urgent
    } else {
        MessagePriority::Normal
    };
    let m = NewMessage {
        clinic_id: clinic.id,
        inbound_call_id: None,
        caller_name: &name,
        caller_phone: &phone,
        content: &content,
        message_type: "general",
        priority: priority.as_str(),
        triage_data: None,
        metadata: &metadata,
    };
    let mut spoken = format!(
        "Your message has been recorded and {} will call you back as soon as possible.",
        clinic.name
    );
    if urgent {
        spoken.push_str(" This has been marked as urgent and will be prioritized.");
    }
    if let Some(c) = &callback {
        spoken.push_str(&format!(" They'll try to reach you {c}."));
    }
    store(ctx, clinic, call, m, urgent, |id| {
        Reply::ok(spoken, json!({"message_id": id, "is_urgent": urgent}))
    })
    .await
}

const TRIAGE_PROMPT: &str = "I need some information to log this emergency. Please provide the caller's name, phone number, pet name, symptoms, and urgency level.";

pub async fn log_emergency(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    call: &ToolCall,
) -> Result<Value, ToolError> {
    let a = &call.args;
    let [name, phone, pet, symptoms, urgency, action] = match args::required(
        a,
        [
            "caller_name",
            "caller_phone",
            "pet_name",
            "symptoms",
            "urgency",
            "action_taken",
        ],
        TRIAGE_PROMPT,
    ) {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let (urgency, action) = (urgency.to_ascii_lowercase(), action.to_ascii_lowercase());
    let mut invalid = Vec::new();
    if !URGENCIES.contains(&urgency.as_str()) {
        invalid.push("urgency");
    }
    if !TRIAGE_ACTIONS.contains(&action.as_str()) {
        invalid.push("action_taken");
    }
    if !invalid.is_empty() {
        let data =
            json!({"invalid": invalid, "urgency": URGENCIES, "action_taken": TRIAGE_ACTIONS});
        return Ok(Reply::fail("validation_error", TRIAGE_PROMPT, data).to_value());
    }
    let species = args::text(a, "species")
        .map(|s| s.to_ascii_lowercase())
        .filter(|s| s == "dog" || s == "cat")
        .unwrap_or_else(|| "other".into());
    let er_referred = args::flag(a, "er_referred").unwrap_or(action == "sent_to_er");
    let notes = args::text(a, "notes");
    let content = format!(
        "Emergency triage: {symptoms}. Action: {action}. {}",
        notes.clone().unwrap_or_default()
    );
    let triage = json!({"urgency": urgency, "symptoms": symptoms, "action_taken": action,
                        "er_referred": er_referred, "species": species});
    let metadata = json!({"source": "vapi_tool", "tool_call_id": call.id, "vapi_call_id": ctx.call_id,
                          "pet_name": pet, "notes": notes});
    let priority = if urgency == "critical" {
        MessagePriority::Urgent
    } else {
        MessagePriority::Normal
    };
    let m = NewMessage {
        clinic_id: clinic.id,
        inbound_call_id: None,
        caller_name: &name,
        caller_phone: &phone,
        content: content.trim(),
        message_type: "emergency_triage",
        priority: priority.as_str(),
        triage_data: Some(&triage),
        metadata: &metadata,
    };
    let spoken = match action.as_str() {
        "sent_to_er" => format!("I've logged this emergency for {pet}. The staff will be notified that you're heading to the emergency clinic. Please drive safely."),
        "scheduled_appointment" => format!("I've logged this for {pet}. The staff will follow up about scheduling an urgent appointment."),
        _ => format!("I've logged the information about {pet}. The staff will review this and may follow up if needed."),
    };
    store(ctx, clinic, call, m, true, |id| {
        Reply::ok(spoken, json!({"reference_id": id, "urgency": urgency, "action_taken": action, "er_referred": er_referred}))
    })
    .await
}
