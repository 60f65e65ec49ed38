//! `verify_appointment`, `cancel_appointment`, `reschedule_appointment`
//! (`docs/behaviour.md#vapi-tools-appointments`). The appointment is found by owner and pet
//! name (case-insensitive, fuzzy) among the calendar appointments and the assistant's bookings
//! starting on the clinic-local day (the old lookup used the UTC date and missed late-afternoon
//! Pacific appointments). Cancel and reschedule write `appointment_audit_log`; a reschedule
//! holds the new slot and cancels the old appointment in one transaction, or changes nothing.

use chrono::{Days, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::availability::{availability_clinic, invalid_date};
use super::booking::{hold_slot, parse_when, unavailable_reply, Held, Holder};
use super::{args, remember, replayed, Ctx, Reply, ToolCall, ToolError};
use crate::db;
use crate::db::bookings::{Audit, Found, SOURCE_APPOINTMENT, SOURCE_BOOKING};
use crate::db::tool_clinic::ToolClinic;
use crate::domain::clinic_policy::calendar_is_in_pims;
use crate::domain::clock::{local_date, local_to_utc};
use crate::domain::nl_date::parse_date;
use crate::domain::spoken_time::{iso_date, spoken_date, spoken_time, time_24};
use crate::domain::status::ToolOutcome;

const FIND_PROMPT: &str =
    "I need the owner's name, the pet's name, and the date of the appointment to find it.";

/// The clinics whose appointments the calling clinic's callers may have.
fn clinics_of(clinic: &ToolClinic) -> Vec<Uuid> {
    let mut ids = vec![clinic.id];
    ids.extend(clinic.pims_clinic_id.filter(|p| *p != clinic.id));
    ids
}

async fn find(
    conn: &mut PgConnection,
    clinic: &ToolClinic,
    tz: Tz,
    date: NaiveDate,
    owner: &str,
    pet: &str,
) -> Result<Option<Found>, sqlx::Error> {
    let from = local_to_utc(tz, date, NaiveTime::MIN);
    let next = date.checked_add_days(Days::new(1)).unwrap_or(date);
    let to = local_to_utc(tz, next, NaiveTime::MIN);
    db::bookings::find_for_owner(conn, &clinics_of(clinic), from, to, owner, pet).await
}

fn found_json(f: &Found, tz: Tz) -> Value {
    let start = f.starts_at.with_timezone(&tz);
    let end = f.ends_at.with_timezone(&tz);
    json!({
        "status": "FOUND",
        "appointment_id": f.id,
        "source": f.source,
        "pims_appointment_id": f.pims_appointment_id,
        "confirmation_number": f.confirmation_number,
        "appointment_date": iso_date(start.date_naive()),
        "appointment_time": time_24(start.time()),
        "appointment_time_end": time_24(end.time()),
        "formatted_date": spoken_date(start.date_naive()),
        "formatted_time": spoken_time(start.time()),
        "provider_name": f.provider_name,
        "appointment_type": f.appointment_type,
        "room": f.room_id,
        "patient_name": f.patient_name,
        "client_name": f.client_name,
        "client_phone": f.client_phone,
    })
}

/// The three lookup arguments, parsed on the calling clinic's calendar.
fn lookup_args(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    a: &Value,
    date_key: &str,
) -> Result<(String, String, NaiveDate), Reply> {
    let [owner, pet, raw] =
        args::required(a, ["owner_name", "patient_name", date_key], FIND_PROMPT)?;
    let date = parse_date(&raw, ctx.today(clinic)).ok_or_else(|| invalid_date(&raw))?;
    Ok((owner, pet, date))
}

fn not_found(pet: &str, date: NaiveDate, tail: &str) -> Reply {
    Reply::fail(
        "appointment_not_found",
        format!("I don't see an appointment for {pet} on {}. Would you like me to check a different date{tail}?", spoken_date(date)),
        json!({"status": "DOES_NOT_EXIST"}),
    )
}

pub async fn verify(ctx: &Ctx<'_>, clinic: &ToolClinic, a: &Value) -> Result<Value, ToolError> {
    let (owner, pet, date) = match lookup_args(ctx, clinic, a, "appointment_date") {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let tz = ctx.tz(clinic);
    let mut conn = ctx.pool.acquire().await?;
    let Some(f) = find(&mut conn, clinic, tz, date, &owner, &pet).await? else {
        // Not an error of the tool: the caller may simply have the wrong day.
        let message = format!("I don't see an appointment scheduled for {pet} on {}. Would you like me to check a different date?", spoken_date(date));
        let data = json!({"status": "DOES_NOT_EXIST", "message": format!("No appointment found for {pet} on {}.", iso_date(date))});
        return Ok(Reply::ok(message, data).to_value());
    };
    let data = found_json(&f, tz);
    let message = format!(
        "Found appointment for {} on {} at {}.",
        f.patient_name.as_deref().unwrap_or("your pet"),
        data["formatted_date"].as_str().unwrap_or_default(),
        data["formatted_time"].as_str().unwrap_or_default()
    );
    Ok(Reply::ok(message, data).to_value())
}

/// Cancels what `find` found, in `conn`'s transaction; false when it was cancelled meanwhile.
async fn cancel_found(
    conn: &mut PgConnection,
    f: &Found,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    if f.source == SOURCE_BOOKING {
        db::bookings::cancel_booking(conn, f.id, reason).await
    } else {
        db::bookings::cancel_appointment(conn, f.id).await
    }
}

/// Whether staff must mirror a change to `f` in the clinic's PIMS: it came from the PIMS, or the
/// clinic keeps its calendar there (there is no write-back).
fn pims_update_required(clinic: &ToolClinic, f: &Found) -> bool {
    f.pims_appointment_id.is_some() || calendar_is_in_pims(clinic.pims_type.as_deref())
}

/// What the caller is told after a change staff must mirror in the PIMS; nothing otherwise.
fn pims_tail(required: bool) -> &'static str {
    if required {
        " Our team will also update it in the clinic's scheduling system."
    } else {
        ""
    }
}

fn audit<'a>(f: &'a Found, action: &'a str, reason: &'a str, call: Option<&'a str>) -> Audit<'a> {
    Audit {
        clinic_id: f.clinic_id,
        action,
        booking_id: (f.source == SOURCE_BOOKING).then_some(f.id),
        appointment_id: (f.source == SOURCE_APPOINTMENT).then_some(f.id),
        pims_appointment_id: f.pims_appointment_id.as_deref(),
        old_range: Some((f.starts_at, f.ends_at)),
        new_range: None,
        reason: Some(reason),
        vapi_call_id: call,
    }
}

pub async fn cancel(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    call: &ToolCall,
) -> Result<Value, ToolError> {
    let (owner, pet, date) = match lookup_args(ctx, clinic, &call.args, "appointment_date") {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let reason = args::text(&call.args, "reason").unwrap_or_else(|| "Cancelled via phone".into());
    let tz = ctx.tz(clinic);
    let mut tx = ctx.pool.begin().await?;
    if let Some(prev) = replayed(ctx, &mut tx, call).await? {
        return Ok(prev);
    }
    // The call's row is locked before the appointment's, the order of a booking and of the
    // end-of-call report (which locks the call, then confirms its holds): a cancel of this
    // call's own hold racing its report waits instead of deadlocking.
    let call_row = ctx.call_row(&mut tx, clinic.id, true).await?;
    let found = find(&mut tx, clinic, tz, date, &owner, &pet).await?;
    let Some(f) = found else {
        return Ok(not_found(&pet, date, "").to_value());
    };
    if !cancel_found(&mut tx, &f, &reason).await? {
        return Ok(not_found(&pet, date, "").to_value());
    }
    db::bookings::insert_audit(
        &mut tx,
        &audit(&f, "cancel", &reason, ctx.call_id.as_deref()),
    )
    .await?;
    let data = found_json(&f, tz);
    let patient = f.patient_name.clone().unwrap_or(pet);
    let pims = pims_update_required(clinic, &f);
    if let Some((row, _)) = call_row {
        let appointment = json!({
            "date": data["appointment_date"], "time": data["appointment_time"],
            "client_name": f.client_name, "client_phone": f.client_phone,
            "patient_name": patient, "cancelled_appointment_id": f.id,
            "cancelled_at": ctx.now.to_rfc3339(), "pims_update_required": pims,
        });
        db::inbound_calls::record_tool_outcome(
            &mut tx,
            row,
            ToolOutcome::Cancelled.as_str(),
            &appointment,
        )
        .await?;
    }
    let reply = Reply::ok(
        format!("Done! I've cancelled {patient}'s appointment on {} at {}.{} Is there anything else I can help you with?",
            data["formatted_date"].as_str().unwrap_or_default(), data["formatted_time"].as_str().unwrap_or_default(),
            pims_tail(pims)),
        json!({"cancelled": true, "appointment_id": f.id, "source": f.source,
               "pims_appointment_id": f.pims_appointment_id, "cancelled_at": ctx.now.to_rfc3339(),
               "pims_update_required": pims, "appointment": data}),
    )
    .to_value();
    remember(ctx, &mut tx, call, &reply).await?;
    tx.commit().await?;
    Ok(reply)
}

pub async fn reschedule(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    call: &ToolCall,
) -> Result<Value, ToolError> {
    let a = &call.args;
    let (owner, pet, old_date) = match lookup_args(ctx, clinic, a, "appointment_date") {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let prompt = "What day and time would you like to move the appointment to?";
    let [new_date_raw, new_time_raw] = match args::required(a, ["new_date", "new_time"], prompt) {
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
    let past = "I can only move appointments to today or a future date.";
    let (date, time) = match parse_when(&new_date_raw, &new_time_raw, today, past) {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let tz = ctx.tz(clinic);
    // Call row first, as in `cancel`.
    let call_row = ctx.call_row(&mut tx, clinic.id, true).await?;
    let Some(f) = find(&mut tx, clinic, tz, old_date, &owner, &pet).await? else {
        return Ok(not_found(&pet, old_date, ", or schedule a new appointment").to_value());
    };
    // Cancelled first, in this transaction: the old place no longer counts against the new slot
    // (moving within an overlapping time works), and a rollback restores it.
    let why = format!("Rescheduled to {} {}", iso_date(date), time_24(time));
    if !cancel_found(&mut tx, &f, &why).await? {
        return Ok(not_found(&pet, old_date, "").to_value());
    }
    let mv = Move {
        found: &f,
        owner: &owner,
        pet: &pet,
        date,
        time,
        reason: args::text(a, "reason").unwrap_or_else(|| "Rescheduled via phone".into()),
        schedule_tz: rules.tz,
        call_row,
    };
    match move_in_tx(ctx, clinic, call, &mut tx, &mv).await? {
        Ok(reply) => {
            let value = reply.to_value();
            remember(ctx, &mut tx, call, &value).await?;
            tx.commit().await?;
            Ok(value)
        }
        // Nothing changes: the cancellation above is rolled back with the transaction.
        Err(unavailable) => Ok(unavailable.to_value()),
    }
}

/// A reschedule in progress: the original (already cancelled in the transaction) and the
/// wanted clinic-local day and time.
struct Move<'a> {
    found: &'a Found,
    owner: &'a str,
    pet: &'a str,
    date: NaiveDate,
    time: NaiveTime,
    reason: String,
    schedule_tz: Tz,
    /// The call's row and its clinic, locked before the original was.
    call_row: Option<(Uuid, Uuid)>,
}

/// Holds the new slot, writes the audit row and the call's outcome. `Err` carries the
/// slot-taken answer: the caller must roll back.
async fn move_in_tx(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    call: &ToolCall,
    tx: &mut PgConnection,
    mv: &Move<'_>,
) -> Result<Result<Reply, Reply>, sqlx::Error> {
    let (f, avail) = (mv.found, availability_clinic(clinic));
    let call_row = mv.call_row;
    let patient = f.patient_name.clone().unwrap_or_else(|| mv.pet.to_string());
    let client = f
        .client_name
        .clone()
        .unwrap_or_else(|| mv.owner.to_string());
    let phone = f.client_phone.clone().unwrap_or_default();
    let who = Holder {
        client_name: &client,
        client_phone: &phone,
        patient_name: &patient,
        species: None,
        breed: None,
        reason: Some(f.appointment_type.as_deref().unwrap_or(&mv.reason)),
        is_new_client: false,
        inbound_call_id: call_row.filter(|(_, c)| *c == avail).map(|(id, _)| id),
        metadata: json!({
            "source": "vapi_tool", "tool_call_id": call.id, "vapi_call_id": ctx.call_id,
            "calling_clinic_id": clinic.id, "inbound_call_id": call_row.map(|(id, _)| id),
            "rescheduled_from": {"id": f.id, "source": f.source, "clinic_id": f.clinic_id,
                                 "pims_appointment_id": f.pims_appointment_id},
        }),
        rescheduled_from_id: (f.source == SOURCE_BOOKING && f.clinic_id == avail).then_some(f.id),
        original_range: Some((f.starts_at, f.ends_at)),
        rescheduled_reason: Some(&mv.reason),
    };
    let (id, number, start, end, local) =
        match hold_slot(tx, ctx.now, avail, mv.date, mv.time, &who).await? {
            Held::Unavailable {
                alternatives,
                local,
            } => {
                let tail = " Your original appointment is still in place.";
                return Ok(Err(unavailable_reply(
                    local,
                    mv.date,
                    &alternatives,
                    mv.schedule_tz,
                    tail,
                )));
            }
            Held::Booked {
                id,
                confirmation_number,
                start,
                end,
                local,
            } => (id, confirmation_number, start, end, local),
        };
    let mut entry = audit(f, "reschedule", &mv.reason, ctx.call_id.as_deref());
    // The audit row belongs to the original's clinic; the new booking is named only when it
    // lives in the same clinic (rows stay clinic-consistent), else through `new_range`.
    if f.clinic_id == avail {
        entry.booking_id = Some(id);
    }
    entry.new_range = Some((start, end));
    db::bookings::insert_audit(tx, &entry).await?;
    let old = found_json(f, ctx.tz(clinic));
    let new = json!({"date": iso_date(mv.date), "time": time_24(local)});
    let pims = pims_update_required(clinic, f);
    if let Some((row, _)) = call_row {
        let appointment = json!({
            "date": new["date"], "time": new["time"], "client_name": client,
            "client_phone": phone, "patient_name": patient, "booking_id": id,
            "confirmation_number": number, "original_date": old["appointment_date"],
            "original_time": old["appointment_time"], "rescheduled_at": ctx.now.to_rfc3339(),
            "pims_update_required": pims,
        });
        let outcome = ToolOutcome::Rescheduled.as_str();
        db::inbound_calls::record_tool_outcome(tx, row, outcome, &appointment).await?;
    }
    Ok(Ok(Reply::ok(
        format!("Perfect! I've rescheduled {patient}'s appointment to {} on {}. Your new confirmation number is {number}.{} Is there anything else I can help you with?",
            spoken_time(local), spoken_date(mv.date), pims_tail(pims)),
        json!({"rescheduled": true, "original_appointment_id": f.id, "new_booking_id": id,
               "confirmation_number": number, "pims_update_required": pims,
               "old_datetime": {"date": old["appointment_date"], "time": old["appointment_time"]},
               "new_datetime": new}),
    )))
}
