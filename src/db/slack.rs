//! `slack_workspaces` / `slack_channels`: where a clinic's staff alerts go
//! (`docs/behaviour.md#vapi-tools-alerts`).

use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct AlertChannel {
    pub bot_token: String,
    pub channel_id: String,
}

/// Every active channel of the clinic's active workspaces that has a bot token.
pub async fn alert_channels(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
) -> Result<Vec<AlertChannel>, sqlx::Error> {
    sqlx::query_as(
        "SELECT w.bot_token, ch.channel_id
         FROM slack_workspaces w JOIN slack_channels ch ON ch.workspace_id = w.id
         WHERE w.clinic_id = $1 AND coalesce(w.is_active, true) AND coalesce(ch.is_active, true)
           AND w.bot_token IS NOT NULL AND w.bot_token <> ''
         ORDER BY ch.created_at, ch.channel_id",
    )
    .bind(clinic_id)
    .fetch_all(ex)
    .await
}
