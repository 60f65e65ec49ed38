//! `clinics` → `clinics` + `clinic_settings`; `users` → `users` + `user_clinic_access`;
//! `user_clinic_access` → `user_clinic_access` (`docs/legacy-import.md#identity`).

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::rows::{copy, flag, get, object, opt, put_phone, rename, set, text, uuid, Row, RowOut};
use super::Ctx;
use crate::db::import_target::{self as target_db, targets};
use crate::domain::legacy::{self, Skip};

/// Old clinics. A clinic whose Clerk organization already has a V2 clinic (created by the
/// Clerk webhook before the cut-over) is merged into it: every row of the old clinic then goes
/// to that V2 clinic.
pub async fn clinics(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    rows: Vec<Row>,
) -> Result<Vec<RowOut>, sqlx::Error> {
    let orgs: Vec<String> = rows
        .iter()
        .filter_map(|r| text(r, "clerk_org_id").map(str::to_string))
        .collect();
    let existing = target_db::clinics_by_org(conn, &orgs).await?;
    let mut outs = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(id) = uuid(&r, "id") else { continue };
        let org = text(&r, "clerk_org_id");
        let v2 = existing
            .iter()
            .find(|(o, _)| Some(o.as_str()) == org)
            .map(|(_, v)| *v)
            .unwrap_or(id);
        if v2 != id {
            ctx.clinic_ids.insert(id, v2);
            let out = RowOut::merged(id).map("clinics", "clinics", v2);
            outs.push(out.write(&targets::CLINIC_SETTINGS, settings(&r, v2)));
            continue;
        }
        outs.push(clinic(&r, id));
    }
    Ok(outs)
}

fn clinic(r: &Row, id: Uuid) -> RowOut {
    if text(r, "name").is_none() {
        return RowOut::skipped(id, Skip::MissingRequired("name"));
    }
    if text(r, "slug").is_none() {
        return RowOut::skipped(id, Skip::MissingRequired("slug"));
    }
    let mut c = Row::new();
    copy(
        r,
        &mut c,
        &[
            "id",
            "name",
            "slug",
            "email",
            "business_hours",
            "er_config",
            "primary_color",
            "logo_url",
            "subscription_tier",
            "subscription_status",
            "created_at",
            "updated_at",
        ],
    );
    for k in [
        "clerk_org_id",
        "stripe_customer_id",
        "stripe_subscription_id",
    ] {
        set(&mut c, k, opt(text(r, k)));
    }
    put_phone(&mut c, "phone", text(r, "phone"));
    set(&mut c, "address", address(r));
    set(
        &mut c,
        "timezone",
        text(r, "timezone").unwrap_or(legacy::default_timezone()),
    );
    set(&mut c, "pims_type", legacy::pims_type(text(r, "pims_type")));
    for k in ["current_period_start", "current_period_end"] {
        set(&mut c, k, opt(legacy::timestamp_text(r.get(k))));
    }
    set(&mut c, "is_active", flag(r, "is_active", true));
    RowOut::imported(id)
        .write(&targets::CLINICS, c)
        .write(&targets::CLINIC_SETTINGS, settings(r, id))
}

/// `clinics.address` (JSONB `{line1, …}`): the old `address_config` when it is an object, else
/// the old one-line `address` as `line1`.
fn address(r: &Row) -> Value {
    match r.get("address_config") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => match text(r, "address") {
            Some(a) => serde_json::json!({ "line1": a }),
            None => Value::Null,
        },
    }
}

/// `clinic_settings` of a clinic: the settings columns of one of its users (`_settings`: those
/// whose home clinic it is first, then the oldest), the clinic's e-mail branding, V2 defaults for
/// the rest.
fn settings(r: &Row, clinic_id: Uuid) -> Row {
    let user = r.get("_settings").cloned().map(object).unwrap_or_default();
    let mut s = Row::new();
    set(
        &mut s,
        "id",
        legacy::derived_id("clinic_settings", &[&clinic_id.to_string()]).to_string(),
    );
    set(&mut s, "clinic_id", clinic_id.to_string());
    copy(
        &user,
        &mut s,
        &[
            "voicemail_detection_enabled",
            "voicemail_hangup_on_detection",
            "voicemail_message",
            "max_call_retries",
            "preferred_email_start_time",
            "preferred_email_end_time",
            "preferred_call_start_time",
            "preferred_call_end_time",
            "email_delay_days",
            "call_delay_days",
            "batch_include_manual_transcriptions",
            "emergency_phone",
            "test_mode_enabled",
            "test_contact_name",
            "test_contact_email",
            "test_contact_phone",
        ],
    );
    rename(
        &user,
        &mut s,
        &[("batch_include_idexx_notes", "batch_include_pims_notes")],
    );
    for k in ["emergency_phone", "test_contact_phone"] {
        put_phone(&mut s, k, text(&user, k));
    }
    copy(r, &mut s, &["email_header_text", "email_footer_text"]);
    for (k, v) in legacy::settings_defaults() {
        if s.get(&k).is_none_or(Value::is_null) {
            s.insert(k, v);
        }
    }
    s
}

/// An old user: the lean `users` row (placeholder Clerk id when none), and a membership of the
/// clinic named by the old `users.clinic_name` when the old `user_clinic_access` has none for
/// it (that table's rows are imported by [`access`]).
pub fn user(ctx: &Ctx, r: &Row) -> RowOut {
    let Some(id) = uuid(r, "id") else {
        return RowOut::skipped(Uuid::nil(), Skip::MissingRequired("id"));
    };
    let Some(email) = text(r, "email") else {
        return RowOut::skipped(id, Skip::MissingRequired("email"));
    };
    let mut u = Row::new();
    copy(
        r,
        &mut u,
        &[
            "id",
            "first_name",
            "last_name",
            "role",
            "avatar_url",
            "created_at",
            "updated_at",
        ],
    );
    set(&mut u, "email", email.trim());
    set(
        &mut u,
        "clerk_user_id",
        legacy::clerk_user_id(text(r, "clerk_user_id"), id),
    );
    set(
        &mut u,
        "onboarding_completed",
        flag(r, "onboarding_completed", false),
    );
    let mut out = RowOut::imported(id).write(&targets::USERS, u);
    let listed = |c: Uuid| {
        r.get("_uca_clinics")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(&c.to_string())))
    };
    if let Some(c) = uuid(r, "_name_clinic") {
        if ctx.in_scope(c) && !listed(c) {
            let v2 = ctx.clinic(c);
            let mut a = Row::new();
            let aid = legacy::derived_id("user_clinic_access", &[&id.to_string(), &c.to_string()]);
            set(&mut a, "id", aid.to_string());
            set(&mut a, "user_id", id.to_string());
            set(&mut a, "clinic_id", v2.to_string());
            set(&mut a, "role", legacy::access_role(text(r, "role")));
            set(&mut a, "is_primary", true);
            set(&mut a, "granted_by", Value::Null);
            set(&mut a, "granted_at", get(r, "created_at"));
            set(&mut a, "created_at", get(r, "created_at"));
            out = out.write(&targets::USER_CLINIC_ACCESS, a);
        }
    }
    out
}

/// An old membership row (its user must have been imported: the old table referenced
/// `auth.users`, whose ids are the old `users` ids).
pub fn access(ctx: &Ctx, r: &Row) -> RowOut {
    let Some(id) = uuid(r, "id") else {
        return RowOut::skipped(Uuid::nil(), Skip::MissingRequired("id"));
    };
    let Some(clinic) = uuid(r, "_clinic_id") else {
        return RowOut::skipped(id, Skip::DanglingClinic);
    };
    if uuid(r, "user_id").is_none() {
        return RowOut::skipped(id, Skip::MissingRequired("user_id"));
    }
    let mut a = Row::new();
    copy(
        r,
        &mut a,
        &["id", "user_id", "granted_by", "granted_at", "created_at"],
    );
    set(&mut a, "clinic_id", ctx.clinic(clinic).to_string());
    set(&mut a, "role", legacy::access_role(text(r, "role")));
    set(&mut a, "is_primary", flag(r, "is_primary", false));
    RowOut::imported(id).write(&targets::USER_CLINIC_ACCESS, a)
}
