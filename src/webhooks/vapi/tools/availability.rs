//! `check_availability` and `check_availability_range` (`docs/behaviour.md#vapi-tools-slots`),
//! and the calendar both they and the booking tools read: the availability clinic's rules and
//! blocked periods, and the busy intervals of a whole day range in one query.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{args, Ctx, Reply, ToolError};
use crate::db;
use crate::db::tool_clinic::ToolClinic;
use crate::domain::clock::{local_date, local_to_utc};
use crate::domain::nl_date::parse_date;
use crate::domain::slots::{day_slots, BlockedPeriod, ScheduleRules, Slot};
use crate::domain::spoken_time::{
    iso_date, list_with_more, month_day, spoken_date, spoken_time, time_24, weekday_name,
};

/// The availability clinic's calendar over `days` days from `first` (clinic-local).
pub struct Calendar {
    pub rules: ScheduleRules,
    pub blocked: Vec<BlockedPeriod>,
    pub busy: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Calendar {
    pub fn day(&self, date: NaiveDate, now: DateTime<Utc>) -> Vec<Slot> {
        day_slots(&self.rules, date, &self.blocked, &self.busy, now)
    }
}

/// Whose calendar the calling clinic's assistant reads and books: the mapping's
/// `pims_clinic_id`, else the clinic itself.
pub fn availability_clinic(clinic: &ToolClinic) -> Uuid {
    clinic.pims_clinic_id.unwrap_or(clinic.id)
}

/// The schedule rules of `clinic_id` (zone, grid, blocks), without busy intervals.
pub async fn rules(
    conn: &mut PgConnection,
    clinic_id: Uuid,
) -> Result<(ScheduleRules, Vec<BlockedPeriod>), sqlx::Error> {
    Ok(db::schedule::rules_of(&mut *conn, clinic_id)
        .await?
        .unwrap_or_else(|| (ScheduleRules::defaults(chrono_tz::UTC), Vec::new())))
}

/// Loads the calendar of `clinic_id` for `[first, first + days)`: two queries whatever the
/// number of days or slots.
pub async fn calendar(
    conn: &mut PgConnection,
    clinic_id: Uuid,
    first: NaiveDate,
    days: u64,
) -> Result<Calendar, sqlx::Error> {
    let (rules, blocked) = rules(conn, clinic_id).await?;
    calendar_with(conn, clinic_id, (rules, blocked), first, days).await
}

/// [`calendar`] with the rules already loaded (one query fewer).
pub async fn calendar_with(
    conn: &mut PgConnection,
    clinic_id: Uuid,
    (rules, blocked): (ScheduleRules, Vec<BlockedPeriod>),
    first: NaiveDate,
    days: u64,
) -> Result<Calendar, sqlx::Error> {
    let (from, to) = day_bounds(rules.tz, first, days);
    let busy = db::schedule::busy_intervals(&mut *conn, clinic_id, from, to).await?;
    Ok(Calendar {
        rules,
        blocked,
        busy,
    })
}

/// [`calendar_with`] for the unlocked readers: the busy intervals read with the clinic when
/// they cover the days asked (`Ctx::busy_between`), else one query.
async fn read_calendar(
    ctx: &Ctx<'_>,
    clinic_id: Uuid,
    (rules, blocked): (ScheduleRules, Vec<BlockedPeriod>),
    first: NaiveDate,
    days: u64,
) -> Result<Calendar, sqlx::Error> {
    let (from, to) = day_bounds(rules.tz, first, days);
    let busy = match ctx.busy_between(from, to) {
        Some(busy) => busy.to_vec(),
        None => {
            let mut conn = ctx.pool.acquire().await?;
            db::schedule::busy_intervals(&mut *conn, clinic_id, from, to).await?
        }
    };
    Ok(Calendar {
        rules,
        blocked,
        busy,
    })
}

/// The instants `[first 00:00, first + days 00:00)` on the calendar's clock.
fn day_bounds(tz: chrono_tz::Tz, first: NaiveDate, days: u64) -> (DateTime<Utc>, DateTime<Utc>) {
    let last = first.checked_add_days(Days::new(days)).unwrap_or(first);
    (
        local_to_utc(tz, first, NaiveTime::MIN),
        local_to_utc(tz, last, NaiveTime::MIN),
    )
}

/// One open slot as the tools list it.
pub fn slot_json(s: &Slot) -> Value {
    json!({
        "time_12h": spoken_time(s.local_start),
        "time": spoken_time(s.local_start),
        "time_24h": time_24(s.local_start),
        "value": time_24(s.local_start),
        "slots_remaining": s.remaining(),
    })
}

pub async fn check_availability(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    a: &Value,
) -> Result<Value, ToolError> {
    let [raw] = match args::required(a, ["date"], "Please provide a date to check availability.") {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let loaded = ctx.calendar_rules();
    let today = local_date(loaded.0.tz, ctx.now);
    let Some(date) = parse_date(&raw, today) else {
        return Ok(invalid_date(&raw).to_value());
    };
    if date < today {
        return Ok(Reply::fail(
            "past_date",
            "I can only check availability for today or future dates.",
            json!({"date": iso_date(date)}),
        )
        .to_value());
    }
    let cal = read_calendar(ctx, availability_clinic(clinic), loaded, date, 1).await?;
    let slots = cal.day(date, ctx.now);
    let open: Vec<&Slot> = slots.iter().filter(|s| s.is_open()).collect();
    let spoken = spoken_date(date);
    let mut data = json!({
        "available": !open.is_empty(),
        "date": iso_date(date),
        "formatted_date": spoken,
        "count": open.len(),
        "times": open.iter().map(|s| slot_json(s)).collect::<Vec<_>>(),
    });
    if args::flag(a, "include_blocked") == Some(true) {
        data["blocked_times"] = slots
            .iter()
            .filter_map(|s| {
                s.blocked.as_ref().map(|reason| {
                    json!({"time_12h": spoken_time(s.local_start), "time_24h": time_24(s.local_start), "reason": reason})
                })
            })
            .collect();
    }
    let message = if open.is_empty() {
        format!("I don't have any appointments available on {spoken}. Would you like me to check the next day?")
    } else {
        let times: Vec<String> = open
            .iter()
            .take(4)
            .map(|s| spoken_time(s.local_start))
            .collect();
        format!(
            "I have availability on {spoken}. Times include {}. Which works best?",
            times.join(", ")
        )
    };
    Ok(Reply::ok(message, data).to_value())
}

pub fn invalid_date(raw: &str) -> Reply {
    Reply::fail(
        "invalid_date",
        format!("I couldn't understand the date \"{raw}\". Could you please say it again?"),
        json!({"date": raw}),
    )
}

pub async fn check_range(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    a: &Value,
) -> Result<Value, ToolError> {
    let days = args::int(a, "days_ahead").unwrap_or(14).clamp(1, 14);
    let clinic_id = availability_clinic(clinic);
    let loaded = ctx.calendar_rules();
    let today = local_date(loaded.0.tz, ctx.now);
    let start = match args::text(a, "start_date") {
        None => today,
        Some(raw) => match parse_date(&raw, today) {
            Some(d) => d.max(today),
            None => return Ok(invalid_date(&raw).to_value()),
        },
    };
    let days_u = u64::try_from(days).unwrap_or(14);
    let cal = read_calendar(ctx, clinic_id, loaded, start, days_u).await?;
    let mut availability = Vec::new();
    let mut first: Option<(NaiveDate, Vec<Slot>)> = None;
    let (mut with_availability, mut total_open) = (0, 0);
    for date in (0..days_u).filter_map(|i| start.checked_add_days(Days::new(i))) {
        let slots = cal.day(date, ctx.now);
        let open: Vec<Slot> = slots.iter().filter(|s| s.is_open()).cloned().collect();
        if !open.is_empty() {
            with_availability += 1;
            total_open += open.len();
        }
        availability.push(json!({
            "date": iso_date(date),
            "formatted_date": month_day(date),
            "day_of_week": weekday_name(chrono::Datelike::weekday(&date)),
            "total_slots": slots.len(),
            "available_slots": open.len(),
            "earliest_time": open.first().map(|s| spoken_time(s.local_start)),
            "latest_time": open.last().map(|s| spoken_time(s.local_start)),
        }));
        if first.is_none() && !open.is_empty() {
            first = Some((date, open));
        }
    }
    let end = start
        .checked_add_days(Days::new(days_u - 1))
        .unwrap_or(start);
    let mut data = json!({
        "available": first.is_some(),
        "date_range": {"start": iso_date(start), "end": iso_date(end), "days_checked": days},
        "summary": {"days_with_availability": with_availability, "total_available_slots": total_open},
        "first_available": null,
        "availability": availability,
    });
    let Some((date, open)) = first else {
        let message = format!("I'm sorry, there are no available appointments in the next {days} days. Would you like me to take your information for a callback?");
        return Ok(Reply::ok(message, data).to_value());
    };
    let day_name = weekday_name(chrono::Datelike::weekday(&date));
    data["first_available"] = json!({
        "date": iso_date(date),
        "formatted_date": month_day(date),
        "day_of_week": day_name,
        "times": open.iter().take(8).map(slot_json).collect::<Vec<_>>(),
        "total_times": open.len(),
    });
    let times: Vec<String> = open.iter().map(|s| spoken_time(s.local_start)).collect();
    let message = format!(
        "I have availability on {day_name}, {}. Times include: {}. We have {with_availability} days with availability in the next {days} days. Would you like to book one of these times?",
        month_day(date),
        list_with_more(&times, 3)
    );
    Ok(Reply::ok(message, data).to_value())
}
