//! `outbound_calls`: follow-up calls, from scheduling to VAPI's end-of-call report.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== dispatch (jobs/dispatch, jobs/sweep) ====

// ==== end dispatch (jobs/dispatch, jobs/sweep) ====

// ==== webhooks (webhooks/vapi) ====

// ==== end webhooks (webhooks/vapi) ====

// ==== scheduling (scheduling/) ====

// ==== end scheduling (scheduling/) ====
