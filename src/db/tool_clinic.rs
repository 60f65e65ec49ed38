//! The clinic a voice tool works for (`docs/behaviour.md#vapi-tools`): name, zone, PIMS,
//! business hours, and the availability clinic of the calling assistant's mapping.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::schedule::{bind_busy_statuses, busy_arrays_sql, rules_from_row, RulesRow};
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
    /// The availability clinic's busy intervals over the asked window (NULL when not asked).
    busy_starts: Option<Vec<DateTime<Utc>>>,
    busy_ends: Option<Vec<DateTime<Utc>>>,
}

/// Everything a `tool-calls` message reads before its tools run.
#[derive(Clone, Debug)]
pub struct ToolContext {
    pub clinic: ToolClinic,
    /// The availability clinic's rules and blocked periods; `None` when it does not exist.
    pub rules: Option<(ScheduleRules, Vec<BlockedPeriod>)>,
    /// The availability clinic's busy intervals (`db::schedule::busy_intervals`) overlapping
    /// the window asked for, when one was.
    pub busy: Option<Vec<(DateTime<Utc>, DateTime<Utc>)>>,
}

/// The clinic of a `tool-calls` message and the calendar its assistant reads, in one statement
/// instead of four: the clinic of the call's active mapping (by assistant, phone number, then
/// squad, `docs/behaviour.md#vapi-clinic`), else of the call row we already have; its details
/// and the `pims_clinic_id` of that same mapping row (a call routed by phone number or squad
/// reads its mapping's calendar too; none when the call row names the clinic); the rules and active blocked periods of
/// `pims_clinic_id`, else of the clinic (`docs/behaviour.md#vapi-tools-slots`); and, when
/// `busy_window` is given, that calendar's busy intervals overlapping it. `None` when no clinic
/// is found.
pub async fn load_for_call(
    ex: impl PgExecutor<'_>,
    keys: &CallKeys<'_>,
    vapi_call_id: Option<&str>,
    busy_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Option<ToolContext>, sqlx::Error> {
    // Two statements rather than one with an optional part: PostgreSQL plans a statement whose
    // shape depends on a parameter anew at every execution (a custom plan), which cost more
    // than the round trip the optional part saves.
    static PLAIN: LazyLock<String> = LazyLock::new(|| context_sql(false));
    static WITH_BUSY: LazyLock<String> = LazyLock::new(|| context_sql(true));
    let sql = match busy_window {
        Some(_) => WITH_BUSY.as_str(),
        None => PLAIN.as_str(),
    };
    let query = sqlx::query_as(sql)
        .bind(keys.assistant_id)
        .bind(keys.phone_number_id)
        .bind(keys.squad_id)
        .bind(vapi_call_id);
    let row: Option<ContextRow> = match busy_window {
        Some((from, to)) => {
            bind_busy_statuses(query.bind(from).bind(to))
                .fetch_optional(ex)
                .await?
        }
        None => query.fetch_optional(ex).await?,
    };
    Ok(row.map(|r| {
        let avail = r.clinic.pims_clinic_id.unwrap_or(r.clinic.id);
        let rules = r.avail_found.then(|| rules_from_row(avail, r.rules));
        let busy = r
            .busy_starts
            .zip(r.busy_ends)
            .map(|(starts, ends)| starts.into_iter().zip(ends).collect());
        ToolContext {
            clinic: r.clinic,
            rules,
            busy,
        }
    }))
}

/// The context statement; `with_busy` adds the busy intervals over `[$5, $6)`, statuses from `$7`.
fn context_sql(with_busy: bool) -> String {
    let (busy_columns, busy_join) = match with_busy {
        true => (
            "busy.busy_starts, busy.busy_ends".to_string(),
            format!(
                "CROSS JOIN LATERAL ({}) busy",
                busy_arrays_sql("a.id", "$5::timestamptz", "$6::timestamptz", 7)
            ),
        ),
        false => (
            "NULL::timestamptz[] AS busy_starts, NULL::timestamptz[] AS busy_ends".to_string(),
            String::new(),
        ),
    };
    format!(
        "WITH picked AS (
           SELECT coalesce(m.clinic_id,
                    (SELECT clinic_id FROM outbound_calls WHERE vapi_call_id = $4
                     UNION ALL SELECT clinic_id FROM inbound_calls WHERE vapi_call_id = $4
                     LIMIT 1)) AS id,
                  m.pims_clinic_id
           FROM (SELECT) one
           LEFT JOIN (SELECT m.clinic_id, m.pims_clinic_id FROM vapi_assistant_mappings m
                      WHERE m.is_active AND (m.assistant_id = $1 OR m.phone_number_id = $2 OR m.squad_id = $3)
                      ORDER BY CASE WHEN m.assistant_id = $1 THEN 0 WHEN m.phone_number_id = $2 THEN 1 ELSE 2 END
                      LIMIT 1) m ON true
         ), clinic AS (
           SELECT c.id, c.name, c.timezone, c.pims_type, c.business_hours, p.pims_clinic_id
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
                  AS blocked,
                {busy_columns}
         FROM clinic k
         LEFT JOIN clinics a ON a.id = coalesce(k.pims_clinic_id, k.id)
         LEFT JOIN clinic_schedule_config s ON s.clinic_id = a.id
         {busy_join}"
    )
}
