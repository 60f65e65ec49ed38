//! Call events → rows, inside the inbox's transaction.
//!
//! Each event locks its call row (`FOR UPDATE`, or the `ON CONFLICT DO UPDATE` of the inbound
//! upsert, which locks too), merges what it knows into the row in Rust ([`merge`]) and writes the
//! row back. Holding the row lock for the merge is what makes concurrent deliveries for one call
//! (status-update and end-of-call report racing) serialize instead of overwriting each other.
//!
//! Merge rules, chosen so any delivery order gives the same final row:
//! * nothing a previous event set is ever nulled out;
//! * the end-of-call report is authoritative for the fields it carries (its values win), other
//!   events only fill gaps;
//! * status only moves forward (queued < ringing < in-progress < terminal); once terminal, only
//!   the report may re-classify it (from the merged `ended_reason`).

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::{json, Value};
use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use super::payload::{self, call_facts, CallFacts};
use crate::domain::clinic_policy::{self, CallPolicy};
use crate::domain::status::CallStatus;
use crate::domain::vapi_status::{is_retry_worthy, terminal_status};
use crate::webhooks::inbox::{Outcome, ProcessError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    StatusUpdate,
    Report,
    /// VAPI's "assistant did not respond for a while" notice: not a hang-up. It may carry the
    /// call's end when sent late, but it never ends the call by itself.
    Hang,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Inbound,
    Outbound,
}

#[derive(sqlx::FromRow, Clone, Debug, Default, PartialEq)]
pub struct CallRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub case_id: Option<Uuid>,
    pub vapi_call_id: Option<String>,
    pub assistant_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub customer_phone: Option<String>,
    pub status: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_reason: Option<String>,
    pub duration_seconds: Option<i32>,
    pub cost: Option<f64>,
    pub recording_url: Option<String>,
    pub stereo_recording_url: Option<String>,
    pub transcript: Option<String>,
    pub transcript_messages: Option<Value>,
    pub metadata: Option<Value>,
    pub outcome: Option<String>,
    pub extracted_caller_phone: Option<String>,
    pub extracted_caller_name: Option<String>,
    pub extracted_pet_name: Option<String>,
}

const COMMON_COLUMNS: &str = "id, clinic_id, vapi_call_id, assistant_id, customer_phone, status,
    started_at, ended_at, ended_reason, duration_seconds, cost::float8 AS cost, recording_url,
    stereo_recording_url, transcript, transcript_messages, metadata";

/// Built only from constants (table, column lists, a fixed filter): nothing from a payload.
fn select_sql(table: Table, filter: &'static str) -> AssertSqlSafe<String> {
    AssertSqlSafe(match table {
        Table::Inbound => format!(
            "SELECT {COMMON_COLUMNS}, NULL::uuid AS case_id, phone_number_id, outcome,
                    extracted_caller_phone, extracted_caller_name, extracted_pet_name
             FROM inbound_calls WHERE {filter} FOR UPDATE"
        ),
        Table::Outbound => format!(
            "SELECT {COMMON_COLUMNS}, case_id, outbound_phone_number_id AS phone_number_id,
                    NULL::text AS outcome, NULL::text AS extracted_caller_phone,
                    NULL::text AS extracted_caller_name, NULL::text AS extracted_pet_name
             FROM outbound_calls WHERE {filter} FOR UPDATE"
        ),
    })
}

/// `authoritative` picks the new value over the old one; otherwise the old one is kept.
fn pick<T>(old: Option<T>, new: Option<T>, authoritative: bool) -> Option<T> {
    if authoritative {
        new.or(old)
    } else {
        old.or(new)
    }
}

/// The pure merge of one event into a row (see the module doc for the rules).
pub fn merge(row: &CallRow, f: &CallFacts, kind: EventKind) -> CallRow {
    let auth = kind == EventKind::Report;
    let c = row.clone();
    let ended_reason = pick(c.ended_reason, f.ended_reason.clone(), auth);
    let old_status = c
        .status
        .unwrap_or_else(|| CallStatus::Queued.as_str().into());
    let old_rank = CallStatus::rank_of(&old_status);
    let old_terminal = CallStatus::parse(&old_status).is_some_and(CallStatus::is_terminal);
    // A report always describes an ended call, whatever `status` it carries.
    let new_status: Option<CallStatus> = if auth {
        Some(terminal_status(ended_reason.as_deref()))
    } else {
        f.status.map(|s| {
            if s.is_terminal() {
                terminal_status(ended_reason.as_deref())
            } else {
                s
            }
        })
    };
    let status = match new_status {
        Some(new) if old_terminal && auth && new.is_terminal() => new.as_str().to_string(),
        Some(new) if new.rank() > old_rank => new.as_str().to_string(),
        _ => old_status,
    };
    let mut metadata = match c.metadata {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    if kind == EventKind::Hang {
        // The last hang notice, by the event's own time so a redelivery writes the same value.
        if let Some(t) = f.event_time {
            let newer = metadata
                .get("last_hang_at")
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .is_none_or(|prev| prev < t);
            if newer {
                metadata.insert("last_hang_at".into(), json!(t.to_rfc3339()));
            }
        }
    }
    CallRow {
        id: c.id,
        clinic_id: c.clinic_id,
        case_id: c.case_id,
        vapi_call_id: c.vapi_call_id.or_else(|| Some(f.vapi_call_id.clone())),
        assistant_id: pick(c.assistant_id, f.assistant_id.clone(), auth),
        phone_number_id: pick(c.phone_number_id, f.phone_number_id.clone(), auth),
        customer_phone: pick(c.customer_phone, f.customer_phone.clone(), auth),
        status: Some(status),
        started_at: pick(c.started_at, f.started_at, auth),
        ended_at: pick(c.ended_at, f.ended_at, auth),
        ended_reason,
        duration_seconds: pick(c.duration_seconds, f.duration_seconds, auth),
        cost: pick(c.cost, f.cost, auth),
        recording_url: pick(c.recording_url, f.recording_url.clone(), auth),
        stereo_recording_url: pick(c.stereo_recording_url, f.stereo_recording_url.clone(), auth),
        transcript: pick(c.transcript, f.transcript.clone(), auth),
        transcript_messages: pick(c.transcript_messages, f.transcript_messages.clone(), auth),
        metadata: Some(Value::Object(metadata)),
        outcome: c.outcome,
        extracted_caller_phone: c.extracted_caller_phone,
        extracted_caller_name: c.extracted_caller_name,
        extracted_pet_name: c.extracted_pet_name,
    }
}

pub async fn apply(
    conn: &mut PgConnection,
    msg: &Value,
    call: &Value,
    call_id: &str,
    kind: EventKind,
) -> Result<Outcome, ProcessError> {
    let facts = call_facts(msg, call, call_id, kind == EventKind::Report);
    let inbound = facts.call_type.as_deref() == Some("inboundPhoneCall");
    let (table, row) = if inbound {
        match inbound_row(conn, &facts).await? {
            Ok(row) => (Table::Inbound, row),
            Err(note) => return Ok(Outcome::unmatched(note)),
        }
    } else {
        match outbound_row(conn, &facts).await? {
            Ok(row) => (Table::Outbound, row),
            Err(Unmatched::Note(note)) => return Ok(Outcome::unmatched(note)),
            Err(Unmatched::NotOurs(note)) => return Ok(Outcome::skipped(note)),
        }
    };

    let mut merged = merge(&row, &facts, kind);
    let mut critical = false;
    if kind == EventKind::Report {
        let an = payload::analysis(msg, call);
        let analysis = if table == Table::Inbound {
            inbound_report(&mut merged, an)
        } else {
            an
        };
        critical = analysis.attention.as_ref().is_some_and(|a| a.is_critical());
        upsert_analysis(conn, table, &merged, &analysis, &facts).await?;
    }
    write_row(conn, table, &merged).await?;

    if table == Table::Outbound {
        if critical {
            if let Some(case_id) = merged.case_id {
                sqlx::query(
                    "UPDATE cases SET is_urgent = true WHERE id = $1 AND is_urgent IS NOT TRUE",
                )
                .bind(case_id)
                .execute(&mut *conn)
                .await?;
            }
        }
        if merged.status.as_deref() == Some(CallStatus::Failed.as_str())
            && is_retry_worthy(merged.ended_reason.as_deref())
        {
            create_retry(conn, &merged).await?;
        }
    }
    Ok(Outcome::processed(Some(merged.clinic_id)))
}

/// Finds or creates the inbound row. `Err(note)` = unmatched (no active mapping yet).
async fn inbound_row(
    conn: &mut PgConnection,
    f: &CallFacts,
) -> Result<Result<CallRow, String>, sqlx::Error> {
    let existing: Option<CallRow> = sqlx::query_as(select_sql(Table::Inbound, "vapi_call_id = $1"))
        .bind(&f.vapi_call_id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = existing {
        return Ok(Ok(row));
    }
    let Some(assistant) = f.assistant_id.as_deref() else {
        return Ok(Err("inbound call without call.assistantId".into()));
    };
    let clinic: Option<Uuid> = sqlx::query_scalar(
        "SELECT clinic_id FROM vapi_assistant_mappings WHERE assistant_id = $1 AND is_active",
    )
    .bind(assistant)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(clinic) = clinic else {
        return Ok(Err(format!(
            "no active vapi_assistant_mappings row for assistant {assistant}"
        )));
    };
    // Two events of a new call may race here: the upsert makes one insert and the other wait
    // for its row (the DO UPDATE takes the row lock we then hold for the merge).
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO inbound_calls (clinic_id, vapi_call_id, assistant_id, status)
         VALUES ($1, $2, $3, 'queued')
         ON CONFLICT (vapi_call_id) DO UPDATE SET vapi_call_id = EXCLUDED.vapi_call_id
         RETURNING id",
    )
    .bind(clinic)
    .bind(&f.vapi_call_id)
    .bind(assistant)
    .fetch_one(&mut *conn)
    .await?;
    let row: CallRow = sqlx::query_as(select_sql(Table::Inbound, "id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Ok(row))
}

enum Unmatched {
    /// Ours but not found yet: replayable.
    Note(String),
    /// A call that is neither inbound nor carries our metadata (e.g. a dashboard web call).
    NotOurs(String),
}

async fn outbound_row(
    conn: &mut PgConnection,
    f: &CallFacts,
) -> Result<Result<CallRow, Unmatched>, sqlx::Error> {
    let by_call: Option<CallRow> = sqlx::query_as(select_sql(Table::Outbound, "vapi_call_id = $1"))
        .bind(&f.vapi_call_id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = by_call {
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
    let row: Option<CallRow> = sqlx::query_as(select_sql(Table::Outbound, "id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
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

async fn write_row(conn: &mut PgConnection, table: Table, r: &CallRow) -> Result<(), sqlx::Error> {
    let (name, phone_col, extra) = match table {
        Table::Inbound => (
            "inbound_calls",
            "phone_number_id",
            ", outcome = $17, extracted_caller_phone = $18, extracted_caller_name = $19,
               extracted_pet_name = $20",
        ),
        Table::Outbound => ("outbound_calls", "outbound_phone_number_id", ""),
    };
    let sql = format!(
        "UPDATE {name} SET vapi_call_id = $2, assistant_id = $3, {phone_col} = $4,
            customer_phone = $5, status = $6, started_at = $7, ended_at = $8, ended_reason = $9,
            duration_seconds = $10, cost = $11::float8::numeric, recording_url = $12,
            stereo_recording_url = $13, transcript = $14, transcript_messages = $15,
            metadata = $16, updated_at = now() {extra}
         WHERE id = $1"
    );
    let mut q = // Table and column names are constants chosen by `table`; values are bound.
    sqlx::query(AssertSqlSafe(sql))
        .bind(r.id)
        .bind(&r.vapi_call_id)
        .bind(&r.assistant_id)
        .bind(&r.phone_number_id)
        .bind(&r.customer_phone)
        .bind(&r.status)
        .bind(r.started_at)
        .bind(r.ended_at)
        .bind(&r.ended_reason)
        .bind(r.duration_seconds)
        .bind(r.cost)
        .bind(&r.recording_url)
        .bind(&r.stereo_recording_url)
        .bind(&r.transcript)
        .bind(&r.transcript_messages)
        .bind(&r.metadata);
    if table == Table::Inbound {
        q = q
            .bind(&r.outcome)
            .bind(&r.extracted_caller_phone)
            .bind(&r.extracted_caller_name)
            .bind(&r.extracted_pet_name);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// Inbound-only parts of a report: incomplete-call sanitizing, outcome and caller details.
/// Returns the analysis as it is stored (with the sanitized structured data).
fn inbound_report(row: &mut CallRow, mut an: payload::Analysis) -> payload::Analysis {
    let incomplete = payload::is_incomplete_inbound_call(
        row.duration_seconds,
        row.transcript.as_deref(),
        row.transcript_messages.as_ref(),
        row.ended_reason.as_deref(),
    );
    let raw = an.structured_data.clone();
    let card_type = raw
        .as_ref()
        .and_then(|sd| payload::str_at(sd, &["card_type"]))
        .map(str::to_string);
    let stored = if incomplete {
        payload::sanitize_incomplete(raw.as_ref())
    } else {
        raw
    };
    // The appointment a booking tool wrote during the call (tools land in a later issue and
    // keep it under metadata.appointment).
    let tool_appointment = row
        .metadata
        .as_ref()
        .and_then(|m| m.get("appointment"))
        .filter(|a| a.is_object())
        .cloned();
    // Caller details come from the sanitized data: an incomplete call's action cards are not
    // trusted, so neither are the names in them.
    let caller = payload::caller(tool_appointment.as_ref(), stored.as_ref());
    row.outcome = payload::inbound_outcome(
        card_type.as_deref(),
        row.outcome.as_deref(),
        an.call_outcome.as_deref(),
        incomplete,
    );
    row.extracted_caller_phone = caller.phone.or(row.extracted_caller_phone.take());
    row.extracted_caller_name = caller.name.or(row.extracted_caller_name.take());
    row.extracted_pet_name = caller.pet_name.or(row.extracted_pet_name.take());
    if let Some(Value::Object(m)) = row.metadata.as_mut() {
        m.insert("incomplete_call".into(), json!(incomplete));
    }
    an.structured_data = stored;
    an
}

async fn upsert_analysis(
    conn: &mut PgConnection,
    table: Table,
    row: &CallRow,
    a: &payload::Analysis,
    f: &CallFacts,
) -> Result<(), sqlx::Error> {
    let col = match table {
        Table::Inbound => "inbound_call_id",
        Table::Outbound => "outbound_call_id",
    };
    let (types, severity, summary, flagged_at) = match &a.attention {
        Some(att) => (
            att.types.clone(),
            Some(att.severity.clone()),
            att.summary.clone(),
            // The event's own time: a redelivery must not move the flag's timestamp.
            Some(f.event_time.or(row.ended_at).unwrap_or_else(Utc::now)),
        ),
        None => (Vec::new(), None, None, None),
    };
    let sql = format!(
        "INSERT INTO call_analysis (clinic_id, {col}, call_outcome, call_outcome_details,
            pet_recovery_status, pet_health_details, medication_compliance, medication_details,
            owner_sentiment, owner_sentiment_details, escalation_triggered, escalation_details,
            follow_up_needed, follow_up_details, attention_types, attention_severity,
            attention_summary, attention_flagged_at, summary, success_evaluation, structured_data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21)
         ON CONFLICT ({col}) WHERE {col} IS NOT NULL DO UPDATE SET
            call_outcome = COALESCE(EXCLUDED.call_outcome, call_analysis.call_outcome),
            call_outcome_details = COALESCE(EXCLUDED.call_outcome_details, call_analysis.call_outcome_details),
            pet_recovery_status = COALESCE(EXCLUDED.pet_recovery_status, call_analysis.pet_recovery_status),
            pet_health_details = COALESCE(EXCLUDED.pet_health_details, call_analysis.pet_health_details),
            medication_compliance = COALESCE(EXCLUDED.medication_compliance, call_analysis.medication_compliance),
            medication_details = COALESCE(EXCLUDED.medication_details, call_analysis.medication_details),
            owner_sentiment = COALESCE(EXCLUDED.owner_sentiment, call_analysis.owner_sentiment),
            owner_sentiment_details = COALESCE(EXCLUDED.owner_sentiment_details, call_analysis.owner_sentiment_details),
            escalation_triggered = EXCLUDED.escalation_triggered OR COALESCE(call_analysis.escalation_triggered, false),
            escalation_details = COALESCE(EXCLUDED.escalation_details, call_analysis.escalation_details),
            follow_up_needed = EXCLUDED.follow_up_needed OR COALESCE(call_analysis.follow_up_needed, false),
            follow_up_details = COALESCE(EXCLUDED.follow_up_details, call_analysis.follow_up_details),
            attention_types = CASE WHEN cardinality(EXCLUDED.attention_types) > 0
                                   THEN EXCLUDED.attention_types ELSE call_analysis.attention_types END,
            attention_severity = COALESCE(EXCLUDED.attention_severity, call_analysis.attention_severity),
            attention_summary = COALESCE(EXCLUDED.attention_summary, call_analysis.attention_summary),
            attention_flagged_at = COALESCE(call_analysis.attention_flagged_at, EXCLUDED.attention_flagged_at),
            summary = COALESCE(EXCLUDED.summary, call_analysis.summary),
            success_evaluation = COALESCE(EXCLUDED.success_evaluation, call_analysis.success_evaluation),
            structured_data = COALESCE(EXCLUDED.structured_data, call_analysis.structured_data)"
    );
    // Table and column names are constants chosen by `table`; values are bound.
    sqlx::query(AssertSqlSafe(sql))
        .bind(row.clinic_id)
        .bind(row.id)
        .bind(&a.call_outcome)
        .bind(&a.call_outcome_details)
        .bind(&a.pet_recovery_status)
        .bind(&a.pet_health_details)
        .bind(&a.medication_compliance)
        .bind(&a.medication_details)
        .bind(&a.owner_sentiment)
        .bind(&a.owner_sentiment_details)
        .bind(a.escalation_triggered)
        .bind(&a.escalation_details)
        .bind(a.follow_up_needed)
        .bind(&a.follow_up_details)
        .bind(&types)
        .bind(&severity)
        .bind(&summary)
        .bind(flagged_at)
        .bind(&a.summary)
        .bind(&a.success_evaluation)
        .bind(&a.structured_data)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The attempt number stored by the dispatcher (first call = 1; absent means 1).
fn attempt_of(metadata: Option<&Value>) -> i64 {
    match metadata.and_then(|m| m.get("attempt")) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(1),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(1),
        _ => 1,
    }
    .max(1)
}

/// A new `outbound_calls` row for the next attempt, at most once per failed attempt (the
/// `NOT EXISTS` on `metadata.retry_of` makes redeliveries and the status-update/report pair
/// create one row; the original row's lock, held since the merge, serializes them).
async fn create_retry(conn: &mut PgConnection, row: &CallRow) -> Result<(), sqlx::Error> {
    type CallSettings = (String, Option<NaiveTime>, Option<NaiveTime>, Option<i32>);
    let settings: Option<CallSettings> = sqlx::query_as(
        "SELECT c.timezone, s.preferred_call_start_time, s.preferred_call_end_time,
                    s.max_call_retries
             FROM clinics c LEFT JOIN clinic_settings s ON s.clinic_id = c.id
             WHERE c.id = $1",
    )
    .bind(row.clinic_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((tz, start, end, max_retries)) = settings else {
        return Ok(());
    };
    let policy = CallPolicy::from_columns(row.clinic_id, Some(&tz), start, end, max_retries);
    let attempt = attempt_of(row.metadata.as_ref());
    if !policy.may_retry_after(attempt) {
        return Ok(());
    }
    let base = row.ended_at.unwrap_or_else(Utc::now) + clinic_policy::REDIAL_DELAY;
    let scheduled_for = crate::domain::clock::next_in_window(
        policy.tz,
        policy.window_start,
        policy.window_end,
        base,
    );
    sqlx::query(
        "INSERT INTO outbound_calls (clinic_id, case_id, assistant_id, outbound_phone_number_id,
                                     customer_phone, scheduled_for, status, metadata)
         SELECT o.clinic_id, o.case_id, o.assistant_id, o.outbound_phone_number_id,
                o.customer_phone, $2, 'queued',
                (COALESCE(o.metadata, '{}'::jsonb) - 'last_hang_at' - 'incomplete_call')
                  || jsonb_build_object('attempt', $3::bigint, 'retry_of', o.id::text,
                                        'retry_reason', o.ended_reason)
         FROM outbound_calls o
         WHERE o.id = $1
           AND NOT EXISTS (SELECT 1 FROM outbound_calls r WHERE r.metadata->>'retry_of' = $1::text)",
    )
    .bind(row.id)
    .bind(scheduled_for)
    .bind(attempt + 1)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: Option<&'static str>, reason: Option<&str>) -> CallFacts {
        CallFacts {
            vapi_call_id: "c1".into(),
            status: status.and_then(CallStatus::parse),
            ended_reason: reason.map(str::to_string),
            ..CallFacts::default()
        }
    }

    #[test]
    fn status_never_moves_back_and_report_reclassifies() {
        let row = CallRow {
            status: Some("ended".into()),
            ..CallRow::default()
        };
        let m = merge(
            &row,
            &facts(Some("in-progress"), None),
            EventKind::StatusUpdate,
        );
        assert_eq!(m.status.as_deref(), Some("ended"));
        let m = merge(
            &row,
            &facts(Some("ended"), Some("customer-did-not-answer")),
            EventKind::Report,
        );
        assert_eq!(m.status.as_deref(), Some("failed"));
        // A later status-update with another reason cannot re-classify a terminal row.
        let m2 = merge(
            &m,
            &facts(Some("ended"), Some("customer-ended-call")),
            EventKind::StatusUpdate,
        );
        assert_eq!(m2.status.as_deref(), Some("failed"));
        assert_eq!(m2.ended_reason.as_deref(), Some("customer-did-not-answer"));
    }

    #[test]
    fn order_independent_merge() {
        let start = CallRow::default();
        let su = CallFacts {
            started_at: DateTime::from_timestamp(1_700_000_000, 0),
            customer_phone: Some("+1".into()),
            ..facts(Some("in-progress"), None)
        };
        let report = CallFacts {
            started_at: DateTime::from_timestamp(1_700_000_001, 0),
            ended_at: DateTime::from_timestamp(1_700_000_100, 0),
            transcript: Some("AI: hi".into()),
            ..facts(Some("ended"), Some("customer-ended-call"))
        };
        let a = merge(
            &merge(&start, &su, EventKind::StatusUpdate),
            &report,
            EventKind::Report,
        );
        let b = merge(
            &merge(&start, &report, EventKind::Report),
            &su,
            EventKind::StatusUpdate,
        );
        assert_eq!(a, b);
        assert_eq!(a.status.as_deref(), Some("ended"));
        assert_eq!(a.customer_phone.as_deref(), Some("+1"));
    }

    #[test]
    fn attempts() {
        assert_eq!(attempt_of(None), 1);
        assert_eq!(attempt_of(Some(&json!({"attempt": 3}))), 3);
        assert_eq!(attempt_of(Some(&json!({"attempt": "2"}))), 2);
        assert_eq!(attempt_of(Some(&json!({"attempt": "x"}))), 1);
    }
}
