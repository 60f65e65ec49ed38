//! The old tables that map one-to-one (same id) onto one V2 table: columns copied by name, a
//! few renamed, the clinic resolved, statuses translated, optional references that do not
//! exist in V2 left empty (the old value kept in `metadata` where the table has one), old
//! columns without a V2 column kept in `metadata`, and a per-table fix-up for what moved shape
//! (`docs/legacy-import.md#one-to-one-tables`).

use std::collections::HashSet;

use serde_json::{json, Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::rows::{get, put_phone, text, uuid, Row, RowOut};
use super::Ctx;
use crate::db::import_target::{self as target_db, targets, Target};
use crate::domain::legacy::{self, Skip, Vocabulary};

type Fixup = fn(&Row, &mut Row) -> Result<(), Skip>;

pub struct Spec {
    pub old_table: &'static str,
    pub target: &'static Target,
    /// `(old column, V2 column)`.
    pub renames: &'static [(&'static str, &'static str)],
    /// Whether the V2 table has a `clinic_id` (the row's resolved clinic; none → skipped).
    pub clinic: bool,
    /// V2 columns that must not be empty.
    pub required: &'static [&'static str],
    pub status: Option<Vocabulary>,
    /// `(V2 column, V2 table)`: references set to NULL when the row does not exist in V2.
    pub optional_refs: &'static [(&'static str, &'static str)],
    /// Old columns kept in the V2 row's `metadata` under their old names.
    pub to_metadata: &'static [&'static str],
    /// Phone columns: E.164, else NULL (old value in `metadata.legacy_<column>`).
    pub phones: &'static [&'static str],
    pub fixup: Option<Fixup>,
}

const fn spec(old_table: &'static str, target: &'static Target) -> Spec {
    Spec {
        old_table,
        target,
        renames: &[],
        clinic: true,
        required: &[],
        status: None,
        optional_refs: &[],
        to_metadata: &[],
        phones: &[],
        fixup: None,
    }
}

const USERS: &str = "users";

pub const SPECS: &[Spec] = &[
    Spec {
        required: &["email"],
        optional_refs: &[("invited_by", USERS), ("accepted_by", USERS)],
        fixup: Some(invitation),
        ..spec("clinic_invitations", &targets::CLINIC_INVITATIONS)
    },
    Spec {
        required: &["name"],
        ..spec("providers", &targets::PROVIDERS)
    },
    Spec {
        required: &["case_id"],
        ..spec("soap_notes", &targets::SOAP_NOTES)
    },
    Spec {
        required: &["case_id"],
        optional_refs: &[("soap_note_id", "soap_notes")],
        to_metadata: &["extracted_from", "user_id"],
        ..spec("vital_signs", &targets::VITAL_SIGNS)
    },
    Spec {
        renames: &[("user_id", "created_by")],
        required: &["name"],
        optional_refs: &[("created_by", USERS)],
        ..spec(
            "temp_discharge_summary_templates",
            &targets::DISCHARGE_TEMPLATES,
        )
    },
    Spec {
        renames: &[("user_id", "created_by")],
        required: &["template_name"],
        optional_refs: &[("created_by", USERS)],
        ..spec("temp_soap_templates", &targets::SOAP_TEMPLATES)
    },
    Spec {
        clinic: false,
        required: &["name", "type"],
        fixup: Some(ai_template),
        ..spec("templates", &targets::AI_TEMPLATES)
    },
    Spec {
        renames: &[("user_id", "created_by")],
        required: &["case_id"],
        optional_refs: &[
            ("created_by", USERS),
            ("soap_note_id", "soap_notes"),
            ("template_id", "discharge_templates"),
        ],
        ..spec("discharge_summaries", &targets::DISCHARGE_SUMMARIES)
    },
    Spec {
        renames: &[("_inbound_call_id", "inbound_call_id")],
        optional_refs: &[
            ("inbound_call_id", "inbound_calls"),
            ("assigned_to_user_id", USERS),
        ],
        to_metadata: &["vapi_call_id"],
        phones: &["caller_phone"],
        ..spec("clinic_messages", &targets::CLINIC_MESSAGES)
    },
    Spec {
        renames: &[("_inbound_call_id", "inbound_call_id")],
        required: &["medication_name"],
        optional_refs: &[("inbound_call_id", "inbound_calls"), ("approved_by", USERS)],
        to_metadata: &["vapi_call_id"],
        phones: &["client_phone", "pharmacy_phone"],
        ..spec("refill_requests", &targets::REFILL_REQUESTS)
    },
    Spec {
        renames: &[("neo_appointment_id", "pims_appointment_id")],
        required: &["time_range"],
        status: Some(Vocabulary::Appointment),
        phones: &["client_phone"],
        ..spec("pims_appointments", &targets::SCHEDULE_APPOINTMENTS)
    },
    Spec {
        renames: &[
            ("idexx_appointment_id", "pims_appointment_id"),
            ("idexx_client_id", "pims_client_id"),
            ("idexx_patient_id", "pims_patient_id"),
            ("_inbound_call_id", "inbound_call_id"),
        ],
        required: &["time_range"],
        status: Some(Vocabulary::Booking),
        optional_refs: &[("inbound_call_id", "inbound_calls")],
        to_metadata: &[
            "rescheduled_from_id",
            "provider_name",
            "appointment_type",
            "room_id",
            "rescheduled_to_id",
            "slot_id",
            "booked_at_sync_id",
            "sync_freshness_at_booking",
        ],
        phones: &["client_phone"],
        fixup: Some(booking),
        ..spec("appointment_bookings", &targets::VAPI_BOOKINGS)
    },
    Spec {
        fixup: Some(schedule_config),
        ..spec("clinic_schedule_config", &targets::CLINIC_SCHEDULE_CONFIG)
    },
    Spec {
        required: &["name", "start_time", "end_time"],
        ..spec("clinic_blocked_periods", &targets::CLINIC_BLOCKED_PERIODS)
    },
    spec("schedule_syncs", &targets::SCHEDULE_SYNCS),
    Spec {
        required: &["action"],
        optional_refs: &[
            ("booking_id", "vapi_bookings"),
            ("appointment_id", "schedule_appointments"),
        ],
        fixup: Some(audit_log),
        ..spec("appointment_audit_log", &targets::APPOINTMENT_AUDIT_LOG)
    },
    spec("auto_scheduling_config", &targets::AUTO_SCHEDULING_CONFIG),
    Spec {
        required: &["case_type"],
        ..spec(
            "clinic_case_type_cadence",
            &targets::CLINIC_CASE_TYPE_CADENCE,
        )
    },
    Spec {
        clinic: false,
        status: Some(Vocabulary::Run),
        ..spec("auto_scheduling_runs", &targets::AUTO_SCHEDULING_RUNS)
    },
    Spec {
        renames: &[
            ("scheduled_call_id", "outbound_call_id"),
            ("scheduled_email_id", "outbound_email_id"),
        ],
        required: &["case_id"],
        status: Some(Vocabulary::ScheduledItem),
        optional_refs: &[
            ("outbound_call_id", "outbound_calls"),
            ("outbound_email_id", "outbound_emails"),
            ("run_id", "auto_scheduling_runs"),
            ("cancelled_by", USERS),
        ],
        ..spec("auto_scheduled_items", &targets::AUTO_SCHEDULED_ITEMS)
    },
    Spec {
        renames: &[("user_id", "created_by")],
        status: Some(Vocabulary::Batch),
        optional_refs: &[("created_by", USERS)],
        ..spec("discharge_batches", &targets::DISCHARGE_BATCHES)
    },
    Spec {
        renames: &[
            ("call_id", "outbound_call_id"),
            ("email_id", "outbound_email_id"),
        ],
        clinic: false,
        required: &["batch_id", "case_id"],
        status: Some(Vocabulary::BatchItem),
        optional_refs: &[
            ("outbound_call_id", "outbound_calls"),
            ("outbound_email_id", "outbound_emails"),
            ("patient_id", "patients"),
        ],
        ..spec("discharge_batch_items", &targets::DISCHARGE_BATCH_ITEMS)
    },
    Spec {
        clinic: false,
        required: &["email"],
        to_metadata: &["confirmed_at", "ip", "user_agent"],
        ..spec("waitlist_signups", &targets::WAITLIST_SIGNUPS)
    },
    Spec {
        clinic: false,
        required: &["email"],
        to_metadata: &["status"],
        phones: &["phone"],
        ..spec("contact_submissions", &targets::CONTACT_SUBMISSIONS)
    },
    Spec {
        fixup: Some(idexx_credentials),
        ..spec("idexx_credentials", &targets::PIMS_CREDENTIALS)
    },
    Spec {
        fixup: Some(weave_credentials),
        ..spec("weave_credentials", &targets::PIMS_CREDENTIALS)
    },
    Spec {
        required: &["session_type"],
        optional_refs: &[("credential_id", "pims_credentials")],
        to_metadata: &["user_id", "discharge_calls_scheduled"],
        fixup: Some(sync_session),
        ..spec("idexx_sync_sessions", &targets::PIMS_SYNC_SESSIONS)
    },
    Spec {
        required: &["action_type", "resource_type", "status"],
        optional_refs: &[("sync_session_id", "pims_sync_sessions")],
        fixup: Some(sync_audit),
        ..spec("idexx_sync_audit_log", &targets::PIMS_SYNC_AUDIT_LOG)
    },
    Spec {
        required: &["status"],
        fixup: Some(case_sync_audit),
        ..spec("case_sync_audits", &targets::PIMS_SYNC_AUDIT_LOG)
    },
    Spec {
        required: &["status"],
        optional_refs: &[("sync_session_id", "pims_sync_sessions")],
        fixup: Some(consultation_sync),
        ..spec("consultation_sync_status", &targets::PIMS_SYNC_AUDIT_LOG)
    },
    Spec {
        required: &["entity_type", "entity_id", "pims_type", "external_id"],
        ..spec("pims_mappings", &targets::PIMS_MAPPINGS)
    },
    Spec {
        clinic: false,
        required: &["team_id"],
        optional_refs: &[("clinic_id", "clinics")],
        fixup: Some(slack_workspace),
        ..spec("slack_workspaces", &targets::SLACK_WORKSPACES)
    },
    Spec {
        clinic: false,
        required: &["workspace_id", "channel_id"],
        optional_refs: &[("added_by", USERS)],
        fixup: Some(slack_channel),
        ..spec("slack_reminder_channels", &targets::SLACK_CHANNELS)
    },
    Spec {
        clinic: false,
        required: &["channel_id", "title"],
        optional_refs: &[("created_by", USERS)],
        fixup: Some(slack_task),
        ..spec("slack_tasks", &targets::SLACK_TASKS)
    },
    Spec {
        clinic: false,
        required: &["task_id", "completion_date"],
        ..spec("slack_task_completions", &targets::SLACK_TASK_COMPLETIONS)
    },
];

pub fn spec_of(table: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.old_table == table)
}

/// A page of a one-to-one table.
pub async fn page(
    conn: &mut PgConnection,
    ctx: &Ctx,
    spec: &Spec,
    rows: Vec<Row>,
) -> Result<Vec<RowOut>, sqlx::Error> {
    let mut outs: Vec<(RowOut, Option<Row>)> = rows.iter().map(|r| one(ctx, spec, r)).collect();
    for (col, table) in spec.optional_refs {
        let ids: Vec<Uuid> = outs
            .iter()
            .filter_map(|(_, n)| n.as_ref().and_then(|n| uuid(n, col)))
            .collect();
        if ids.is_empty() {
            continue;
        }
        let found: HashSet<Uuid> = target_db::existing_ids(conn, table, &ids)
            .await?
            .into_iter()
            .collect();
        for (_, n) in outs.iter_mut() {
            let Some(n) = n else { continue };
            if let Some(id) = uuid(n, col).filter(|id| !found.contains(id)) {
                n.insert((*col).to_string(), Value::Null);
                if let Some(Value::Object(m)) = n.get_mut("metadata") {
                    m.insert(format!("legacy_{col}"), Value::String(id.to_string()));
                }
            }
        }
    }
    Ok(outs
        .into_iter()
        .map(|(out, n)| match n {
            Some(n) => out.write(spec.target, n),
            None => out,
        })
        .collect())
}

/// One old row: its outcome and, unless skipped, the V2 row (references not yet checked).
fn one(ctx: &Ctx, spec: &Spec, r: &Row) -> (RowOut, Option<Row>) {
    let Some(id) = uuid(r, "id") else {
        return (
            RowOut::skipped(Uuid::nil(), Skip::MissingRequired("id")),
            None,
        );
    };
    match build(ctx, spec, r) {
        Ok(n) => (RowOut::imported(id), Some(n)),
        Err(skip) => (RowOut::skipped(id, skip), None),
    }
}

fn build(ctx: &Ctx, spec: &Spec, r: &Row) -> Result<Row, Skip> {
    let mut n = Row::new();
    for col in spec.target.columns {
        let src = spec
            .renames
            .iter()
            .find(|(_, new)| new == col)
            .map_or(*col, |(old, _)| *old);
        n.insert((*col).to_string(), get(r, src));
    }
    if n.get("created_at").is_some_and(Value::is_null) {
        n.insert("created_at".into(), get(r, "updated_at"));
    }
    if spec.clinic {
        let clinic = uuid(r, "_clinic_id").ok_or(Skip::DanglingClinic)?;
        n.insert(
            "clinic_id".into(),
            Value::String(ctx.clinic(clinic).to_string()),
        );
    }
    if let Some(v) = spec.status {
        let old = text(r, "status").unwrap_or_default();
        let s = legacy::kept_status(v, old).ok_or(Skip::UnknownStatus)?;
        n.insert("status".into(), Value::String(s.into()));
    }
    if spec.target.columns.contains(&"metadata") {
        let mut m = match r.get("metadata") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        for k in spec.to_metadata {
            if let Some(v) = r.get(*k).filter(|v| !v.is_null()) {
                m.insert((*k).to_string(), v.clone());
            }
        }
        n.insert("metadata".into(), Value::Object(m));
    }
    for col in spec.phones {
        let raw = n.get(*col).and_then(Value::as_str).map(str::to_string);
        put_phone(&mut n, col, raw.as_deref());
    }
    if let Some(f) = spec.fixup {
        f(r, &mut n)?;
    }
    for col in spec.required {
        if n.get(*col)
            .is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()))
        {
            return Err(Skip::MissingRequired(col));
        }
    }
    Ok(n)
}

fn invitation(r: &Row, n: &mut Row) -> Result<(), Skip> {
    let status = legacy::invitation_status(text(r, "status"));
    n.insert("status".into(), json!(status));
    Ok(())
}

/// A booking's reschedule link points at another booking of the same table, possibly one later
/// in id order (not yet written): kept in `metadata.rescheduled_from_id` only, so every run
/// writes the same row.
fn booking(_r: &Row, n: &mut Row) -> Result<(), Skip> {
    n.insert("rescheduled_from_id".into(), Value::Null);
    Ok(())
}

/// `ai_templates.content` is text; the old column was JSON: kept as its JSON text.
fn ai_template(r: &Row, n: &mut Row) -> Result<(), Skip> {
    if let Some(v) = r.get("content").filter(|v| !v.is_null() && !v.is_string()) {
        n.insert("content".into(), Value::String(v.to_string()));
    }
    Ok(())
}

/// Slot capacity from the old default capacity (V2 requires ≥ 1; default 2), and the old
/// opening hours as `daily_hours`.
fn schedule_config(r: &Row, n: &mut Row) -> Result<(), Skip> {
    let cap = legacy::whole_number(r.get("default_capacity"))
        .filter(|c| *c >= 1)
        .unwrap_or(2);
    n.insert("slot_capacity".into(), Value::from(cap));
    let hours = legacy::daily_hours(
        text(r, "open_time"),
        text(r, "close_time"),
        r.get("days_of_week"),
    );
    n.insert("daily_hours".into(), hours.unwrap_or(Value::Null));
    Ok(())
}

/// The old audit log kept ids and times as text: ids that parse become references, times
/// become one-instant ranges, the IDEXX id the PIMS id.
fn audit_log(r: &Row, n: &mut Row) -> Result<(), Skip> {
    let id = |k: &str| text(r, k).and_then(|s| Uuid::parse_str(s.trim()).ok());
    n.insert("booking_id".into(), json!(id("vapi_booking_id")));
    n.insert("appointment_id".into(), json!(id("appointment_id")));
    n.insert("pims_appointment_id".into(), get(r, "idexx_appointment_id"));
    for (old, new) in [
        ("old_datetime", "old_time_range"),
        ("new_datetime", "new_time_range"),
    ] {
        let range = legacy::timestamp_text(r.get(old)).map(|t| format!("[\"{t}\",\"{t}\"]"));
        n.insert(new.into(), json!(range));
    }
    Ok(())
}

fn credentials(r: &Row, n: &mut Row, pims_type: &str, keys: &[&str]) {
    let mut c = Map::new();
    for k in keys {
        c.insert((*k).to_string(), get(r, k));
    }
    n.insert("pims_type".into(), Value::String(pims_type.into()));
    n.insert("credentials_encrypted".into(), Value::Object(c));
}

/// IDEXX credentials, copied verbatim (still encrypted as they were) into one JSON object.
fn idexx_credentials(r: &Row, n: &mut Row) -> Result<(), Skip> {
    credentials(
        r,
        n,
        legacy::PIMS_IDEXX,
        &[
            "username_encrypted",
            "password_encrypted",
            "company_id_encrypted",
        ],
    );
    Ok(())
}

fn weave_credentials(r: &Row, n: &mut Row) -> Result<(), Skip> {
    credentials(
        r,
        n,
        legacy::PIMS_WEAVE,
        &["username_encrypted", "password_encrypted"],
    );
    Ok(())
}

fn sync_session(r: &Row, n: &mut Row) -> Result<(), Skip> {
    let num = |k: &str| legacy::whole_number(r.get(k)).unwrap_or(0);
    n.insert("pims_type".into(), Value::String(legacy::PIMS_IDEXX.into()));
    n.insert(
        "items_synced".into(),
        Value::from(num("appointments_synced") + num("consultations_synced")),
    );
    n.insert(
        "items_failed".into(),
        Value::from(num("consultations_failed")),
    );
    n.insert(
        "next_scheduled_sync".into(),
        json!(legacy::timestamp_text(r.get("next_scheduled_sync"))),
    );
    Ok(())
}

/// Old columns of the merged sync tables without a V2 column: kept in `details`.
fn details(r: &Row, n: &mut Row, keys: &[&str]) {
    let mut d = match n.get("details") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for k in keys {
        if let Some(v) = r.get(*k).filter(|v| !v.is_null()) {
            d.insert((*k).to_string(), v.clone());
        }
    }
    n.insert("details".into(), Value::Object(d));
}

fn sync_audit(r: &Row, n: &mut Row) -> Result<(), Skip> {
    let rid = text(r, "resource_id").and_then(|s| Uuid::parse_str(s.trim()).ok());
    n.insert("resource_id".into(), json!(rid));
    details(
        r,
        n,
        &["resource_id", "ip_address", "user_agent", "user_id"],
    );
    Ok(())
}

fn case_sync_audit(r: &Row, n: &mut Row) -> Result<(), Skip> {
    let action = text(r, "sync_type").unwrap_or(legacy::SYNC_ACTION_CASES);
    n.insert("action_type".into(), Value::String(action.into()));
    n.insert(
        "resource_type".into(),
        Value::String(legacy::SYNC_RESOURCE_CASES.into()),
    );
    n.insert("sync_session_id".into(), Value::Null);
    n.insert("resource_id".into(), Value::Null);
    details(
        r,
        n,
        &[
            "error_message",
            "appointments_found",
            "cases_created",
            "cases_updated",
            "cases_skipped",
            "cases_deleted",
            "total_items",
            "processed_items",
            "progress_percentage",
            "last_progress_update",
            "updated_at",
        ],
    );
    Ok(())
}

fn consultation_sync(r: &Row, n: &mut Row) -> Result<(), Skip> {
    n.insert(
        "action_type".into(),
        Value::String(legacy::SYNC_ACTION_CONSULTATION.into()),
    );
    n.insert(
        "resource_type".into(),
        Value::String(legacy::SYNC_RESOURCE_CASE.into()),
    );
    n.insert("resource_id".into(), get(r, "case_id"));
    details(
        r,
        n,
        &[
            "neo_consultation_id",
            "error_message",
            "metadata",
            "synced_at",
            "reconciled_at",
            "updated_at",
        ],
    );
    Ok(())
}

/// The workspace's clinic: the clinic whose name is the workspace's team name, if any.
fn slack_workspace(r: &Row, n: &mut Row) -> Result<(), Skip> {
    n.insert("clinic_id".into(), get(r, "_clinic_id"));
    Ok(())
}

/// The old Slack user id is not a V2 user: `added_by` only when it is one of our user ids.
fn slack_channel(r: &Row, n: &mut Row) -> Result<(), Skip> {
    let by = text(r, "added_by_user_id").and_then(|s| Uuid::parse_str(s).ok());
    n.insert("added_by".into(), json!(by));
    Ok(())
}

fn slack_task(r: &Row, n: &mut Row) -> Result<(), Skip> {
    let by = text(r, "created_by_user_id").and_then(|s| Uuid::parse_str(s).ok());
    n.insert("created_by".into(), json!(by));
    Ok(())
}
