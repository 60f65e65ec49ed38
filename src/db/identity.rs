//! Clerk-synced identity: `users`, `user_clinic_access`, `clinic_invitations`, `clerk_sync_state`.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== clerk (webhooks/clerk) ====

// ==== end clerk (webhooks/clerk) ====
