//! After a dispatch outcome, the tracking rows that point at the call/email follow it
//! (`docs/behaviour.md#dispatch`).
//!
//! `auto_scheduled_items`: from `scheduled` to `completed` on success (the first channel to
//! finish wins), `failed` (with `cancelled_at` and "Execution failed: …") on failure,
//! `cancelled` with the reason when the case is blocked.
//! `discharge_batch_items` (a batch cancel also writes `cancelled`): a failed or cancelled
//! dispatch turns a `success` item into `failed` with the error; the batch's counters are left
//! as the batch processor wrote them (they count scheduling, not delivery).
//!
//! Owns the follow-up rule; the SQL is in `db::auto_scheduling` / `db::discharge_batches`.
//! May import: `db`, `domain`.

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::auto_scheduling::{self, OutboundRef};
use crate::db::discharge_batches;
use crate::domain::status::ScheduledItemStatus;

#[derive(Clone, Copy, Debug)]
pub enum Channel {
    Call,
    Email,
}

impl Channel {
    fn outbound(self, id: Uuid) -> OutboundRef {
        match self {
            Self::Call => OutboundRef::Call(id),
            Self::Email => OutboundRef::Email(id),
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

/// How a failed or cancelled outcome closes the items: (item status, item reason, batch
/// item message).
fn closing(channel: Channel, outcome: &Final) -> Option<(ScheduledItemStatus, String, String)> {
    let (status, reason, error) = match outcome {
        Final::Completed => return None,
        Final::Cancelled(e) => (ScheduledItemStatus::Cancelled, e.clone(), e),
        Final::Failed(e) => (
            ScheduledItemStatus::Failed,
            format!("Execution failed: {e}"),
            e,
        ),
    };
    let message = format!("{} {}: {error}", channel.label(), status.as_str());
    Some((status, reason, message))
}

pub async fn follow(
    pool: &PgPool,
    channel: Channel,
    id: Uuid,
    outcome: &Final,
) -> Result<(), sqlx::Error> {
    let outbound = channel.outbound(id);
    match closing(channel, outcome) {
        None => auto_scheduling::complete_items_of(pool, outbound).await,
        Some((status, reason, message)) => {
            auto_scheduling::close_items_of(pool, outbound, status, &reason).await?;
            discharge_batches::fail_items_of(pool, outbound, &message).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_reasons_and_messages() {
        assert!(closing(Channel::Call, &Final::Completed).is_none());
        let (s, r, m) = closing(Channel::Call, &Final::Failed("boom".into())).unwrap();
        assert_eq!(s, ScheduledItemStatus::Failed);
        assert_eq!(r, "Execution failed: boom");
        assert_eq!(m, "call failed: boom");
        let (s, r, m) = closing(Channel::Email, &Final::Cancelled("euthanasia".into())).unwrap();
        assert_eq!(s, ScheduledItemStatus::Cancelled);
        assert_eq!(r, "euthanasia");
        assert_eq!(m, "email cancelled: euthanasia");
    }
}
