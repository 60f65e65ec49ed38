//! `clinic_messages`: messages and emergency triage logs the voice assistant takes
//! (`docs/behaviour.md#vapi-tools-messages`), and the staff-alert bookkeeping on them.

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::status::InboxItemStatus;

pub struct NewMessage<'a> {
    pub clinic_id: Uuid,
    pub inbound_call_id: Option<Uuid>,
    pub caller_name: &'a str,
    pub caller_phone: &'a str,
    pub content: &'a str,
    pub message_type: &'a str,
    pub priority: &'a str,
    pub triage_data: Option<&'a Value>,
    pub metadata: &'a Value,
}

pub async fn insert(conn: &mut PgConnection, m: &NewMessage<'_>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO clinic_messages (clinic_id, inbound_call_id, caller_name, caller_phone,
            message_content, message_type, status, priority, triage_data, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(m.clinic_id)
    .bind(m.inbound_call_id)
    .bind(m.caller_name)
    .bind(m.caller_phone)
    .bind(m.content)
    .bind(m.message_type)
    .bind(InboxItemStatus::New.as_str())
    .bind(m.priority)
    .bind(m.triage_data)
    .bind(m.metadata)
    .fetch_one(conn)
    .await
}

/// A message as the staff alert shows it.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct AlertMessage {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub clinic_name: String,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub message_content: Option<String>,
    pub message_type: Option<String>,
    pub priority: Option<String>,
    pub triage_data: Option<Value>,
    pub metadata: Option<Value>,
    /// `metadata.slack_alerted_at` once the alert went out.
    pub alerted: bool,
}

pub async fn for_alert(
    ex: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<AlertMessage>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.id, m.clinic_id, c.name AS clinic_name, m.caller_name, m.caller_phone,
                m.message_content, m.message_type, m.priority, m.triage_data, m.metadata,
                coalesce(m.metadata ? 'slack_alerted_at', false) AS alerted
         FROM clinic_messages m JOIN clinics c ON c.id = m.clinic_id WHERE m.id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await
}

/// Records that the alert reached `channel` (a retry skips it).
pub async fn mark_channel_alerted(
    ex: impl PgExecutor<'_>,
    id: Uuid,
    channel: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE clinic_messages SET metadata = jsonb_set(coalesce(metadata, '{}'::jsonb),
            '{slack_channels}',
            coalesce(metadata->'slack_channels', '[]'::jsonb) || to_jsonb($2::text)),
            updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(channel)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Records that the staff alert is done (`metadata.slack_alerted_at`).
pub async fn mark_alerted(ex: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE clinic_messages SET metadata = coalesce(metadata, '{}'::jsonb)
            || jsonb_build_object('slack_alerted_at', now()), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .execute(ex)
    .await
    .map(|_| ())
}
