//! The clinic a voice tool works for (`docs/behaviour.md#vapi-tools`): name, zone, PIMS,
//! business hours, and the availability clinic of the calling assistant's mapping.

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::schedule::{rules_from_row, RulesRow};
use super::vapi_assistants::CallKeys;
use crate::domain::slots::{BlockedPeriod, ScheduleRules};

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

#[derive(sqlx::FromRow)]
struct ContextRow {
    #[sqlx(flatten)]
    clinic: ToolClinic,
    /// The availability clinic exists (else its rules are the defaults in UTC).
    avail_found: bool,
    #[sqlx(flatten)]
    rules: RulesRow,
}

/// The clinic of a `tool-calls` message and the schedule rules of the calendar its assistant
/// reads, in one statement instead of three: the clinic of the call's active mapping (by
/// assistant, phone number, then squad, `docs/behaviour.md#vapi-clinic`), else of the call row
/// we already have; its details and the mapping's `pims_clinic_id`; and the rules and active
/// blocked periods of `pims_clinic_id`, else of the clinic (`docs/behaviour.md#vapi-tools-slots`).
/// `None` when no clinic is found. The rules are `None` when the availability clinic does not
/// exist.
pub async fn load_for_call(
    ex: impl PgExecutor<'_>,
    keys: &CallKeys<'_>,
    vapi_call_id: Option<&str>,
) -> Result<Option<(ToolClinic, Option<(ScheduleRules, Vec<BlockedPeriod>)>)>, sqlx::Error> {
    let row: Option<ContextRow> = sqlx::query_as(
        "WITH picked AS (
           SELECT coalesce(
             (SELECT m.clinic_id FROM vapi_assistant_mappings m
              WHERE m.is_active AND (m.assistant_id = $1 OR m.phone_number_id = $2 OR m.squad_id = $3)
              ORDER BY CASE WHEN m.assistant_id = $1 THEN 0 WHEN m.phone_number_id = $2 THEN 1 ELSE 2 END
              LIMIT 1),
             (SELECT clinic_id FROM outbound_calls WHERE vapi_call_id = $4
              UNION ALL SELECT clinic_id FROM inbound_calls WHERE vapi_call_id = $4
              LIMIT 1)) AS id
         ), clinic AS (
           SELECT c.id, c.name, c.timezone, c.pims_type, c.business_hours,
                  (SELECT m.pims_clinic_id FROM vapi_assistant_mappings m
                   WHERE m.assistant_id = $1 AND m.is_active AND m.clinic_id = c.id) AS pims_clinic_id
           FROM picked p JOIN clinics c ON c.id = p.id
         )
         SELECT k.id, k.name, k.timezone, k.pims_type, k.business_hours, k.pims_clinic_id,
                a.id IS NOT NULL AS avail_found, a.timezone AS rules_timezone, s.daily_hours,
                s.slot_duration_minutes, s.vapi_availability_start_time,
                s.vapi_availability_end_time, s.slot_capacity,
                coalesce((SELECT json_agg(json_build_object('name', b.name, 'start', b.start_time,
                                 'end', b.end_time, 'days', b.days_of_week))
                          FROM clinic_blocked_periods b
                          WHERE b.clinic_id = a.id AND coalesce(b.is_active, true)), '[]'::json)::jsonb
                  AS blocked
         FROM clinic k
         LEFT JOIN clinics a ON a.id = coalesce(k.pims_clinic_id, k.id)
         LEFT JOIN clinic_schedule_config s ON s.clinic_id = a.id",
    )
    .bind(keys.assistant_id)
    .bind(keys.phone_number_id)
    .bind(keys.squad_id)
    .bind(vapi_call_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| {
        let avail = r.clinic.pims_clinic_id.unwrap_or(r.clinic.id);
        let rules = r.avail_found.then(|| rules_from_row(avail, r.rules));
        (r.clinic, rules)
    }))
}
