//! `clinics` and `clinic_settings`: a clinic, its time zone and its call/email settings.

use chrono::NaiveTime;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

// --- clerk organisations (webhooks/clerk) ---

use super::identity::{is_sql_state, UNIQUE_VIOLATION};

/// The clinic of a Clerk organization.
pub async fn id_by_clerk_org(
    conn: &mut PgConnection,
    clerk_org_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM clinics WHERE clerk_org_id = $1")
        .bind(clerk_org_id)
        .fetch_optional(&mut *conn)
        .await
}

/// The clinic of a Clerk organization, row-locked until the transaction ends.
pub async fn lock_by_clerk_org(
    conn: &mut PgConnection,
    clerk_org_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM clinics WHERE clerk_org_id = $1 FOR UPDATE")
        .bind(clerk_org_id)
        .fetch_optional(&mut *conn)
        .await
}

/// Whether another organization's clinic already uses this name or slug.
pub async fn name_or_slug_taken(
    conn: &mut PgConnection,
    name: &str,
    slug: &str,
    clerk_org_id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM clinics
                        WHERE (name = $1 OR slug = $2) AND clerk_org_id IS DISTINCT FROM $3)",
    )
    .bind(name)
    .bind(slug)
    .bind(clerk_org_id)
    .fetch_one(&mut *conn)
    .await
}

/// The Clerk-owned columns of an organization's clinic: name, slug and logo only.
#[derive(Clone, Copy, Debug)]
pub struct OrgClinicWrite<'a> {
    pub clerk_org_id: &'a str,
    pub name: &'a str,
    pub slug: &'a str,
    /// `None` keeps an existing logo.
    pub logo_url: Option<&'a str>,
}

/// Updates clinic `existing` (or inserts the organization's clinic) with `w`; its id, or `None`
/// when the name or slug hit a unique violation (a concurrent writer took it). The savepoint
/// confines that violation so the transaction can try another candidate.
pub async fn write_org_clinic(
    conn: &mut PgConnection,
    existing: Option<Uuid>,
    w: &OrgClinicWrite<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query("SAVEPOINT clerk_clinic_write")
        .execute(&mut *conn)
        .await?;
    let written: Result<Uuid, sqlx::Error> = match existing {
        Some(id) => {
            sqlx::query_scalar(
                "UPDATE clinics SET name = $2, slug = $3, logo_url = COALESCE($4, logo_url)
                 WHERE id = $1 RETURNING id",
            )
            .bind(id)
            .bind(w.name)
            .bind(w.slug)
            .bind(w.logo_url)
            .fetch_one(&mut *conn)
            .await
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO clinics (clerk_org_id, name, slug, logo_url)
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(w.clerk_org_id)
            .bind(w.name)
            .bind(w.slug)
            .bind(w.logo_url)
            .fetch_one(&mut *conn)
            .await
        }
    };
    let id = match written {
        Ok(id) => Some(id),
        Err(e) if is_sql_state(&e, UNIQUE_VIOLATION) => {
            sqlx::query("ROLLBACK TO SAVEPOINT clerk_clinic_write")
                .execute(&mut *conn)
                .await?;
            None
        }
        Err(e) => return Err(e),
    };
    sqlx::query("RELEASE SAVEPOINT clerk_clinic_write")
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Deactivates (never deletes) the organization's clinic; its id, if there is one.
pub async fn deactivate_by_clerk_org(
    conn: &mut PgConnection,
    clerk_org_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("UPDATE clinics SET is_active = false WHERE clerk_org_id = $1 RETURNING id")
        .bind(clerk_org_id)
        .fetch_optional(&mut *conn)
        .await
}

// --- dispatch (jobs/dispatch) ---

/// What call dispatch needs of a clinic and its settings (defaults when it has no settings row).
#[derive(Clone, Debug)]
pub struct ClinicForCall {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub policy: crate::domain::clinic_policy::CallPolicy,
    pub voicemail_enabled: bool,
    pub voicemail_hangup: bool,
    pub voicemail_message: Option<String>,
    pub test_mode: bool,
    pub test_phone: Option<String>,
    pub emergency_phone: Option<String>,
    /// `clinics.business_hours` read (the `clinic_is_open` call variable).
    pub hours: crate::domain::clinic_hours::BusinessHours,
}

#[derive(sqlx::FromRow)]
struct ClinicForCallRow {
    name: Option<String>,
    phone: Option<String>,
    timezone: Option<String>,
    vm_enabled: bool,
    vm_hangup: bool,
    voicemail_message: Option<String>,
    window_start: Option<NaiveTime>,
    window_end: Option<NaiveTime>,
    test_mode: bool,
    test_contact_phone: Option<String>,
    emergency_phone: Option<String>,
    business_hours: Option<serde_json::Value>,
}

/// Loads the clinic a call belongs to; its call policy comes from `CallPolicy::from_columns`.
pub async fn load_for_call(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
) -> Result<ClinicForCall, sqlx::Error> {
    let r: ClinicForCallRow = sqlx::query_as(
        "SELECT c.name, c.phone, c.timezone, \
           coalesce(s.voicemail_detection_enabled, false) AS vm_enabled, \
           coalesce(s.voicemail_hangup_on_detection, false) AS vm_hangup, \
           s.voicemail_message, \
           s.preferred_call_start_time AS window_start, \
           s.preferred_call_end_time AS window_end, \
           coalesce(s.test_mode_enabled, false) AS test_mode, s.test_contact_phone, s.emergency_phone, \
           c.business_hours \
         FROM clinics c LEFT JOIN clinic_settings s ON s.clinic_id = c.id WHERE c.id = $1",
    )
    .bind(clinic_id)
    .fetch_one(ex)
    .await?;
    Ok(ClinicForCall {
        name: r.name,
        phone: r.phone,
        policy: crate::domain::clinic_policy::CallPolicy::from_columns(
            clinic_id,
            r.timezone.as_deref(),
            r.window_start,
            r.window_end,
            None,
        ),
        voicemail_enabled: r.vm_enabled,
        voicemail_hangup: r.vm_hangup,
        voicemail_message: r.voicemail_message,
        test_mode: r.test_mode,
        test_phone: r.test_contact_phone,
        emergency_phone: r.emergency_phone,
        hours: crate::domain::clinic_hours::BusinessHours::from_json(r.business_hours.as_ref()),
    })
}

/// A clinic's email test mode: whether it is on, and the address that then gets every email;
/// plus the clinic's `timezone` as stored (waking hours are read in it).
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct EmailTestMode {
    pub test_mode: bool,
    pub test_contact_email: Option<String>,
    pub timezone: Option<String>,
}

/// The clinic's email test mode (off when it has no settings row) and its zone.
pub async fn email_test_mode(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
) -> Result<EmailTestMode, sqlx::Error> {
    let row: Option<EmailTestMode> = sqlx::query_as(
        "SELECT coalesce(s.test_mode_enabled, false) AS test_mode, s.test_contact_email, \
           c.timezone \
         FROM clinics c LEFT JOIN clinic_settings s ON s.clinic_id = c.id WHERE c.id = $1",
    )
    .bind(clinic_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.unwrap_or_default())
}

// --- webhooks (webhooks/vapi) ---

/// The columns a clinic's call policy is built from (`docs/behaviour.md#clinic-policy`).
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct CallPolicyColumns {
    pub timezone: String,
    pub preferred_call_start_time: Option<NaiveTime>,
    pub preferred_call_end_time: Option<NaiveTime>,
    pub max_call_retries: Option<i32>,
}

/// `None` when the clinic does not exist.
pub async fn call_policy_columns(
    exec: impl PgExecutor<'_>,
    clinic_id: Uuid,
) -> Result<Option<CallPolicyColumns>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.timezone, s.preferred_call_start_time, s.preferred_call_end_time,
                s.max_call_retries
         FROM clinics c LEFT JOIN clinic_settings s ON s.clinic_id = c.id
         WHERE c.id = $1",
    )
    .bind(clinic_id)
    .fetch_optional(exec)
    .await
}

/// A clinic's name, `clinic_settings.emergency_phone` and `clinics.phone` (transfers,
/// `docs/behaviour.md#vapi-answers`).
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct TransferPhones {
    pub name: String,
    pub emergency_phone: Option<String>,
    pub phone: Option<String>,
}

pub async fn transfer_phones(
    exec: impl PgExecutor<'_>,
    clinic_id: Uuid,
) -> Result<Option<TransferPhones>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.name, s.emergency_phone, c.phone
         FROM clinics c LEFT JOIN clinic_settings s ON s.clinic_id = c.id
         WHERE c.id = $1",
    )
    .bind(clinic_id)
    .fetch_optional(exec)
    .await
}

// --- scheduling (scheduling/) ---

/// What follow-up content needs of a batch's clinic: branding, zone and emergency phone.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchClinic {
    pub name: String,
    pub phone: Option<String>,
    pub primary_color: Option<String>,
    pub logo_url: Option<String>,
    pub timezone: String,
    pub emergency_phone: Option<String>,
}

/// The clinic of a discharge batch, `None` when the batch (or its clinic) is gone.
pub async fn clinic_of_batch(
    ex: impl PgExecutor<'_>,
    batch_id: Uuid,
) -> Result<Option<BatchClinic>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.name, c.phone, c.primary_color, c.logo_url, c.timezone, st.emergency_phone \
         FROM discharge_batches b JOIN clinics c ON c.id = b.clinic_id \
         LEFT JOIN clinic_settings st ON st.clinic_id = c.id WHERE b.id = $1",
    )
    .bind(batch_id)
    .fetch_optional(ex)
    .await
}
