//! The auto-scheduling tables: `auto_scheduling_runs`, `auto_scheduled_items`, `auto_scheduling_config`, `clinic_case_type_cadence`.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

// --- scheduling (scheduling/auto_schedule) ---

/// Starts a run's bookkeeping row (`running`, empty results); returns its id.
pub async fn insert_run(
    ex: impl PgExecutor<'_>,
    started_at: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO auto_scheduling_runs (started_at, status, results) \
         VALUES ($1, $2, '[]') RETURNING id",
    )
    .bind(started_at)
    .bind(crate::domain::status::RunStatus::Running.as_str())
    .fetch_one(ex)
    .await
}

/// A run that could not complete: `failed`, with the error.
pub async fn fail_run(
    ex: impl PgExecutor<'_>,
    run_id: Uuid,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE auto_scheduling_runs SET status = $3, completed_at = now(), \
         error_message = $2 WHERE id = $1",
    )
    .bind(run_id)
    .bind(message)
    .bind(crate::domain::status::RunStatus::Failed.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

/// What a finished run records.
#[derive(Debug, Clone)]
pub struct RunTotals {
    pub status: crate::domain::status::RunStatus,
    /// One object per clinic.
    pub results: Value,
    pub cases_processed: i32,
    pub emails_scheduled: i32,
    pub calls_scheduled: i32,
    pub errors: i32,
}

pub async fn finish_run(
    ex: impl PgExecutor<'_>,
    run_id: Uuid,
    totals: &RunTotals,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE auto_scheduling_runs SET completed_at = now(), status = $2, results = $3, \
         total_cases_processed = $4, total_emails_scheduled = $5, total_calls_scheduled = $6, \
         total_errors = $7 WHERE id = $1",
    )
    .bind(run_id)
    .bind(totals.status.as_str())
    .bind(&totals.results)
    .bind(totals.cases_processed)
    .bind(totals.emails_scheduled)
    .bind(totals.calls_scheduled)
    .bind(totals.errors)
    .execute(ex)
    .await
    .map(|_| ())
}

/// A clinic with auto-scheduling enabled: its `clinics` columns, its `auto_scheduling_config`
/// (`cfg_*`) and its `clinic_settings` (`st_*`, NULL without a settings row).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnabledClinic {
    pub id: Uuid,
    pub name: String,
    pub timezone: String,
    pub phone: Option<String>,
    pub primary_color: Option<String>,
    pub logo_url: Option<String>,
    pub auto_email_enabled: Option<bool>,
    pub auto_call_enabled: Option<bool>,
    pub cfg_email_delay_days: Option<i32>,
    pub cfg_call_delay_days: Option<i32>,
    pub preferred_email_time: Option<NaiveTime>,
    pub preferred_call_time: Option<NaiveTime>,
    pub scheduling_criteria: Option<Value>,
    pub has_settings: bool,
    pub st_email_delay_days: Option<i32>,
    pub st_call_delay_days: Option<i32>,
    pub preferred_email_start_time: Option<NaiveTime>,
    pub preferred_call_start_time: Option<NaiveTime>,
    pub emergency_phone: Option<String>,
}

/// Active clinics whose `auto_scheduling_config.is_enabled`, optionally only `only`; by name.
pub async fn enabled_clinics(
    ex: impl PgExecutor<'_>,
    only: Option<&[Uuid]>,
) -> Result<Vec<EnabledClinic>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.timezone, c.phone, c.primary_color, c.logo_url, \
                cfg.auto_email_enabled, cfg.auto_call_enabled, \
                cfg.email_delay_days AS cfg_email_delay_days, cfg.call_delay_days AS cfg_call_delay_days, \
                cfg.preferred_email_time, cfg.preferred_call_time, cfg.scheduling_criteria, \
                (st.id IS NOT NULL) AS has_settings, \
                st.email_delay_days AS st_email_delay_days, st.call_delay_days AS st_call_delay_days, \
                st.preferred_email_start_time, st.preferred_call_start_time, st.emergency_phone \
         FROM auto_scheduling_config cfg \
         JOIN clinics c ON c.id = cfg.clinic_id \
         LEFT JOIN clinic_settings st ON st.clinic_id = c.id \
         WHERE cfg.is_enabled IS TRUE \
           AND COALESCE(c.is_active, true) \
           AND ($1::uuid[] IS NULL OR c.id = ANY($1)) \
         ORDER BY c.name",
    )
    .bind(only)
    .fetch_all(ex)
    .await
}

/// A `clinic_case_type_cadence` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseTypeCadenceRow {
    pub clinic_id: Uuid,
    pub case_type: String,
    pub auto_schedule_call: Option<bool>,
    pub auto_schedule_email: Option<bool>,
    pub call_delay_days: Option<i32>,
    pub email_delay_days: Option<i32>,
    pub preferred_call_time: Option<NaiveTime>,
    pub preferred_email_time: Option<NaiveTime>,
    pub never_auto_schedule: Option<bool>,
}

/// The per-case-type cadences of the given clinics.
pub async fn case_type_cadences(
    ex: impl PgExecutor<'_>,
    clinic_ids: &[Uuid],
) -> Result<Vec<CaseTypeCadenceRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT clinic_id, case_type, auto_schedule_call, auto_schedule_email, call_delay_days, \
         email_delay_days, preferred_call_time, preferred_email_time, never_auto_schedule \
         FROM clinic_case_type_cadence WHERE clinic_id = ANY($1)",
    )
    .bind(clinic_ids)
    .fetch_all(ex)
    .await
}

/// An `auto_scheduled_items` row to write as `scheduled`.
#[derive(Debug, Clone)]
pub struct NewScheduledItem {
    pub id: Uuid,
    pub case_id: Uuid,
    pub outbound_email_id: Option<Uuid>,
    pub outbound_call_id: Option<Uuid>,
    pub scheduled_config: Value,
}

/// Writes one page's items (`scheduled`) for the clinic and run, in one statement.
pub async fn insert_scheduled_items(
    ex: impl PgExecutor<'_>,
    clinic_id: Uuid,
    run_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    items: &[NewScheduledItem],
) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO auto_scheduled_items (id, case_id, clinic_id, run_id, outbound_email_id, \
         outbound_call_id, status, scheduled_config, created_at) \
         SELECT u.id, u.case_id, $1, $2, u.email_id, u.call_id, $9, u.cfg, $3 \
         FROM UNNEST($4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[], $8::jsonb[]) \
              AS u(id, case_id, email_id, call_id, cfg)",
    )
    .bind(clinic_id)
    .bind(run_id)
    .bind(created_at)
    .bind(items.iter().map(|i| i.id).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.case_id).collect::<Vec<_>>())
    .bind(
        items
            .iter()
            .map(|i| i.outbound_email_id)
            .collect::<Vec<_>>(),
    )
    .bind(items.iter().map(|i| i.outbound_call_id).collect::<Vec<_>>())
    .bind(
        items
            .iter()
            .map(|i| &i.scheduled_config)
            .collect::<Vec<_>>(),
    )
    .bind(crate::domain::status::ScheduledItemStatus::Scheduled.as_str())
    .execute(ex)
    .await
    .map(|_| ())
}

// --- item follow-up (jobs/items) ---

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

// --- reads for operators (http/ops) ---

/// One auto-scheduling run as the console lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: Uuid,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub status: Option<String>,
    /// One object per clinic (counts, skips by reason, errors).
    pub results: Option<Value>,
    pub total_cases_processed: Option<i32>,
    pub total_emails_scheduled: Option<i32>,
    pub total_calls_scheduled: Option<i32>,
    pub total_errors: Option<i32>,
    pub error_message: Option<String>,
}

/// The most recent runs, newest first.
pub async fn recent_runs(ex: impl PgExecutor<'_>, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, started_at, completed_at, status, results, total_cases_processed, \
                total_emails_scheduled, total_calls_scheduled, total_errors, error_message \
         FROM auto_scheduling_runs ORDER BY started_at DESC NULLS LAST, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(ex)
    .await
}
