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

// ==== end scheduling (scheduling/) ====
