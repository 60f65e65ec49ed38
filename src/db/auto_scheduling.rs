//! The auto-scheduling tables: `auto_scheduling_runs`, `auto_scheduled_items`, `auto_scheduling_config`, `clinic_case_type_cadence`.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== scheduling (scheduling/auto_schedule) ====

// ==== end scheduling (scheduling/auto_schedule) ====

// ==== item follow-up (jobs/items) ====

// ==== end item follow-up (jobs/items) ====
