//! `job_ticks`: one row per catalogue tick, so each tick runs once across processes.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== catalogue (jobs/catalogue, jobs/sweep) ====

// ==== end catalogue (jobs/catalogue, jobs/sweep) ====
