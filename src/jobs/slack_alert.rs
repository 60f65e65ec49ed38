//! `SlackAlert`: tells the clinic's staff about an emergency triage log or an urgent message
//! (`docs/behaviour.md#vapi-tools-alerts`). Enqueued in the transaction that stored the
//! message, so the alert exists exactly when the message does. Each channel is posted once:
//! a channel that got the alert is recorded on the message and skipped by a retry, and a done
//! alert (`metadata.slack_alerted_at`) is never sent again. No workspace → nothing to send.
//! What the caller heard never depends on this job. May import: `db`, `providers`, `jobs`.

use serde_json::{json, Value};

use super::{AppState, JobError, JobKind};
use crate::db::clinic_messages::{self, AlertMessage};
pub use crate::db::queue::SlackAlert;
use crate::providers::slack::SlackError;

impl JobKind for SlackAlert {
    async fn run(self, ctx: AppState) -> Result<Value, JobError> {
        let Some(msg) = clinic_messages::for_alert(&ctx.pool, self.message_id).await? else {
            return Ok(json!({"sent": 0, "reason": "message not found"}));
        };
        if msg.alerted {
            return Ok(json!({"sent": 0, "reason": "already alerted"}));
        }
        let channels = crate::db::slack::alert_channels(&ctx.pool, msg.clinic_id).await?;
        if channels.is_empty() {
            return Ok(json!({"sent": 0, "reason": "no slack workspace for the clinic"}));
        }
        let done: Vec<String> = msg
            .metadata
            .as_ref()
            .and_then(|m| m.get("slack_channels"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let text = alert_text(&msg);
        let mut sent = 0;
        let mut rejected = Vec::new();
        for ch in channels.iter().filter(|c| !done.contains(&c.channel_id)) {
            match ctx
                .slack
                .post_message(&ch.bot_token, &ch.channel_id, &text, None)
                .await
            {
                Ok(_) => {
                    clinic_messages::mark_channel_alerted(&ctx.pool, msg.id, &ch.channel_id)
                        .await?;
                    sent += 1;
                }
                Err(SlackError::Rejected(e)) => rejected.push(format!("{}: {e}", ch.channel_id)),
                Err(e) => return Err(JobError::Transient(e.to_string())),
            }
        }
        if sent == 0 && done.is_empty() && !rejected.is_empty() {
            return Err(JobError::Permanent(format!(
                "Slack refused every channel: {}",
                rejected.join("; ")
            )));
        }
        clinic_messages::mark_alerted(&ctx.pool, msg.id).await?;
        Ok(json!({"sent": sent, "rejected": rejected}))
    }
}

/// The alert's text: what happened, to which pet, and whom to call back.
pub fn alert_text(m: &AlertMessage) -> String {
    let s = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
    let triage = m.triage_data.as_ref();
    let field = |k: &str| triage.and_then(|t| t.get(k)).and_then(Value::as_str);
    let pet = m
        .metadata
        .as_ref()
        .and_then(|md| md.get("pet_name"))
        .and_then(Value::as_str)
        .unwrap_or("unknown pet");
    let headline = match field("urgency") {
        Some(u) => format!(
            ":rotating_light: Emergency triage ({u}) at {}",
            m.clinic_name
        ),
        None => format!(":warning: Urgent message at {}", m.clinic_name),
    };
    let mut lines = vec![
        headline,
        format!("Caller: {} ({})", s(&m.caller_name), s(&m.caller_phone)),
        format!("Pet: {pet}"),
    ];
    if let Some(action) = field("action_taken") {
        lines.push(format!("Action: {action}"));
    }
    lines.push(s(&m.message_content));
    lines.join("\n")
}
