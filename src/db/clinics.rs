//! `clinics` and `clinic_settings`: a clinic, its time zone and its call/email settings.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== clerk organisations (webhooks/clerk) ====

// ==== end clerk organisations (webhooks/clerk) ====

// ==== dispatch (jobs/dispatch) ====

// ==== end dispatch (jobs/dispatch) ====

// ==== webhooks (webhooks/vapi) ====

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

// ==== end webhooks (webhooks/vapi) ====

// ==== scheduling (scheduling/) ====

// ==== end scheduling (scheduling/) ====
