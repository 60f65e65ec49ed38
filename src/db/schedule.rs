//! The calendar a clinic's voice tools read (`docs/behaviour.md#vapi-tools-slots`):
//! `clinic_schedule_config` with the clinic's zone, `clinic_blocked_periods`, and the intervals
//! `schedule_appointments` and live `vapi_bookings` occupy. One query per question and per date
//! range, never one per slot.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::clinic_policy::zone_of;
use crate::domain::slots::{BlockedPeriod, ScheduleRules, DEFAULT_CAPACITY, DEFAULT_SLOT_MINUTES};
use crate::domain::status::{AppointmentStatus, BookingStatus};

/// A clinic's schedule rules as stored (also read by `db::tool_clinic` with its clinic).
#[derive(sqlx::FromRow)]
pub(super) struct RulesRow {
    /// The zone of the clinic whose calendar it is.
    rules_timezone: Option<String>,
    daily_hours: Option<Value>,
    slot_duration_minutes: Option<i32>,
    vapi_availability_start_time: Option<NaiveTime>,
    vapi_availability_end_time: Option<NaiveTime>,
    slot_capacity: Option<i32>,
    blocked: Value,
}

fn blocked_from_json(v: &Value) -> Vec<BlockedPeriod> {
    let time = |p: &Value, k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .and_then(|s| NaiveTime::parse_from_str(s, "%H:%M:%S%.f").ok())
    };
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some(BlockedPeriod {
                        name: p.get("name")?.as_str()?.to_string(),
                        start: time(p, "start")?,
                        end: time(p, "end")?,
                        days: p
                            .get("days")
                            .and_then(Value::as_array)
                            .map(|d| {
                                d.iter()
                                    .filter_map(Value::as_i64)
                                    .filter_map(|x| i32::try_from(x).ok())
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The clinic's schedule rules (defaults without a config row) and its active blocked
/// periods; `None` when the clinic does not exist.
pub async fn rules_of(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
) -> Result<Option<(ScheduleRules, Vec<BlockedPeriod>)>, sqlx::Error> {
    let row: Option<RulesRow> = sqlx::query_as(
        "SELECT c.timezone AS rules_timezone, s.daily_hours, s.slot_duration_minutes,
                s.vapi_availability_start_time, s.vapi_availability_end_time, s.slot_capacity,
                coalesce((SELECT json_agg(json_build_object('name', b.name, 'start', b.start_time,
                                 'end', b.end_time, 'days', b.days_of_week))
                          FROM clinic_blocked_periods b
                          WHERE b.clinic_id = c.id AND coalesce(b.is_active, true)), '[]'::json)::jsonb
                  AS blocked
         FROM clinics c LEFT JOIN clinic_schedule_config s ON s.clinic_id = c.id
         WHERE c.id = $1",
    )
    .bind(clinic_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| rules_from_row(clinic_id, r)))
}

/// The rules of `clinic_id` from its row (defaults where the config is absent).
pub(super) fn rules_from_row(clinic_id: Uuid, r: RulesRow) -> (ScheduleRules, Vec<BlockedPeriod>) {
    let rules = ScheduleRules {
        tz: zone_of(clinic_id, r.rules_timezone.as_deref()),
        daily_hours: r.daily_hours.filter(Value::is_object),
        slot_minutes: r
            .slot_duration_minutes
            .filter(|m| *m > 0)
            .map_or(DEFAULT_SLOT_MINUTES, i64::from),
        window: (r.vapi_availability_start_time, r.vapi_availability_end_time),
        capacity: r.slot_capacity.map_or(DEFAULT_CAPACITY, i64::from),
    };
    (rules, blocked_from_json(&r.blocked))
}

/// Intervals overlapping `[from, to)` that take a place in the clinic's calendar: appointments
/// not deleted, cancelled or no-show, and bookings that are confirmed or hold an unexpired
/// slot. One row of two arrays (starts, ends) rather than a row per interval: a busy 14-day
/// range holds a thousand of them, and framing and decoding them row by row is a large share of
/// an availability answer's CPU time (`docs/benchmarks.md#tools`).
pub async fn busy_intervals(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, sqlx::Error> {
    static SQL: LazyLock<String> = LazyLock::new(|| busy_arrays_sql("$1", "$2", "$3", 4));
    let query = sqlx::query_as(SQL.as_str())
        .bind(clinic_id)
        .bind(from)
        .bind(to);
    let (starts, ends): (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) =
        bind_busy_statuses(query).fetch_one(ex).await?;
    Ok(starts.into_iter().zip(ends).collect())
}

/// The one definition of what occupies a calendar (see [`busy_intervals`]), as a SELECT of one
/// row `(busy_starts, busy_ends)` for the clinic, bounds and status parameters given as SQL
/// (`db::tool_clinic` embeds it in its context query): `$status_from` to `$status_from + 3`
/// are bound by [`bind_busy_statuses`].
pub(super) fn busy_arrays_sql(clinic: &str, from: &str, to: &str, status_from: usize) -> String {
    let [cancelled, no_show, confirmed, pending] =
        [0, 1, 2, 3].map(|i| format!("${}", status_from + i));
    format!(
        "SELECT coalesce(array_agg(s), '{{}}') AS busy_starts, coalesce(array_agg(e), '{{}}') AS busy_ends
         FROM (
           SELECT lower(time_range) AS s, upper(time_range) AS e FROM schedule_appointments
           WHERE clinic_id = {clinic} AND time_range && tstzrange({from}, {to}) AND deleted_at IS NULL
             AND status IS DISTINCT FROM {cancelled} AND status IS DISTINCT FROM {no_show}
           UNION ALL
           SELECT lower(time_range), upper(time_range) FROM vapi_bookings
           WHERE clinic_id = {clinic} AND time_range && tstzrange({from}, {to})
             AND (status = {confirmed} OR (status = {pending} AND (hold_expires_at IS NULL OR hold_expires_at > now())))
         ) busy"
    )
}

/// Binds the four statuses of [`busy_arrays_sql`], in its order.
pub(super) fn bind_busy_statuses<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    q.bind(AppointmentStatus::Cancelled.as_str())
        .bind(AppointmentStatus::NoShow.as_str())
        .bind(BookingStatus::Confirmed.as_str())
        .bind(BookingStatus::Pending.as_str())
}
