//! `outbound_emails`: follow-up emails, from scheduling to Resend.

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

// ==== scheduling (scheduling/) ====

// ==== end scheduling (scheduling/) ====
