//! Discharge batch processing (docs/behaviour.md#discharge-batch): cancel works, and a killed
//! worker's batch resumes without redoing items.
//!
//! Owns: the batch's item loop, what one item schedules, the cancel cascade. SQL lives in
//! `db::discharge_batches` (and the outbound tables' modules). May import: `db`, `domain`.
//!
//! Concurrency design: every item is processed in its own transaction that starts by locking
//! the batch row (`FOR UPDATE SKIP LOCKED`). Consequences:
//! - two workers never work on the same batch at the same moment: the one that finds the row
//!   locked returns (the holder carries on), and since item status is re-read under the lock an
//!   item is never done twice even if workers alternate;
//! - the item's outbound rows, the item's outcome and the batch counters commit together, so a
//!   worker killed at any point leaves each item either untouched (`pending`) or fully done;
//!   the next `process` call simply continues with the first `pending` item;
//! - `cancel` takes the same row lock, so it waits for an in-flight item and then sees (and
//!   cancels) every outbound row that item created; the processor sees `cancelled` at its next
//!   item and stops.
//!
//! The i-th item (0-based, stable order `created_at, id`) gets its email at
//! `email_schedule_time + i×20 s` and its call at `call_schedule_time + i×2 min`
//! (docs/behaviour.md#discharge-batch).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::case_data::{CaseRow, ClinicInfo};
use super::SchedulingError;
use crate::db::discharge_batches::{self as batches, ItemOutcome, LockedBatch, PendingItem};
use crate::db::outbound_calls::{self, NewQueuedCall};
use crate::db::outbound_emails::{self, NewQueuedEmail};
use crate::domain::clinic_policy::{self, DEFAULT_CALL_DELAY_DAYS, DEFAULT_EMAIL_DELAY_DAYS};
use crate::domain::clock;
use crate::domain::status::BatchStatus;

pub const EMAIL_STAGGER: Duration = Duration::seconds(20);
pub const CALL_STAGGER: Duration = Duration::minutes(2);
/// A `processing` batch not touched for this long has lost its worker (a live worker updates
/// the row after every item, which takes milliseconds) and is offered again by [`due_batches`].
pub const STALE_AFTER_SECS: i64 = 60;
/// Recorded in the metadata of every call/email a cancel stops.
pub const CANCEL_REASON: &str = "Discharge batch cancelled";

#[derive(Debug, serde::Serialize)]
pub struct BatchOutcome {
    pub batch_id: Uuid,
    /// The batch's status after this call: `processing` (stopped early: item limit, or another
    /// worker holds it), `completed`, `partial_success`, `failed` or `cancelled`.
    pub status: String,
    pub processed: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub cancelled: bool,
}

/// Processes the batch to the end (or until it is cancelled). Safe to call concurrently and
/// repeatedly: a finished batch is reported as is, a `processing` one is resumed.
pub async fn process(
    pool: &PgPool,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<BatchOutcome, SchedulingError> {
    process_limited(pool, batch_id, now, None).await
}

/// What one turn of the item loop did.
enum Step {
    /// One item done; go on.
    Item,
    /// Finished, cancelled, or held by another worker: report the batch as it is.
    Stop,
}

/// [`process`], stopping after at most `max_items` items (the batch stays `processing`). Lets
/// a job bound its run time, and lets tests stop "mid-way" deterministically.
pub async fn process_limited(
    pool: &PgPool,
    batch_id: Uuid,
    now: DateTime<Utc>,
    max_items: Option<usize>,
) -> Result<BatchOutcome, SchedulingError> {
    // Claim: pending → processing. A batch that is already processing is being resumed.
    batches::start_pending(pool, batch_id, now).await?;
    let clinic = load_clinic(pool, batch_id).await?;
    let mut done = 0usize;
    while max_items.is_none_or(|m| done < m) {
        let mut tx = pool.begin().await?;
        match step(&mut tx, batch_id, clinic.as_ref(), now).await? {
            Step::Item => {
                tx.commit().await?;
                done += 1;
            }
            Step::Stop => {
                tx.commit().await?;
                break;
            }
        }
    }
    outcome(pool, batch_id).await
}

/// Under the batch row lock: runs a pending cancel, finalizes a batch without pending items,
/// or processes the next item.
async fn step(
    tx: &mut PgConnection,
    batch_id: Uuid,
    clinic: Option<&(ClinicInfo, String)>,
    now: DateTime<Utc>,
) -> Result<Step, SchedulingError> {
    // `None`: locked by another worker (or by a cancel in progress) — or gone.
    let Some(batch) = batches::lock_skip_locked(tx, batch_id).await? else {
        return Ok(Step::Stop);
    };
    match batch.status.as_deref().and_then(BatchStatus::parse) {
        Some(BatchStatus::Processing) => {}
        Some(BatchStatus::Cancelled) => {
            cancel_in(tx, batch_id).await?;
            return Ok(Step::Stop);
        }
        _ => return Ok(Step::Stop),
    }
    let Some(item) = batches::next_pending_item(tx, batch_id).await? else {
        batches::finalize(tx, batch_id, now).await?;
        return Ok(Step::Stop);
    };
    process_item(tx, &batch, batch_id, &item, clinic, now).await?;
    Ok(Step::Item)
}

/// The batch's clinic as content needs it, and its zone's name (fallback per
/// `domain::clinic_policy`).
async fn load_clinic(
    pool: &PgPool,
    batch_id: Uuid,
) -> Result<Option<(ClinicInfo, String)>, SchedulingError> {
    let row = crate::db::clinics::clinic_of_batch(pool, batch_id).await?;
    Ok(row.map(|r| {
        let (tz, _) = clinic_policy::clinic_tz_or_default(Some(&r.timezone));
        (
            ClinicInfo {
                name: Some(r.name),
                phone: r.phone,
                emergency_phone: r.emergency_phone,
                primary_color: r.primary_color,
                logo_url: r.logo_url,
            },
            tz.name().to_string(),
        )
    }))
}

fn flag(meta: Option<&Value>, key: &str) -> bool {
    meta.and_then(|m| m.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// One item's context: the batch's channel switches, base times and the rows' link metadata.
struct ItemPlan<'a> {
    clinic_id: Uuid,
    index: usize,
    emails_on: bool,
    calls_on: bool,
    email_base: DateTime<Utc>,
    call_base: DateTime<Utc>,
    link: Value,
    info: &'a ClinicInfo,
    tz: &'a str,
}

/// Schedules one item's email/call and records its outcome plus the batch counters, all on the
/// caller's transaction.
async fn process_item(
    tx: &mut PgConnection,
    batch: &LockedBatch,
    batch_id: Uuid,
    item: &PendingItem,
    clinic: Option<&(ClinicInfo, String)>,
    now: DateTime<Utc>,
) -> Result<(), SchedulingError> {
    let case = crate::db::cases::case_for_scheduling(&mut *tx, item.case_id).await?;
    let mut outcome = ItemOutcome {
        item_id: item.id,
        outbound_email_id: None,
        outbound_call_id: None,
        error: None,
        processed_at: now,
    };
    outcome.error = match (&case, clinic) {
        (None, _) => Some("Case not found".into()),
        (_, None) => Some("Clinic not found".into()),
        (Some(c), _) if c.clinic_id != batch.clinic_id => {
            Some("Case belongs to another clinic".into())
        }
        (Some(c), Some((info, tz))) => {
            let plan = ItemPlan {
                clinic_id: batch.clinic_id,
                index: usize::try_from(item.idx).unwrap_or(0),
                emails_on: flag(batch.metadata.as_ref(), "emailsEnabled"),
                calls_on: flag(batch.metadata.as_ref(), "callsEnabled"),
                // Times the dashboard did not set default as in the old create path.
                email_base: batch
                    .email_schedule_time
                    .unwrap_or(now + Duration::days(i64::from(DEFAULT_EMAIL_DELAY_DAYS))),
                call_base: batch
                    .call_schedule_time
                    .unwrap_or(now + Duration::days(i64::from(DEFAULT_CALL_DELAY_DAYS))),
                link: json!({
                    "source": "discharge_batch",
                    "discharge_batch_id": batch_id,
                    "discharge_batch_item_id": item.id,
                    "batch_index": item.idx,
                }),
                info,
                tz,
            };
            schedule_case(tx, c, &plan, &mut outcome).await?
        }
    };
    batches::record_item(tx, batch_id, &outcome).await?;
    Ok(())
}

/// Writes the case's email and call as the batch allows; the item's error if it got neither.
async fn schedule_case(
    tx: &mut PgConnection,
    c: &CaseRow,
    plan: &ItemPlan<'_>,
    outcome: &mut ItemOutcome,
) -> Result<Option<String>, SchedulingError> {
    if let Some(why) = c.blocked_reason() {
        return Ok(Some(format!("Blocked: {why}")));
    }
    if let Some(addr) = c.owner_email().filter(|_| plan.emails_on) {
        let content = match c.email(plan.info) {
            Ok(content) => content,
            Err(e) => return Ok(Some(e.to_string())),
        };
        let email = NewQueuedEmail {
            id: Uuid::new_v4(),
            case_id: c.id,
            recipient_email: addr,
            recipient_name: Some(c.owner_name().unwrap_or_else(|| "Pet Owner".into())),
            subject: content.subject,
            html: content.html,
            text: content.text,
            scheduled_for: clock::stagger(plan.email_base, plan.index, EMAIL_STAGGER),
            metadata: plan.link.clone(),
        };
        outbound_emails::insert_queued(&mut *tx, plan.clinic_id, std::slice::from_ref(&email))
            .await?;
        outcome.outbound_email_id = Some(email.id);
    }
    if let Some(phone) = c.owner_phone().filter(|_| plan.calls_on) {
        let mut meta = plan.link.clone();
        meta["dynamic_variables"] = Value::Object(c.call_variables(plan.info));
        meta["timezone"] = json!(plan.tz);
        meta["retry_count"] = json!(0);
        let call = NewQueuedCall {
            id: Uuid::new_v4(),
            case_id: c.id,
            customer_phone: phone,
            scheduled_for: clock::stagger(plan.call_base, plan.index, CALL_STAGGER),
            metadata: meta,
        };
        outbound_calls::insert_queued(&mut *tx, plan.clinic_id, std::slice::from_ref(&call))
            .await?;
        outcome.outbound_call_id = Some(call.id);
    }
    if outcome.outbound_email_id.is_some() || outcome.outbound_call_id.is_some() {
        return Ok(None);
    }
    Ok(Some(
        match (plan.emails_on, plan.calls_on) {
            (true, true) => "No valid owner email or phone",
            (true, false) => "No valid owner email (calls disabled for this batch)",
            (false, true) => "No valid owner phone (emails disabled for this batch)",
            (false, false) => "Emails and calls are both disabled for this batch",
        }
        .to_string(),
    ))
}

/// Cancels the batch: status `cancelled`; every call/email it created that is still `queued`
/// (not yet claimed by dispatch) becomes `cancelled` with the reason in its metadata; pending
/// items and items whose rows were just cancelled become `cancelled`. Idempotent, and it waits
/// for an item being processed right now so that item's rows are cancelled too.
pub async fn cancel(pool: &PgPool, batch_id: Uuid) -> Result<BatchOutcome, SchedulingError> {
    let mut tx = pool.begin().await?;
    if !batches::lock_wait(&mut tx, batch_id).await? {
        return Err(SchedulingError::BatchNotFound(batch_id));
    }
    cancel_in(&mut tx, batch_id).await?;
    tx.commit().await?;
    outcome(pool, batch_id).await
}

/// The cancel cascade on a transaction that already holds the batch row lock.
async fn cancel_in(tx: &mut PgConnection, batch_id: Uuid) -> Result<(), sqlx::Error> {
    batches::mark_cancelled(tx, batch_id).await?;
    let stop = json!({"cancelled_reason": CANCEL_REASON, "cancelled_by": "discharge_batch"});
    let calls = outbound_calls::cancel_queued_of_batch(&mut *tx, batch_id, &stop).await?;
    let emails = outbound_emails::cancel_queued_of_batch(&mut *tx, batch_id, &stop).await?;
    batches::cancel_items(tx, batch_id, &calls, &emails, CANCEL_REASON).await
}

async fn outcome(pool: &PgPool, batch_id: Uuid) -> Result<BatchOutcome, SchedulingError> {
    let Some(row) = batches::counters(pool, batch_id).await? else {
        return Err(SchedulingError::BatchNotFound(batch_id));
    };
    let status = row
        .status
        .unwrap_or_else(|| BatchStatus::Pending.as_str().to_string());
    Ok(BatchOutcome {
        batch_id,
        cancelled: status == BatchStatus::Cancelled.as_str(),
        status,
        processed: row.processed_cases.unwrap_or(0),
        succeeded: row.successful_cases.unwrap_or(0),
        failed: row.failed_cases.unwrap_or(0),
    })
}

/// Batches the sweeper should hand to [`process`]: `pending` ones; `processing` ones whose
/// worker died (untouched for [`STALE_AFTER_SECS`]); and `cancelled` ones that still have
/// pending items or queued calls/emails (cancelled by the dashboard with a plain UPDATE while
/// no worker was on them — `process` runs the cancel cascade). Oldest first.
pub async fn due_batches(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    batches::due(pool, STALE_AFTER_SECS as f64).await
}
