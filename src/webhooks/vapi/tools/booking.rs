//! `book_appointment` (`docs/behaviour.md#vapi-tools-booking`) and the hold both it and
//! `reschedule_appointment` take: inside the caller's transaction, the availability clinic's
//! calendar is locked (`db::bookings::lock_calendar`), the slot's capacity is counted, and the
//! `pending` hold is inserted, so concurrent bookings of one slot can never exceed it.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::availability::{availability_clinic, calendar, invalid_date, Calendar};
use super::{args, remember, replayed, Ctx, Reply, ToolCall, ToolError};
use crate::db;
use crate::db::bookings::NewHold;
use crate::db::tool_clinic::ToolClinic;
use crate::domain::clinic_policy::calendar_is_in_pims;
use crate::domain::clock::{local_date, local_to_utc};
use crate::domain::nl_date::{parse_date, parse_time};
use crate::domain::slots::{nearest_open, Slot};
use crate::domain::spoken_time::{iso_date, spoken_date, spoken_time, time_24};
use crate::domain::status::ToolOutcome;
use crate::domain::tool_refs::{confirmation_number, HOLD_MINUTES};

/// Who and what a hold is for.
pub struct Holder<'a> {
    pub client_name: &'a str,
    pub client_phone: &'a str,
    pub patient_name: &'a str,
    pub species: Option<&'a str>,
    pub breed: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub is_new_client: bool,
    pub inbound_call_id: Option<Uuid>,
    pub metadata: Value,
    pub rescheduled_from_id: Option<Uuid>,
    pub original_range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub rescheduled_reason: Option<&'a str>,
}

/// The result of trying to hold a slot.
pub enum Held {
    Booked {
        id: Uuid,
        confirmation_number: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        local: NaiveTime,
    },
    /// Full, blocked, closed, past or off the grid; up to 3 open alternatives.
    Unavailable {
        alternatives: Vec<Slot>,
        local: NaiveTime,
    },
}

/// Holds the slot starting at clinic-local `date` `time` in `clinic_id`'s calendar, inside
/// `conn`'s transaction.
pub async fn hold_slot(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    clinic_id: Uuid,
    date: NaiveDate,
    time: NaiveTime,
    who: &Holder<'_>,
) -> Result<Held, sqlx::Error> {
    db::bookings::lock_calendar(conn, clinic_id).await?;
    // A week of calendar: the day itself and the days alternatives may come from.
    let cal = calendar(conn, clinic_id, date, 7).await?;
    let start = local_to_utc(cal.rules.tz, date, time);
    let local = start.with_timezone(&cal.rules.tz).time();
    let slots = cal.day(date, now);
    let Some(slot) = slots.iter().find(|s| s.start == start && s.is_open()) else {
        let alternatives = alternatives(&cal, &slots, date, start, now);
        return Ok(Held::Unavailable {
            alternatives,
            local,
        });
    };
    for _ in 0..8 {
        let number = confirmation_number(Uuid::new_v4().as_u128());
        let hold = NewHold {
            clinic_id,
            inbound_call_id: who.inbound_call_id,
            vapi_call_id: who.metadata.get("vapi_call_id").and_then(Value::as_str),
            start: slot.start,
            end: slot.end,
            client_name: who.client_name,
            client_phone: who.client_phone,
            patient_name: who.patient_name,
            species: who.species,
            breed: who.breed,
            reason: who.reason,
            is_new_client: who.is_new_client,
            confirmation_number: &number,
            hold_minutes: i32::try_from(HOLD_MINUTES).unwrap_or(5),
            metadata: &who.metadata,
            rescheduled_from_id: who.rescheduled_from_id,
            original_range: who.original_range,
            rescheduled_reason: who.rescheduled_reason,
        };
        if let Some(id) = db::bookings::insert_hold(conn, &hold).await? {
            return Ok(Held::Booked {
                id,
                confirmation_number: number,
                start: slot.start,
                end: slot.end,
                local,
            });
        }
    }
    Err(sqlx::Error::Protocol(
        "no free confirmation number after 8 draws".into(),
    ))
}

/// Up to 3 open slots: the nearest on the requested day, then the earliest of the next days.
fn alternatives(
    cal: &Calendar,
    day: &[Slot],
    date: NaiveDate,
    wanted: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Slot> {
    let mut picked = nearest_open(day, wanted, 3);
    for i in 1..7 {
        if picked.len() >= 3 {
            break;
        }
        let Some(next) = date.checked_add_days(Days::new(i)) else {
            break;
        };
        let more = cal.day(next, now);
        picked.extend(
            more.into_iter()
                .filter(Slot::is_open)
                .take(3 - picked.len()),
        );
    }
    picked
}

/// `3:00 PM`, or `9:00 AM on Wednesday, December 2` for another day than `date`.
pub fn alternative_words(s: &Slot, date: NaiveDate, tz: chrono_tz::Tz) -> String {
    let day = local_date(tz, s.start);
    if day == date {
        spoken_time(s.local_start)
    } else {
        format!("{} on {}", spoken_time(s.local_start), spoken_date(day))
    }
}

pub fn alternatives_json(alts: &[Slot], tz: chrono_tz::Tz) -> Value {
    alts.iter()
        .map(|s| {
            let day = local_date(tz, s.start);
            json!({"date": iso_date(day), "formatted_date": spoken_date(day),
                   "time": spoken_time(s.local_start), "time_24h": time_24(s.local_start)})
        })
        .collect()
}

/// The slot-taken sentence with its alternatives.
pub fn unavailable_reply(
    local: NaiveTime,
    date: NaiveDate,
    alts: &[Slot],
    tz: chrono_tz::Tz,
    tail: &str,
) -> Reply {
    let offer = if alts.is_empty() {
        "Would you like me to check another day?".to_string()
    } else {
        let words: Vec<String> = alts
            .iter()
            .map(|s| alternative_words(s, date, tz))
            .collect();
        format!(
            "I have availability at {}. Would any of those work for you?",
            words.join(", ")
        )
    };
    Reply::fail(
        "slot_not_available",
        format!(
            "I'm sorry, {} on {} is not available.{tail} {offer}",
            spoken_time(local),
            spoken_date(date)
        ),
        json!({"alternative_times": alternatives_json(alts, tz)}),
    )
}

const BOOK_PROMPT: &str = "I need some information to book your appointment. Please provide the date, time, your name, phone number, and your pet's name.";

/// The requested day and time, read on the availability clinic's calendar, or the answer
/// saying what could not be understood.
pub fn parse_when(
    date_raw: &str,
    time_raw: &str,
    today: NaiveDate,
    past_message: &str,
) -> Result<(NaiveDate, NaiveTime), Reply> {
    let date = parse_date(date_raw, today).ok_or_else(|| invalid_date(date_raw))?;
    let time = parse_time(time_raw).ok_or_else(|| {
        Reply::fail(
            "invalid_time",
            format!("I couldn't understand the time \"{time_raw}\". Could you please say it again, like \"9 AM\" or \"2:30 PM\"?"),
            json!({"time": time_raw}),
        )
    })?;
    if date < today {
        return Err(Reply::fail(
            "past_date",
            past_message,
            json!({"date": iso_date(date)}),
        ));
    }
    Ok((date, time))
}

/// A booking request, read and checked.
struct Request {
    client_name: String,
    client_phone: String,
    patient_name: String,
    species: Option<String>,
    breed: Option<String>,
    reason: Option<String>,
    is_new_client: bool,
    date: NaiveDate,
    time: NaiveTime,
}

pub async fn book(ctx: &Ctx<'_>, clinic: &ToolClinic, call: &ToolCall) -> Result<Value, ToolError> {
    let a = &call.args;
    let keys = [
        "date",
        "time",
        "client_name",
        "client_phone",
        "patient_name",
    ];
    let [date_raw, time_raw, client_name, client_phone, patient_name] =
        match args::required(a, keys, BOOK_PROMPT) {
            Ok(v) => v,
            Err(r) => return Ok(r.to_value()),
        };
    // Queue for the calendar before taking a connection (`state::CalendarGate`).
    let _turn = ctx.calendars.turn(availability_clinic(clinic)).await;
    let mut tx = ctx.pool.begin().await?;
    if let Some(prev) = replayed(ctx, &mut tx, call).await? {
        return Ok(prev);
    }
    // The zone as read with the clinic; the slot's rules are read again under the calendar
    // lock (`hold_slot`).
    let (rules, _) = ctx.calendar_rules();
    let today = local_date(rules.tz, ctx.now);
    let past = "I can only book appointments for today or future dates.";
    let (date, time) = match parse_when(&date_raw, &time_raw, today, past) {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let req = Request {
        client_name,
        client_phone,
        patient_name,
        species: args::text(a, "species"),
        breed: args::text(a, "breed"),
        reason: args::text(a, "reason"),
        is_new_client: args::flag(a, "is_new_client").unwrap_or(false),
        date,
        time,
    };
    let value = book_in_tx(ctx, clinic, call, &mut tx, &req, rules.tz)
        .await?
        .to_value();
    remember(ctx, &mut tx, call, &value).await?;
    tx.commit().await?;
    Ok(value)
}

/// Holds the slot and records the outcome on the call row, inside the booking transaction.
async fn book_in_tx(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    call: &ToolCall,
    tx: &mut PgConnection,
    req: &Request,
    tz: chrono_tz::Tz,
) -> Result<Reply, sqlx::Error> {
    let avail = availability_clinic(clinic);
    let call_row = ctx.call_row(tx, clinic.id, true).await?;
    let pims = calendar_is_in_pims(clinic.pims_type.as_deref());
    let who = Holder {
        client_name: &req.client_name,
        client_phone: &req.client_phone,
        patient_name: &req.patient_name,
        species: req.species.as_deref(),
        breed: req.breed.as_deref(),
        reason: req.reason.as_deref(),
        is_new_client: req.is_new_client,
        inbound_call_id: call_row.filter(|(_, c)| *c == avail).map(|(id, _)| id),
        metadata: json!({
            "source": "vapi_tool",
            "tool_call_id": call.id,
            "vapi_call_id": ctx.call_id,
            "calling_clinic_id": clinic.id,
            "inbound_call_id": call_row.map(|(id, _)| id),
            "pims_type": clinic.pims_type,
            "pims_entry_required": pims,
        }),
        rescheduled_from_id: None,
        original_range: None,
        rescheduled_reason: None,
    };
    let (id, number, local) = match hold_slot(tx, ctx.now, avail, req.date, req.time, &who).await? {
        Held::Unavailable {
            alternatives,
            local,
        } => {
            return Ok(unavailable_reply(local, req.date, &alternatives, tz, ""));
        }
        Held::Booked {
            id,
            confirmation_number,
            local,
            ..
        } => (id, confirmation_number, local),
    };
    let appointment = json!({
        "date": iso_date(req.date), "formatted_date": spoken_date(req.date),
        "time": time_24(local), "formatted_time": spoken_time(local),
        "patient_name": req.patient_name, "client_name": req.client_name,
        "client_phone": req.client_phone, "reason": req.reason,
        "booking_id": id, "confirmation_number": number,
    });
    if let Some((row, _)) = call_row {
        let outcome = ToolOutcome::Booked.as_str();
        db::inbound_calls::record_tool_outcome(tx, row, outcome, &appointment).await?;
    }
    Ok(booked_reply(clinic, &appointment, &number, id, pims))
}

fn booked_reply(clinic: &ToolClinic, appt: &Value, number: &str, id: Uuid, pims: bool) -> Reply {
    let s = |k: &str| {
        appt.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (patient, date, time) = (s("patient_name"), s("formatted_date"), s("formatted_time"));
    let message = if pims {
        format!("Great! I've reserved {date} at {time} for {patient}. Your confirmation number is {number}. Our team will enter it into the clinic's scheduling system. Is there anything else I can help you with?")
    } else {
        format!("Great! I've booked your appointment for {patient} on {date} at {time}. Your confirmation number is {number}. Is there anything else I can help you with?")
    };
    let mut data = json!({
        "confirmation_number": number,
        "booking_id": id,
        "appointment": appt,
        "clinic_name": clinic.name,
        "hold_info": {
            "expires_in_minutes": HOLD_MINUTES,
            "note": "This appointment is held while we complete your booking; it is confirmed when the call ends.",
        },
    });
    if pims {
        data["note"] = json!("To be entered into the clinic's PIMS by staff.");
    }
    Reply::ok(message, data)
}
