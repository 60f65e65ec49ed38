//! Call events → rows, inside the inbox's transaction (`docs/behaviour.md#vapi-calls`).
//!
//! Each event locks its call row (`FOR UPDATE`, or the `ON CONFLICT DO UPDATE` of the inbound
//! upsert, which locks too), merges what it knows into the row in Rust ([`super::merge`]) and
//! writes the row back. Holding the row lock for the merge is what makes concurrent deliveries
//! for one call (status-update and end-of-call report racing) serialize instead of overwriting
//! each other.
//!
//! May import: `domain`, `db`, `webhooks::inbox`, `webhooks::vapi`.

use chrono::Utc;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::analysis::{self, Analysis};
use super::facts::{call_facts, CallFacts};
use super::merge::{merge, EventKind};
use super::{inbound, retry};
use crate::db;
use crate::db::call_analysis::AnalysisWrite;
use crate::db::inbound_calls::CallRow;
use crate::db::vapi_assistants::CallKeys;
use crate::domain::provider_limits::call_is_over;
use crate::domain::status::CallStatus;
use crate::domain::vapi_status::{classify, is_retry_worthy};
use crate::webhooks::inbox::{Outcome, ProcessError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Inbound,
    Outbound,
}

/// Why an event found no row.
enum Unmatched {
    /// Ours but not found yet: replayable.
    Note(String),
    /// A call that is neither inbound nor carries our metadata (e.g. a dashboard web call).
    NotOurs(String),
}

pub async fn apply(
    conn: &mut PgConnection,
    msg: &Value,
    call: &Value,
    call_id: &str,
    kind: EventKind,
) -> Result<Outcome, ProcessError> {
    let facts = call_facts(msg, call, call_id, kind == EventKind::Report);
    if let Some(reason) = facts.ended_reason.as_deref() {
        warn_unknown_reason(reason);
    }
    let inbound = facts.call_type.as_deref() == Some("inboundPhoneCall");
    let found = if inbound {
        inbound_row(conn, &facts)
            .await?
            .map(|r| (Table::Inbound, r))
    } else {
        outbound_row(conn, &facts)
            .await?
            .map(|r| (Table::Outbound, r))
    };
    let (table, row) = match found {
        Ok(found) => found,
        Err(Unmatched::Note(note)) => return Ok(Outcome::unmatched(note)),
        Err(Unmatched::NotOurs(note)) => return Ok(Outcome::skipped(note)),
    };

    let mut merged = merge(&row, &facts, kind);
    let mut critical = false;
    if kind == EventKind::Report {
        let an = analysis::analysis(msg, call);
        let an = if table == Table::Inbound {
            inbound::apply_report(&mut merged, an)
        } else {
            an
        };
        critical = an.attention.as_ref().is_some_and(|a| a.is_critical());
        store_analysis(conn, table, &merged, &an, &facts).await?;
    }
    if kind == EventKind::Report {
        // The caller heard the booking through to the end of the call: its holds become
        // appointments (docs/behaviour.md#vapi-tools-holds).
        db::bookings::settle_holds_of_call(conn, call_id).await?;
    }
    match table {
        Table::Inbound => db::inbound_calls::write_merged(conn, &merged).await?,
        Table::Outbound => {
            db::outbound_calls::write_merged(conn, &merged).await?;
            // VAPI counts live calls: the end frees the call's slot for the next one
            // (`docs/behaviour.md#provider-limits`).
            if kind == EventKind::Report || call_is_over(merged.status.as_deref()) {
                db::provider_limits::release_call_slot(&mut *conn, merged.id).await?;
            }
            outbound_follow_ups(conn, &merged, critical).await?;
        }
    }
    Ok(Outcome::processed(Some(merged.clinic_id)))
}

/// `transfer-update`: the call was transferred (to a number, a SIP address or another
/// assistant). The row is found or created like for any call event, moved forward from the
/// call's own status, and the transfer appended to `metadata.transfers` (once per
/// destination and time, so a redelivery adds nothing) with `metadata.last_transfer`
/// (`docs/behaviour.md#vapi-transfer`).
pub async fn record_transfer(
    conn: &mut PgConnection,
    msg: &Value,
    call: &Value,
    call_id: &str,
) -> Result<Outcome, ProcessError> {
    let facts = call_facts(msg, call, call_id, false);
    let found = if facts.call_type.as_deref() == Some("inboundPhoneCall") {
        inbound_row(conn, &facts)
            .await?
            .map(|r| (Table::Inbound, r))
    } else {
        outbound_row(conn, &facts)
            .await?
            .map(|r| (Table::Outbound, r))
    };
    let (table, row) = match found {
        Ok(found) => found,
        Err(Unmatched::Note(note)) => return Ok(Outcome::unmatched(note)),
        Err(Unmatched::NotOurs(note)) => return Ok(Outcome::skipped(note)),
    };
    let mut merged = merge(&row, &facts, EventKind::StatusUpdate);
    add_transfer(&mut merged, &transfer_entry(msg, &facts));
    match table {
        Table::Inbound => db::inbound_calls::write_merged(conn, &merged).await?,
        Table::Outbound => db::outbound_calls::write_merged(conn, &merged).await?,
    }
    Ok(Outcome::processed(Some(merged.clinic_id)))
}

/// What one `transfer-update` says: where to, between which assistants, when (the event's own
/// time, so a redelivery writes the same entry).
fn transfer_entry(msg: &Value, facts: &CallFacts) -> Value {
    let name = |key: &str| {
        msg.get(key)
            .and_then(|a| a.get("name").or_else(|| a.get("id")))
            .cloned()
            .unwrap_or(Value::Null)
    };
    serde_json::json!({
        "destination": msg.get("destination").cloned().unwrap_or(Value::Null),
        "to_assistant": name("toAssistant"),
        "from_assistant": name("fromAssistant"),
        "at": facts.event_time.map(|t| t.to_rfc3339()),
    })
}

fn add_transfer(row: &mut CallRow, entry: &Value) {
    let mut meta = match row.metadata.take() {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let list = meta
        .entry(TRANSFERS)
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let mut last = entry.clone();
    if let Value::Array(items) = list {
        if !items.contains(entry) {
            items.push(entry.clone());
        }
        // The latest by the events' own times, whatever order they were delivered in.
        let at = |v: &Value| {
            v.get("at")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        if let Some(latest) = items.iter().max_by_key(|v| at(v)) {
            last = latest.clone();
        }
    }
    meta.insert(LAST_TRANSFER.into(), last);
    row.metadata = Some(Value::Object(meta));
}

/// Metadata keys of a call's transfers.
pub const TRANSFERS: &str = "transfers";
pub const LAST_TRANSFER: &str = "last_transfer";

/// Logs an `endedReason` the classifier does not know, once per value and process (such a call
/// is recorded as `failed`, `docs/behaviour.md#vapi-status`). The set is bounded so a sender
/// inventing reasons cannot grow it without limit.
fn warn_unknown_reason(reason: &str) {
    static SEEN: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::OnceLock::new();
    if classify(reason).is_some() {
        return;
    }
    let seen = SEEN.get_or_init(Default::default);
    let Ok(mut seen) = seen.lock() else { return };
    if seen.len() < 1024 && seen.insert(reason.to_string()) {
        tracing::warn!(
            ended_reason = reason,
            "unknown VAPI endedReason: the call is recorded as failed"
        );
    }
}

/// What an outbound call's end sets in motion: a critical flag marks the case urgent, an
/// unanswered call gets its retry row (`docs/behaviour.md#vapi-outbound-retry`).
async fn outbound_follow_ups(
    conn: &mut PgConnection,
    merged: &CallRow,
    critical: bool,
) -> Result<(), sqlx::Error> {
    if critical {
        if let Some(case_id) = merged.case_id {
            db::cases::mark_case_urgent(conn, case_id).await?;
        }
    }
    if merged.status.as_deref() == Some(CallStatus::Failed.as_str())
        && is_retry_worthy(merged.ended_reason.as_deref())
    {
        retry::create(conn, merged).await?;
    }
    Ok(())
}

/// Finds or creates the inbound row. The clinic is found by assistant id, else phone number id,
/// else squad id (`docs/behaviour.md#vapi-clinic`); unmatched while none has an active mapping.
async fn inbound_row(
    conn: &mut PgConnection,
    f: &CallFacts,
) -> Result<Result<CallRow, Unmatched>, sqlx::Error> {
    if let Some(row) = db::inbound_calls::lock_by_vapi_call(conn, &f.vapi_call_id).await? {
        return Ok(Ok(row));
    }
    let keys = CallKeys {
        assistant_id: f.assistant_id.as_deref(),
        phone_number_id: f.phone_number_id.as_deref(),
        squad_id: f.squad_id.as_deref(),
    };
    let Some(clinic) = db::vapi_assistants::active_clinic_of_call(&mut *conn, &keys).await? else {
        return Ok(Err(Unmatched::Note(format!(
            "no active vapi_assistant_mappings row for assistant {:?}, phone number {:?} or squad {:?}",
            keys.assistant_id, keys.phone_number_id, keys.squad_id
        ))));
    };
    let id =
        db::inbound_calls::upsert_new(conn, clinic, &f.vapi_call_id, keys.assistant_id).await?;
    Ok(Ok(db::inbound_calls::lock_by_id(conn, id).await?))
}

/// Finds the outbound row: by VAPI call id, else by the row id our dispatcher put in the
/// call's metadata.
async fn outbound_row(
    conn: &mut PgConnection,
    f: &CallFacts,
) -> Result<Result<CallRow, Unmatched>, sqlx::Error> {
    if let Some(row) = db::outbound_calls::lock_by_vapi_call(conn, &f.vapi_call_id).await? {
        return Ok(Ok(row));
    }
    let Some(raw_id) = f.outbound_call_id.as_deref() else {
        let note = format!(
            "no outbound_calls row for VAPI call {} and no assistantOverrides.metadata.outbound_call_id",
            f.vapi_call_id
        );
        return Ok(Err(
            if f.call_type.as_deref() == Some("outboundPhoneCall") {
                Unmatched::Note(note)
            } else {
                Unmatched::NotOurs(note)
            },
        ));
    };
    let Ok(id) = Uuid::parse_str(raw_id) else {
        return Ok(Err(Unmatched::Note(format!(
            "metadata.outbound_call_id {raw_id:?} is not a UUID"
        ))));
    };
    match db::outbound_calls::lock_by_id(conn, id).await? {
        None => Ok(Err(Unmatched::Note(format!("no outbound_calls row {id}")))),
        // Never re-point a row that already belongs to another VAPI call: its data would be
        // overwritten by a stranger's events.
        Some(r)
            if r.vapi_call_id
                .as_deref()
                .is_some_and(|v| v != f.vapi_call_id) =>
        {
            Ok(Err(Unmatched::Note(format!(
                "outbound_calls row {id} is linked to another VAPI call"
            ))))
        }
        Some(r) => Ok(Ok(r)),
    }
}

/// Upserts the report's analysis for the call row.
async fn store_analysis(
    conn: &mut PgConnection,
    table: Table,
    row: &CallRow,
    a: &Analysis,
    f: &CallFacts,
) -> Result<(), sqlx::Error> {
    let att = a.attention.as_ref();
    let write = AnalysisWrite {
        clinic_id: row.clinic_id,
        call_id: row.id,
        call_outcome: a.call_outcome.as_deref(),
        call_outcome_details: a.call_outcome_details.as_ref(),
        pet_recovery_status: a.pet_recovery_status.as_deref(),
        pet_health_details: a.pet_health_details.as_ref(),
        medication_compliance: a.medication_compliance.as_deref(),
        medication_details: a.medication_details.as_ref(),
        owner_sentiment: a.owner_sentiment.as_deref(),
        owner_sentiment_details: a.owner_sentiment_details.as_ref(),
        escalation_triggered: a.escalation_triggered,
        escalation_details: a.escalation_details.as_ref(),
        follow_up_needed: a.follow_up_needed,
        follow_up_details: a.follow_up_details.as_ref(),
        attention_types: att.map_or(&[][..], |t| t.types.as_slice()),
        attention_severity: att.map(|t| t.severity.as_str()),
        attention_summary: att.and_then(|t| t.summary.as_deref()),
        // The event's own time: a redelivery must not move the flag's timestamp.
        attention_flagged_at: att.map(|_| f.event_time.or(row.ended_at).unwrap_or_else(Utc::now)),
        summary: a.summary.as_deref(),
        success_evaluation: a.success_evaluation.as_deref(),
        structured_data: a.structured_data.as_ref(),
    };
    match table {
        Table::Inbound => db::call_analysis::upsert_inbound(conn, &write).await,
        Table::Outbound => db::call_analysis::upsert_outbound(conn, &write).await,
    }
}
