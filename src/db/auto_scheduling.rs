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

/// The outbound row a tracking item points at (`outbound_call_id` or `outbound_email_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboundRef {
    Call(Uuid),
    Email(Uuid),
}

impl OutboundRef {
    pub fn id(self) -> Uuid {
        match self {
            Self::Call(id) | Self::Email(id) => id,
        }
    }
}

/// Marks the `scheduled` items of `outbound` `completed` (the first channel to finish wins).
pub async fn complete_items_of(
    ex: impl PgExecutor<'_>,
    outbound: OutboundRef,
) -> Result<(), sqlx::Error> {
    use crate::domain::status::ScheduledItemStatus as S;
    let sql = match outbound {
        OutboundRef::Call(_) => {
            "UPDATE auto_scheduled_items SET status = $2 WHERE outbound_call_id = $1 AND status = $3"
        }
        OutboundRef::Email(_) => {
            "UPDATE auto_scheduled_items SET status = $2 WHERE outbound_email_id = $1 AND status = $3"
        }
    };
    sqlx::query(sql)
        .bind(outbound.id())
        .bind(S::Completed.as_str())
        .bind(S::Scheduled.as_str())
        .execute(ex)
        .await
        .map(|_| ())
}

/// Closes the `scheduled` items of `outbound` with `status` (failed or cancelled) and `reason`.
pub async fn close_items_of(
    ex: impl PgExecutor<'_>,
    outbound: OutboundRef,
    status: crate::domain::status::ScheduledItemStatus,
    reason: &str,
) -> Result<(), sqlx::Error> {
    use crate::domain::status::ScheduledItemStatus as S;
    let sql = match outbound {
        OutboundRef::Call(_) => {
            "UPDATE auto_scheduled_items SET status = $2, cancelled_at = now(), \
               cancellation_reason = $3 WHERE outbound_call_id = $1 AND status = $4"
        }
        OutboundRef::Email(_) => {
            "UPDATE auto_scheduled_items SET status = $2, cancelled_at = now(), \
               cancellation_reason = $3 WHERE outbound_email_id = $1 AND status = $4"
        }
    };
    sqlx::query(sql)
        .bind(outbound.id())
        .bind(status.as_str())
        .bind(reason)
        .bind(S::Scheduled.as_str())
        .execute(ex)
        .await
        .map(|_| ())
}

// ==== end item follow-up (jobs/items) ====
