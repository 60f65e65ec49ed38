//! After a dispatch outcome, the tracking rows that point at the call/email follow it.
//!
//! `auto_scheduled_items` (behavior.md §3.6): from `scheduled` to `completed` on success (the
//! first channel to finish wins), `failed` (with `cancelled_at` and "Execution failed: …") on
//! failure, `cancelled` with the reason when the case is blocked.
//! `discharge_batch_items` only know `pending`/`success`/`failed` (§4.1): a failed or cancelled
//! dispatch turns a `success` item into `failed` with the error; the batch's counters are left
//! as the batch processor wrote them (they count scheduling, not delivery).

use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

#[derive(Clone, Copy, Debug)]
pub enum Channel {
    Call,
    Email,
}

impl Channel {
    fn column(self) -> &'static str {
        match self {
            Self::Call => "outbound_call_id",
            Self::Email => "outbound_email_id",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Email => "email",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Final {
    Completed,
    Failed(String),
    Cancelled(String),
}

pub async fn follow(
    pool: &PgPool,
    channel: Channel,
    id: Uuid,
    outcome: &Final,
) -> Result<(), sqlx::Error> {
    let col = channel.column();
    match outcome {
        Final::Completed => {
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE auto_scheduled_items SET status = 'completed' WHERE {col} = $1 AND status = 'scheduled'"
            )))
            .bind(id)
            .execute(pool)
            .await?;
        }
        Final::Failed(error) | Final::Cancelled(error) => {
            let (status, reason) = match outcome {
                Final::Cancelled(_) => ("cancelled", error.clone()),
                _ => ("failed", format!("Execution failed: {error}")),
            };
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE auto_scheduled_items SET status = $2, cancelled_at = now(), cancellation_reason = $3 \
                 WHERE {col} = $1 AND status = 'scheduled'"
            )))
            .bind(id)
            .bind(status)
            .bind(&reason)
            .execute(pool)
            .await?;
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE discharge_batch_items SET status = 'failed', error_message = $2 \
                 WHERE {col} = $1 AND status = 'success'"
            )))
            .bind(id)
            .bind(format!("{} {}: {error}", channel.label(), status))
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}
