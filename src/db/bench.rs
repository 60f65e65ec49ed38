//! Scratch databases and bulk seeding for `odis-worker bench` (never used by the service).

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== bench ingest (bench/ingest, bench/mod) ====

// ==== end bench ingest (bench/ingest, bench/mod) ====

// ==== bench jobs (bench/jobs) ====

// ==== end bench jobs (bench/jobs) ====

// ==== bench autoschedule (bench/autoschedule) ====

// ==== end bench autoschedule (bench/autoschedule) ====
