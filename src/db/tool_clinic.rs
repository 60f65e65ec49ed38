//! The clinic a voice tool works for (`docs/behaviour.md#vapi-tools`): name, zone, PIMS,
//! business hours, and the availability clinic of the calling assistant's mapping.

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct ToolClinic {
    pub id: Uuid,
    pub name: String,
    pub timezone: Option<String>,
    pub pims_type: Option<String>,
    pub business_hours: Option<Value>,
    /// The mapping's `pims_clinic_id`: whose calendar the assistant books into.
    pub pims_clinic_id: Option<Uuid>,
}

pub async fn load(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
    assistant_id: Option<&str>,
) -> Result<Option<ToolClinic>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.timezone, c.pims_type, c.business_hours,
                (SELECT m.pims_clinic_id FROM vapi_assistant_mappings m
                 WHERE m.assistant_id = $2 AND m.is_active AND m.clinic_id = c.id) AS pims_clinic_id
         FROM clinics c WHERE c.id = $1",
    )
    .bind(clinic_id)
    .bind(assistant_id)
    .fetch_optional(ex)
    .await
}
