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
    sqlx::query_scalar(
        "SELECT clinic_id FROM vapi_assistant_mappings WHERE assistant_id = $1 AND is_active",
    )
    .bind(assistant_id)
    .fetch_optional(exec)
    .await
}
