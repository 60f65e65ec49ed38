//! `vapi_assistant_mappings`: which VAPI assistant serves which clinic, and how.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== dispatch (jobs/dispatch) ====

// ==== end dispatch (jobs/dispatch) ====

// ==== webhooks (webhooks/vapi) ====

// ==== end webhooks (webhooks/vapi) ====
