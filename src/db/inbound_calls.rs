//! `inbound_calls`: calls clients placed to the clinic's AI receptionist.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== webhooks (webhooks/vapi) ====

// ==== end webhooks (webhooks/vapi) ====
