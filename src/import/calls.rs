//! `vapi_assistant_mappings` / `clinic_assistants` → `vapi_assistant_mappings`;
//! `scheduled_discharge_calls` → `outbound_calls` + `call_analysis`; `inbound_vapi_calls` →
//! `inbound_calls` + `call_analysis`; `scheduled_discharge_emails` → `outbound_emails`
//! (`docs/legacy-import.md#calls-and-emails`).

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::rows::{copy, flag, get, object_or_empty, opt, put_phone, set, text, uuid, Row, RowOut};
use super::Ctx;
use crate::db::import_target::{self as target_db, targets};
use crate::domain::legacy::{self, Skip};

/// The row's id and its V2 clinic, or the skip.
fn id_and_clinic(ctx: &Ctx, r: &Row) -> Result<(Uuid, Uuid), RowOut> {
    let Some(id) = uuid(r, "id") else {
        return Err(RowOut::skipped(Uuid::nil(), Skip::MissingRequired("id")));
    };
    match uuid(r, "_clinic_id") {
        Some(c) => Ok((id, ctx.clinic(c))),
        None => Err(RowOut::skipped(id, Skip::DanglingClinic)),
    }
}

pub fn mapping(ctx: &Ctx, r: &Row) -> RowOut {
    let (id, clinic) = match id_and_clinic(ctx, r) {
        Ok(v) => v,
        Err(out) => return out,
    };
    if text(r, "assistant_id").is_none() {
        return RowOut::skipped(id, Skip::MissingRequired("assistant_id"));
    }
    let mut m = Row::new();
    copy(
        r,
        &mut m,
        &[
            "id",
            "assistant_id",
            "assistant_name",
            "assistant_type",
            "environment",
            "created_at",
            "updated_at",
        ],
    );
    set(&mut m, "clinic_id", clinic.to_string());
    // A PIMS clinic outside this run's clinics would be a dangling reference: left empty.
    let pims = uuid(r, "pims_clinic_id").filter(|c| ctx.in_scope(*c));
    set(
        &mut m,
        "pims_clinic_id",
        opt(pims.map(|c| ctx.clinic(c).to_string())),
    );
    set(&mut m, "is_active", flag(r, "is_active", true));
    set(&mut m, "phone_number_id", Value::Null);
    RowOut::imported(id).write(&targets::VAPI_ASSISTANT_MAPPINGS, m)
}

/// The old per-clinic-name assistant list: an inbound mapping of the clinic of that name, or
/// merged into the mapping that already has its assistant id.
pub async fn clinic_assistants(
    conn: &mut PgConnection,
    ctx: &Ctx,
    rows: Vec<Row>,
) -> Result<Vec<RowOut>, sqlx::Error> {
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| text(r, "assistant_id").map(str::to_string))
        .collect();
    let existing = target_db::mappings_by_assistant(conn, &ids).await?;
    let mut outs = Vec::with_capacity(rows.len());
    for r in &rows {
        let (id, clinic) = match id_and_clinic(ctx, r) {
            Ok(v) => v,
            Err(out) => {
                outs.push(out);
                continue;
            }
        };
        let Some(assistant) = text(r, "assistant_id") else {
            outs.push(RowOut::skipped(id, Skip::MissingRequired("assistant_id")));
            continue;
        };
        match existing.iter().find(|(a, m)| a == assistant && *m != id) {
            Some((_, mapping)) => outs.push(RowOut::merged(id).map(
                "clinic_assistants",
                "vapi_assistant_mappings",
                *mapping,
            )),
            None => outs.push(clinic_assistant(r, id, clinic)),
        }
    }
    Ok(outs)
}

fn clinic_assistant(r: &Row, id: Uuid, clinic: Uuid) -> RowOut {
    let mut m = Row::new();
    copy(
        r,
        &mut m,
        &["id", "assistant_id", "created_at", "updated_at"],
    );
    set(&mut m, "clinic_id", clinic.to_string());
    set(&mut m, "assistant_name", Value::Null);
    set(&mut m, "assistant_type", legacy::ASSISTANT_INBOUND);
    set(&mut m, "environment", legacy::ASSISTANT_ENVIRONMENT);
    set(&mut m, "pims_clinic_id", Value::Null);
    set(&mut m, "is_active", flag(r, "is_active", true));
    set(&mut m, "phone_number_id", opt(text(r, "phone_number_id")));
    RowOut::imported(id).write(&targets::VAPI_ASSISTANT_MAPPINGS, m)
}

/// The columns every call table shares, copied as they are.
const CALL_COLUMNS: &[&str] = &[
    "id",
    "vapi_call_id",
    "assistant_id",
    "started_at",
    "ended_at",
    "ended_reason",
    "cost",
    "recording_url",
    "stereo_recording_url",
    "transcript",
    "transcript_messages",
    "cleaned_transcript",
    "created_at",
    "updated_at",
];

/// Old columns V2 has no column for, kept in the call's `metadata` under their old names.
fn legacy_metadata(r: &Row, keys: &[&str]) -> Value {
    let mut m = object_or_empty(r, "metadata");
    for k in keys {
        if let Some(v) = r.get(*k).filter(|v| !v.is_null()) {
            let name = if *k == "call_analysis" {
                "legacy_call_analysis"
            } else {
                k
            };
            m[name] = v.clone();
        }
    }
    m
}

/// The `call_analysis` row of a call (`domain::legacy::call_analysis`), if it has one.
fn analysis(r: &Row, id: Uuid, clinic: Uuid, outbound: bool) -> Option<Row> {
    let mut a = legacy::call_analysis(r)?;
    set(
        &mut a,
        "id",
        legacy::derived_id("call_analysis", &[&id.to_string()]).to_string(),
    );
    set(&mut a, "clinic_id", clinic.to_string());
    let (mine, other) = if outbound {
        ("outbound_call_id", "inbound_call_id")
    } else {
        ("inbound_call_id", "outbound_call_id")
    };
    set(&mut a, mine, id.to_string());
    set(&mut a, other, Value::Null);
    set(&mut a, "created_at", get(r, "created_at"));
    Some(a)
}

fn with_analysis(
    out: RowOut,
    old_table: &'static str,
    r: &Row,
    id: Uuid,
    clinic: Uuid,
    outbound: bool,
) -> RowOut {
    match analysis(r, id, clinic, outbound) {
        Some(a) => {
            let aid = uuid(&a, "id").unwrap_or(id);
            out.write(&targets::CALL_ANALYSIS, a)
                .map(old_table, "call_analysis", aid)
        }
        None => out,
    }
}

/// The columns both call tables take the same way: the shared ones, the table's own `extra`
/// ones copied as they are, the clinic, the translated status and the whole-second duration.
fn call_row(
    r: &Row,
    clinic: Uuid,
    status: crate::domain::status::CallStatus,
    extra: &[&str],
) -> Row {
    let mut c = Row::new();
    copy(r, &mut c, CALL_COLUMNS);
    copy(r, &mut c, extra);
    set(&mut c, "clinic_id", clinic.to_string());
    set(&mut c, "status", status.as_str());
    set(
        &mut c,
        "duration_seconds",
        opt(legacy::whole_number(r.get("duration_seconds"))),
    );
    c
}

pub fn outbound(ctx: &Ctx, r: &Row) -> RowOut {
    let (id, clinic) = match id_and_clinic(ctx, r) {
        Ok(v) => v,
        Err(out) => return out,
    };
    if uuid(r, "case_id").is_none() {
        return RowOut::skipped(id, Skip::MissingRequired("case_id"));
    }
    let Some(status) = text(r, "status").and_then(legacy::call_status) else {
        return RowOut::skipped(id, Skip::UnknownStatus);
    };
    let mut c = call_row(
        r,
        clinic,
        status,
        &[
            "case_id",
            "outbound_phone_number_id",
            "qstash_message_id",
            "review_category",
        ],
    );
    set(
        &mut c,
        "scheduled_for",
        opt(legacy::timestamp_text(r.get("scheduled_for"))),
    );
    set(
        &mut c,
        "metadata",
        legacy_metadata(
            r,
            &[
                "dynamic_variables",
                "knowledge_base_used",
                "condition_category",
                "urgent_reason_summary",
                "user_sentiment",
                "user_id",
                "call_analysis",
            ],
        ),
    );
    put_phone(&mut c, "customer_phone", text(r, "customer_phone"));
    let out = RowOut::imported(id).write(&targets::OUTBOUND_CALLS, c);
    with_analysis(out, "scheduled_discharge_calls", r, id, clinic, true)
}

pub fn inbound(ctx: &Ctx, r: &Row) -> RowOut {
    let (id, clinic) = match id_and_clinic(ctx, r) {
        Ok(v) => v,
        Err(out) => return out,
    };
    if text(r, "vapi_call_id").is_none() {
        return RowOut::skipped(id, Skip::MissingRequired("vapi_call_id"));
    }
    let Some(status) = text(r, "status").and_then(legacy::call_status) else {
        return RowOut::skipped(id, Skip::UnknownStatus);
    };
    let mut c = call_row(
        r,
        clinic,
        status,
        &[
            "phone_number_id",
            "type",
            "display_transcript",
            "outcome",
            "actions_taken",
            "extracted_caller_name",
            "extracted_pet_name",
        ],
    );
    set(
        &mut c,
        "use_display_transcript",
        flag(r, "use_display_transcript", false),
    );
    set(
        &mut c,
        "action_confirmed",
        flag(r, "action_confirmed", false),
    );
    set(
        &mut c,
        "metadata",
        legacy_metadata(
            r,
            &[
                "user_id",
                "clinic_name",
                "clinic_phone",
                "customer_number",
                "user_sentiment",
                "call_analysis",
            ],
        ),
    );
    let phone = text(r, "customer_phone").or_else(|| text(r, "customer_number"));
    put_phone(&mut c, "customer_phone", phone);
    put_phone(
        &mut c,
        "extracted_caller_phone",
        text(r, "extracted_caller_phone"),
    );
    let out = RowOut::imported(id).write(&targets::INBOUND_CALLS, c);
    with_analysis(out, "inbound_vapi_calls", r, id, clinic, false)
}

pub fn email(ctx: &Ctx, r: &Row) -> RowOut {
    let (id, clinic) = match id_and_clinic(ctx, r) {
        Ok(v) => v,
        Err(out) => return out,
    };
    if uuid(r, "case_id").is_none() {
        return RowOut::skipped(id, Skip::MissingRequired("case_id"));
    }
    if text(r, "recipient_email").is_none() {
        return RowOut::skipped(id, Skip::MissingRequired("recipient_email"));
    }
    let Some(status) = text(r, "status").and_then(legacy::email_status) else {
        return RowOut::skipped(id, Skip::UnknownStatus);
    };
    let mut e = Row::new();
    copy(
        r,
        &mut e,
        &[
            "id",
            "case_id",
            "recipient_email",
            "recipient_name",
            "subject",
            "html_content",
            "text_content",
            "scheduled_for",
            "sent_at",
            "resend_email_id",
            "qstash_message_id",
            "created_at",
            "updated_at",
        ],
    );
    set(&mut e, "clinic_id", clinic.to_string());
    set(&mut e, "status", status.as_str());
    let mut meta = object_or_empty(r, "metadata");
    if let Some(u) = r.get("user_id").filter(|v| !v.is_null()) {
        meta["user_id"] = u.clone();
    }
    set(&mut e, "metadata", meta);
    RowOut::imported(id).write(&targets::OUTBOUND_EMAILS, e)
}
