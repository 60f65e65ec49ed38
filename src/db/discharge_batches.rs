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

/// Turns the `success` batch items of `outbound` into `failed` with `message` (a failed or
/// cancelled dispatch); the batch's counters are left alone (they count scheduling).
pub async fn fail_items_of(
    ex: impl PgExecutor<'_>,
    outbound: super::auto_scheduling::OutboundRef,
    message: &str,
) -> Result<(), sqlx::Error> {
    use super::auto_scheduling::OutboundRef;
    use crate::domain::status::BatchItemStatus as S;
    let sql = match outbound {
        OutboundRef::Call(_) => {
            "UPDATE discharge_batch_items SET status = $3, error_message = $2 \
             WHERE outbound_call_id = $1 AND status = $4"
        }
        OutboundRef::Email(_) => {
            "UPDATE discharge_batch_items SET status = $3, error_message = $2 \
             WHERE outbound_email_id = $1 AND status = $4"
        }
    };
    sqlx::query(sql)
        .bind(outbound.id())
        .bind(message)
        .bind(S::Failed.as_str())
        .bind(S::Success.as_str())
        .execute(ex)
        .await
        .map(|_| ())
}

// ==== end item follow-up (jobs/items) ====
