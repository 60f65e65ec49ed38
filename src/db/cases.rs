//! `cases`, their `patients` and `discharge_summaries`: what a follow-up is about.

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

// ==== scheduling (scheduling/) ====

// ==== end scheduling (scheduling/) ====
