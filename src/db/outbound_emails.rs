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

// ==== webhooks (webhooks/qstash) ====

/// What a QStash `execute-email` trigger needs: `(clinic_id, status, scheduled_for)`.
pub async fn trigger_target(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, String, Option<DateTime<Utc>>)>, sqlx::Error> {
    sqlx::query_as("SELECT clinic_id, status, scheduled_for FROM outbound_emails WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

// ==== end webhooks (webhooks/qstash) ====
