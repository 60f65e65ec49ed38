//! `discharge_batches` and `discharge_batch_items`.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== scheduling (scheduling/discharge_batch) ====

// ==== end scheduling (scheduling/discharge_batch) ====

// ==== item follow-up (jobs/items) ====

// ==== end item follow-up (jobs/items) ====
