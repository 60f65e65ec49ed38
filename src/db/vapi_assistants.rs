//! `vapi_assistant_mappings`: which VAPI assistant serves which clinic, and how.

use sqlx::PgExecutor;
use uuid::Uuid;

// --- dispatch (jobs/dispatch) ---

/// The clinic's active outbound assistant, production first, newest first.
pub async fn outbound_assistant(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT assistant_id FROM vapi_assistant_mappings \
         WHERE clinic_id = $1 AND coalesce(is_active, true) AND assistant_type = 'outbound' \
         ORDER BY (environment = 'production') DESC NULLS LAST, created_at DESC LIMIT 1",
    )
    .bind(clinic_id)
    .fetch_optional(ex)
    .await
}

// --- webhooks (webhooks/vapi) ---

/// The clinic an assistant serves, through its active mapping.
pub async fn active_clinic_of(
    exec: impl PgExecutor<'_>,
    assistant_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    active_clinic_of_call(
        exec,
        &CallKeys {
            assistant_id: Some(assistant_id),
            ..CallKeys::default()
        },
    )
    .await
}

/// What a VAPI call says about who serves it; any of them may be absent (squad calls and
/// transient assistants carry no assistant id).
#[derive(Clone, Copy, Debug, Default)]
pub struct CallKeys<'a> {
    pub assistant_id: Option<&'a str>,
    pub phone_number_id: Option<&'a str>,
    pub squad_id: Option<&'a str>,
}

/// The clinic of a call through an active mapping, by assistant id, else by the VAPI phone
/// number the call used, else by its squad (`docs/behaviour.md#vapi-clinic`).
pub async fn active_clinic_of_call(
    exec: impl PgExecutor<'_>,
    keys: &CallKeys<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT clinic_id FROM vapi_assistant_mappings \
         WHERE is_active AND (assistant_id = $1 OR phone_number_id = $2 OR squad_id = $3) \
         ORDER BY CASE WHEN assistant_id = $1 THEN 0 WHEN phone_number_id = $2 THEN 1 ELSE 2 END \
         LIMIT 1",
    )
    .bind(keys.assistant_id)
    .bind(keys.phone_number_id)
    .bind(keys.squad_id)
    .fetch_optional(exec)
    .await
}

/// What answers an `assistant-request` for a phone number: its active inbound mapping's
/// assistant, or the squad when the mapping names one.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct InboundRoute {
    pub assistant_id: String,
    pub squad_id: Option<String>,
}

/// The active inbound mapping of a VAPI phone number (`docs/behaviour.md#vapi-answers`).
pub async fn inbound_route_for_phone_number(
    exec: impl PgExecutor<'_>,
    phone_number_id: &str,
) -> Result<Option<InboundRoute>, sqlx::Error> {
    sqlx::query_as(
        "SELECT assistant_id, squad_id FROM vapi_assistant_mappings \
         WHERE phone_number_id = $1 AND is_active \
           AND coalesce(assistant_type, 'inbound') = 'inbound'",
    )
    .bind(phone_number_id)
    .fetch_optional(exec)
    .await
}
