//! Discharge batch processing (behavior.md §4, with issue 5's corrections: cancel works, a
//! killed worker's batch resumes without redoing items).
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
//! `email_schedule_time + i×20 s` and its call at `call_schedule_time + i×2 min` (§6.5).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::case_data::{CaseRow, ClinicInfo, CASE_SELECT};
use super::SchedulingError;
use crate::domain::clock;

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

#[derive(Debug, sqlx::FromRow)]
struct BatchRow {
    status: Option<String>,
    clinic_id: Uuid,
    email_schedule_time: Option<DateTime<Utc>>,
    call_schedule_time: Option<DateTime<Utc>>,
    metadata: Option<Value>,
}

#[derive(Debug, sqlx::FromRow)]
struct NextItem {
    id: Uuid,
    case_id: Uuid,
    idx: i64,
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

/// [`process`], stopping after at most `max_items` items (the batch stays `processing`). Lets
/// a job bound its run time, and lets tests stop "mid-way" deterministically.
pub async fn process_limited(
    pool: &PgPool,
    batch_id: Uuid,
    now: DateTime<Utc>,
    max_items: Option<usize>,
) -> Result<BatchOutcome, SchedulingError> {
    // Claim: pending → processing. A batch that is already processing is being resumed.
    sqlx::query(
        "UPDATE discharge_batches SET status = 'processing', started_at = COALESCE(started_at, $2), \
         total_cases = (SELECT count(*) FROM discharge_batch_items WHERE batch_id = $1) \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(batch_id)
    .bind(now)
    .execute(pool)
    .await?;

    let clinic = load_clinic(pool, batch_id).await?;
    let mut done = 0usize;
    loop {
        if max_items.is_some_and(|m| done >= m) {
            return outcome(pool, batch_id).await;
        }
        let mut tx = pool.begin().await?;
        let batch: Option<BatchRow> = sqlx::query_as(
            "SELECT status, clinic_id, email_schedule_time, call_schedule_time, metadata \
             FROM discharge_batches WHERE id = $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(batch_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(batch) = batch else {
            tx.rollback().await?;
            // Locked by another worker (or by a cancel in progress) — or gone.
            return outcome(pool, batch_id).await;
        };
        match batch.status.as_deref() {
            Some("processing") => {}
            Some("cancelled") => {
                cancel_in(&mut tx, batch_id).await?;
                tx.commit().await?;
                return outcome(pool, batch_id).await;
            }
            _ => {
                tx.rollback().await?;
                return outcome(pool, batch_id).await;
            }
        }
        let next: Option<NextItem> = sqlx::query_as(
            "SELECT id, case_id, idx FROM ( \
               SELECT id, case_id, status, row_number() OVER (ORDER BY created_at, id) - 1 AS idx \
               FROM discharge_batch_items WHERE batch_id = $1) s \
             WHERE status = 'pending' ORDER BY idx LIMIT 1",
        )
        .bind(batch_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(item) = next else {
            finalize(&mut tx, batch_id, now).await?;
            tx.commit().await?;
            return outcome(pool, batch_id).await;
        };
        process_item(&mut tx, &batch, batch_id, &item, clinic.as_ref(), now).await?;
        tx.commit().await?;
        done += 1;
    }
}

#[derive(Debug, sqlx::FromRow)]
struct ClinicRow {
    name: String,
    phone: Option<String>,
    primary_color: Option<String>,
    logo_url: Option<String>,
    timezone: String,
    emergency_phone: Option<String>,
}

async fn load_clinic(
    pool: &PgPool,
    batch_id: Uuid,
) -> Result<Option<(ClinicInfo, String)>, SchedulingError> {
    let row: Option<ClinicRow> = sqlx::query_as(
        "SELECT c.name, c.phone, c.primary_color, c.logo_url, c.timezone, st.emergency_phone \
         FROM discharge_batches b JOIN clinics c ON c.id = b.clinic_id \
         LEFT JOIN clinic_settings st ON st.clinic_id = c.id WHERE b.id = $1",
    )
    .bind(batch_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        let (tz, _) = crate::domain::clinic_policy::clinic_tz_or_default(Some(&r.timezone));
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

/// Schedules one item's email/call and records its outcome plus the batch counters, all on the
/// caller's transaction.
async fn process_item(
    tx: &mut PgConnection,
    batch: &BatchRow,
    batch_id: Uuid,
    item: &NextItem,
    clinic: Option<&(ClinicInfo, String)>,
    now: DateTime<Utc>,
) -> Result<(), SchedulingError> {
    let case: Option<CaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CASE_SELECT} WHERE ca.id = $1"
    )))
    .bind(item.case_id)
    .fetch_optional(&mut *tx)
    .await?;
    let emails_on = flag(batch.metadata.as_ref(), "emailsEnabled");
    let calls_on = flag(batch.metadata.as_ref(), "callsEnabled");
    let index = usize::try_from(item.idx).unwrap_or(0);
    // Times the dashboard did not set default as in the old create path (+1 / +3 days).
    let email_base = batch.email_schedule_time.unwrap_or(now + Duration::days(1));
    let call_base = batch.call_schedule_time.unwrap_or(now + Duration::days(3));
    let link = json!({
        "source": "discharge_batch",
        "discharge_batch_id": batch_id,
        "discharge_batch_item_id": item.id,
        "batch_index": item.idx,
    });

    let mut email_id: Option<Uuid> = None;
    let mut call_id: Option<Uuid> = None;
    let error: Option<String> = match (&case, clinic) {
        (None, _) => Some("Case not found".into()),
        (_, None) => Some("Clinic not found".into()),
        (Some(c), _) if c.clinic_id != batch.clinic_id => {
            Some("Case belongs to another clinic".into())
        }
        (Some(c), Some((info, tz))) => match c.blocked_reason() {
            Some(why) => Some(format!("Blocked: {why}")),
            None => {
                let email = c.owner_email().filter(|_| emails_on);
                let phone = c.owner_phone().filter(|_| calls_on);
                if let Some(addr) = email {
                    let content = c.email(info).unwrap();
                    let id = Uuid::new_v4();
                    sqlx::query(
                        "INSERT INTO outbound_emails (id, clinic_id, case_id, recipient_email, recipient_name, \
                         subject, html_content, text_content, scheduled_for, status, metadata) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10)",
                    )
                    .bind(id)
                    .bind(batch.clinic_id)
                    .bind(c.id)
                    .bind(addr)
                    .bind(c.owner_name().unwrap_or_else(|| "Pet Owner".into()))
                    .bind(content.subject)
                    .bind(content.html)
                    .bind(content.text)
                    .bind(clock::stagger(email_base, index, EMAIL_STAGGER))
                    .bind(&link)
                    .execute(&mut *tx)
                    .await?;
                    email_id = Some(id);
                }
                if let Some(p) = phone {
                    let id = Uuid::new_v4();
                    let mut meta = link.clone();
                    meta["dynamic_variables"] = Value::Object(c.call_variables(info));
                    meta["timezone"] = json!(tz);
                    meta["retry_count"] = json!(0);
                    sqlx::query(
                        "INSERT INTO outbound_calls (id, clinic_id, case_id, customer_phone, scheduled_for, status, metadata) \
                         VALUES ($1, $2, $3, $4, $5, 'queued', $6)",
                    )
                    .bind(id)
                    .bind(batch.clinic_id)
                    .bind(c.id)
                    .bind(p)
                    .bind(clock::stagger(call_base, index, CALL_STAGGER))
                    .bind(&meta)
                    .execute(&mut *tx)
                    .await?;
                    call_id = Some(id);
                }
                if email_id.is_none() && call_id.is_none() {
                    Some(match (emails_on, calls_on) {
                        (true, true) => "No valid owner email or phone".to_string(),
                        (true, false) => {
                            "No valid owner email (calls disabled for this batch)".to_string()
                        }
                        (false, true) => {
                            "No valid owner phone (emails disabled for this batch)".to_string()
                        }
                        (false, false) => {
                            "Emails and calls are both disabled for this batch".to_string()
                        }
                    })
                } else {
                    None
                }
            }
        },
    };
    let ok = error.is_none();
    sqlx::query(
        "UPDATE discharge_batch_items SET status = $2, email_scheduled = $3, call_scheduled = $4, \
         outbound_email_id = $5, outbound_call_id = $6, error_message = $7, processed_at = $8, \
         patient_id = COALESCE(patient_id, (SELECT patient_id FROM cases WHERE id = case_id)) \
         WHERE id = $1",
    )
    .bind(item.id)
    .bind(if ok { "success" } else { "failed" })
    .bind(email_id.is_some())
    .bind(call_id.is_some())
    .bind(email_id)
    .bind(call_id)
    .bind(&error)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE discharge_batches SET processed_cases = processed_cases + 1, \
         successful_cases = successful_cases + $2, failed_cases = failed_cases + $3 WHERE id = $1",
    )
    .bind(batch_id)
    .bind(i32::from(ok))
    .bind(i32::from(!ok))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// All items done: counters recomputed from the items (the source of truth), final status,
/// `completed_at`, and `error_summary` = `[{caseId, patientName, error}]` of the failed items.
async fn finalize(
    tx: &mut PgConnection,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH counts AS ( \
           SELECT count(*) FILTER (WHERE status IN ('success', 'failed')) AS processed, \
                  count(*) FILTER (WHERE status = 'success') AS ok, \
                  count(*) FILTER (WHERE status = 'failed') AS bad \
           FROM discharge_batch_items WHERE batch_id = $1), \
         errs AS ( \
           SELECT COALESCE(jsonb_agg(jsonb_build_object('caseId', i.case_id, \
                    'patientName', COALESCE(p.name, 'Unknown Patient'), 'error', i.error_message) \
                    ORDER BY i.created_at, i.id), '[]'::jsonb) AS summary \
           FROM discharge_batch_items i LEFT JOIN cases c ON c.id = i.case_id \
           LEFT JOIN patients p ON p.id = COALESCE(i.patient_id, c.patient_id) \
           WHERE i.batch_id = $1 AND i.status = 'failed') \
         UPDATE discharge_batches b SET \
           processed_cases = counts.processed, successful_cases = counts.ok, failed_cases = counts.bad, \
           status = CASE WHEN counts.bad = 0 THEN 'completed' \
                         WHEN counts.ok = 0 THEN 'failed' ELSE 'partial_success' END, \
           completed_at = $2, \
           error_summary = CASE WHEN counts.bad = 0 THEN b.error_summary ELSE errs.summary END \
         FROM counts, errs WHERE b.id = $1",
    )
    .bind(batch_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Cancels the batch: status `cancelled`; every call/email it created that is still `queued`
/// (not yet claimed by dispatch) becomes `cancelled` with the reason in its metadata; pending
/// items and items whose rows were just cancelled become `cancelled`. Idempotent, and it waits
/// for an item being processed right now so that item's rows are cancelled too.
pub async fn cancel(pool: &PgPool, batch_id: Uuid) -> Result<BatchOutcome, SchedulingError> {
    let mut tx = pool.begin().await?;
    let exists: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM discharge_batches WHERE id = $1 FOR UPDATE")
            .bind(batch_id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Err(SchedulingError::BatchNotFound(batch_id));
    }
    cancel_in(&mut tx, batch_id).await?;
    tx.commit().await?;
    outcome(pool, batch_id).await
}

/// The cancel cascade on a transaction that already holds the batch row lock.
async fn cancel_in(tx: &mut PgConnection, batch_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE discharge_batches SET status = 'cancelled', cancelled_at = COALESCE(cancelled_at, now()) \
         WHERE id = $1",
    )
    .bind(batch_id)
    .execute(&mut *tx)
    .await?;
    let stop = json!({"cancelled_reason": CANCEL_REASON, "cancelled_by": "discharge_batch"});
    let calls: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE outbound_calls oc SET status = 'cancelled', \
           metadata = COALESCE(oc.metadata, '{}'::jsonb) || $2 || jsonb_build_object('cancelled_at', now()) \
         FROM discharge_batch_items i \
         WHERE i.batch_id = $1 AND i.outbound_call_id = oc.id AND oc.status = 'queued' RETURNING oc.id",
    )
    .bind(batch_id)
    .bind(&stop)
    .fetch_all(&mut *tx)
    .await?;
    let emails: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE outbound_emails oe SET status = 'cancelled', \
           metadata = COALESCE(oe.metadata, '{}'::jsonb) || $2 || jsonb_build_object('cancelled_at', now()) \
         FROM discharge_batch_items i \
         WHERE i.batch_id = $1 AND i.outbound_email_id = oe.id AND oe.status = 'queued' RETURNING oe.id",
    )
    .bind(batch_id)
    .bind(&stop)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE discharge_batch_items SET status = 'cancelled', \
           error_message = COALESCE(error_message, $4) \
         WHERE batch_id = $1 AND (status = 'pending' OR (status = 'success' AND \
           (outbound_call_id = ANY($2) OR outbound_email_id = ANY($3))))",
    )
    .bind(batch_id)
    .bind(&calls)
    .bind(&emails)
    .bind(CANCEL_REASON)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// `status, processed_cases, successful_cases, failed_cases` of a batch.
type CounterRow = (Option<String>, Option<i32>, Option<i32>, Option<i32>);

async fn outcome(pool: &PgPool, batch_id: Uuid) -> Result<BatchOutcome, SchedulingError> {
    let row: Option<CounterRow> = sqlx::query_as(
        "SELECT status, processed_cases, successful_cases, failed_cases FROM discharge_batches WHERE id = $1",
    )
    .bind(batch_id)
    .fetch_optional(pool)
    .await?;
    let Some((status, processed, succeeded, failed)) = row else {
        return Err(SchedulingError::BatchNotFound(batch_id));
    };
    let status = status.unwrap_or_else(|| "pending".into());
    Ok(BatchOutcome {
        batch_id,
        cancelled: status == "cancelled",
        status,
        processed: processed.unwrap_or(0),
        succeeded: succeeded.unwrap_or(0),
        failed: failed.unwrap_or(0),
    })
}

/// Batches the sweeper should hand to [`process`]: `pending` ones; `processing` ones whose
/// worker died (untouched for [`STALE_AFTER_SECS`]); and `cancelled` ones that still have
/// pending items or queued calls/emails (cancelled by the dashboard with a plain UPDATE while
/// no worker was on them — `process` runs the cancel cascade). Oldest first.
pub async fn due_batches(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT b.id FROM discharge_batches b \
         WHERE b.status = 'pending' \
            OR (b.status = 'processing' AND b.updated_at < now() - make_interval(secs => $1)) \
            OR (b.status = 'cancelled' AND EXISTS ( \
                 SELECT 1 FROM discharge_batch_items i \
                 LEFT JOIN outbound_calls c ON c.id = i.outbound_call_id \
                 LEFT JOIN outbound_emails e ON e.id = i.outbound_email_id \
                 WHERE i.batch_id = b.id \
                   AND (i.status = 'pending' OR c.status = 'queued' OR e.status = 'queued'))) \
         ORDER BY b.created_at, b.id",
    )
    .bind(STALE_AFTER_SECS as f64)
    .fetch_all(pool)
    .await
}
