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

// ==== end webhooks (webhooks/vapi) ====

// ==== scheduling (scheduling/) ====

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

// ==== end scheduling (scheduling/) ====
