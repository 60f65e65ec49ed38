//! A page of plans into rows: claim the cases, then their emails, calls and items, in one
//! transaction, through `db` (docs/behaviour.md#auto-schedule).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::plan::Plan;
use crate::db::auto_scheduling::{self, NewScheduledItem};
use crate::db::outbound_calls::{self, NewQueuedCall};
use crate::db::outbound_emails::{self, NewQueuedEmail};

/// Where a page's rows belong.
#[derive(Debug, Clone, Copy)]
pub struct PageTarget {
    pub clinic_id: Uuid,
    pub run_id: Option<Uuid>,
    pub now: DateTime<Utc>,
}

/// The rows of one page's claimed plans.
#[derive(Default)]
struct PageRows {
    emails: Vec<NewQueuedEmail>,
    calls: Vec<NewQueuedCall>,
    items: Vec<NewScheduledItem>,
}

/// Claims the page's cases and writes their emails, calls and items in one transaction.
/// Returns the ids of the cases actually claimed (written).
pub async fn write_page(
    pool: &PgPool,
    target: PageTarget,
    plans: &[Plan],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let case_ids: Vec<Uuid> = plans.iter().map(|p| p.case_id).collect();
    let claimed: HashSet<Uuid> =
        crate::db::cases::claim_for_auto_schedule(&mut *tx, &case_ids, target.now)
            .await?
            .into_iter()
            .collect();
    let mut rows = PageRows::default();
    for plan in plans.iter().filter(|p| claimed.contains(&p.case_id)) {
        add_rows(&mut rows, target.run_id, plan);
    }
    outbound_emails::insert_queued(&mut *tx, target.clinic_id, &rows.emails).await?;
    outbound_calls::insert_queued(&mut *tx, target.clinic_id, &rows.calls).await?;
    auto_scheduling::insert_scheduled_items(
        &mut *tx,
        target.clinic_id,
        target.run_id,
        target.now,
        &rows.items,
    )
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// One plan's rows; the item links them, and they carry the item and the run in metadata.
fn add_rows(rows: &mut PageRows, run_id: Option<Uuid>, p: &Plan) {
    let item_id = Uuid::new_v4();
    let email_id = p.email.as_ref().map(|e| {
        let id = Uuid::new_v4();
        rows.emails.push(NewQueuedEmail {
            id,
            case_id: p.case_id,
            recipient_email: e.recipient.clone(),
            recipient_name: e.name.clone(),
            subject: e.subject.clone(),
            html: e.html.clone(),
            text: e.text.clone(),
            scheduled_for: e.at,
            metadata: json!({"source": "auto_schedule", "auto_scheduled": true, "run_id": run_id, "auto_scheduled_item_id": item_id}),
        });
        id
    });
    let call_id = p.call.as_ref().map(|c| {
        let id = Uuid::new_v4();
        rows.calls.push(NewQueuedCall {
            id,
            case_id: p.case_id,
            customer_phone: c.phone.clone(),
            scheduled_for: c.at,
            metadata: json!({
                "source": "auto_schedule",
                "auto_scheduled": true,
                "run_id": run_id,
                "auto_scheduled_item_id": item_id,
                "timezone": p.config.get("timezone"),
                "dynamic_variables": c.variables,
                "retry_count": 0,
            }),
        });
        id
    });
    rows.items.push(NewScheduledItem {
        id: item_id,
        case_id: p.case_id,
        outbound_email_id: email_id,
        outbound_call_id: call_id,
        scheduled_config: p.config.clone(),
    });
}
