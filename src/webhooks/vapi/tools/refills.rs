//! `create_refill_request` → `refill_requests` (`docs/behaviour.md#vapi-tools-refills`), with
//! a reference `RX-YYYYMMDD-XXXX` on the clinic's calendar, unique (a collision draws again).

use serde_json::{json, Value};
use uuid::Uuid;

use super::{args, remember, replayed, Ctx, Reply, ToolCall, ToolError};
use crate::db;
use crate::db::refills::NewRefill;
use crate::db::tool_clinic::ToolClinic;
use crate::domain::nl_date::parse_past_date;
use crate::domain::spoken_time::iso_date;
use crate::domain::status::InboxItemStatus;
use crate::domain::tool_refs::{pharmacy_column, refill_reference};

pub async fn create(
    ctx: &Ctx<'_>,
    clinic: &ToolClinic,
    call: &ToolCall,
) -> Result<Value, ToolError> {
    let a = &call.args;
    let [name, phone, pet, medication] = match args::required(
        a,
        ["client_name", "client_phone", "pet_name", "medication_name"],
        "I need some information for the refill request. Please provide your name, phone number, your pet's name, and the medication.",
    ) {
        Ok(v) => v,
        Err(r) => return Ok(r.to_value()),
    };
    let today = ctx.today(clinic);
    let last_raw = args::text(a, "last_refill_date");
    let last = last_raw.as_deref().and_then(|r| parse_past_date(r, today));
    let preference = args::text(a, "pharmacy_preference");
    let column = pharmacy_column(preference.as_deref());
    let (species, strength, pharmacy, notes) = (
        args::text(a, "species"),
        args::text(a, "medication_strength"),
        args::text(a, "pharmacy_name"),
        args::text(a, "notes"),
    );
    let mut tx = ctx.pool.begin().await?;
    if let Some(prev) = replayed(ctx, &mut tx, call).await? {
        return Ok(prev);
    }
    let row = ctx.call_row(&mut tx, clinic.id, false).await?;
    let mut inserted = None;
    for _ in 0..8 {
        let reference = refill_reference(today, Uuid::new_v4().as_u128());
        let metadata = json!({
            "source": "vapi_tool", "tool_call_id": call.id, "vapi_call_id": ctx.call_id,
            "reference_id": reference, "notes": notes,
            // What the caller said when it is not a date we could read.
            "last_refill_date_text": if last.is_none() { last_raw.clone() } else { None },
        });
        let r = NewRefill {
            clinic_id: clinic.id,
            inbound_call_id: row.filter(|(_, c)| *c == clinic.id).map(|(id, _)| id),
            client_name: &name,
            client_phone: &phone,
            pet_name: &pet,
            species: species.as_deref(),
            medication_name: &medication,
            medication_strength: strength.as_deref(),
            last_refill_date: last,
            pharmacy_preference: column,
            pharmacy_name: pharmacy.as_deref(),
            metadata: &metadata,
        };
        if let Some(id) = db::refills::insert(&mut tx, &r).await? {
            inserted = Some((id, reference));
            break;
        }
    }
    let Some((id, reference)) = inserted else {
        return Err(sqlx::Error::Protocol("no free refill reference after 8 draws".into()).into());
    };
    let spoken = match (column, &pharmacy) {
        ("external", Some(p)) => format!("I've submitted your refill request for {medication} for {pet}. Your reference number is {reference}. Once approved, the prescription will be sent to {p}. Staff will call you if they have any questions."),
        _ => format!("I've submitted your refill request for {medication} for {pet}. Your reference number is {reference}. Once approved, you can pick it up at the clinic. Staff will call you when it's ready."),
    };
    let value = Reply::ok(
        spoken,
        json!({"request_id": id, "reference_id": reference, "medication": medication, "pet_name": pet,
               "status": InboxItemStatus::Pending.as_str(), "pharmacy_preference": preference.unwrap_or_else(|| "pickup".into()),
               "last_refill_date": last.map(iso_date)}),
    )
    .to_value();
    remember(ctx, &mut tx, call, &value).await?;
    tx.commit().await?;
    Ok(value)
}
