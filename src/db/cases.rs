//! `cases`, their `patients` and `discharge_summaries`: what a follow-up is about.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

// --- dispatch (jobs/dispatch) ---

/// A case as dispatch sees it: the blocked-case facts, and what the call's variables use.
#[derive(Clone, Debug)]
pub struct CaseForDispatch {
    pub facts: crate::domain::blocked::CaseFacts,
    /// `cases.patient_snapshot` (`{}` when NULL).
    pub snapshot: Value,
    pub patient_name: Option<String>,
    pub species: Option<String>,
    pub client_name: Option<String>,
    /// The latest discharge summary's `structured_content` (`{}` when none).
    pub structured_summary: Value,
    /// The latest SOAP note's `client_instructions` and `plan`.
    pub soap_instructions: Option<String>,
    pub soap_plan: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CaseForDispatchRow {
    #[sqlx(rename = "type")]
    case_type: Option<String>,
    detected_case_type: Option<String>,
    metadata: Value,
    entity_extraction: Value,
    extreme_case_check: Value,
    snapshot: Value,
    patient_name: Option<String>,
    species: Option<String>,
    deceased: bool,
    client_name: Option<String>,
    summary: Option<String>,
    structured: Value,
    soap_instructions: Option<String>,
    soap_plan: Option<String>,
}

/// The case, its patient/client and its latest discharge summary, read only within `clinic_id`
/// (the clinic the call or email acts for): `None` when the case is not one of that clinic's.
/// Every join is clinic-scoped too, so no row of another clinic can reach a provider request
/// (`docs/behaviour.md#tenant-isolation`).
pub async fn load_for_dispatch(
    ex: impl PgExecutor<'_>,
    case_id: Uuid,
    clinic_id: Uuid,
) -> Result<Option<CaseForDispatch>, sqlx::Error> {
    let row: Option<CaseForDispatchRow> = sqlx::query_as(
        "SELECT k.type, k.detected_case_type, coalesce(k.metadata, '{}'::jsonb) AS metadata, \
           coalesce(k.entity_extraction, '{}'::jsonb) AS entity_extraction, \
           coalesce(k.extreme_case_check, '{}'::jsonb) AS extreme_case_check, \
           coalesce(k.patient_snapshot, '{}'::jsonb) AS snapshot, \
           p.name AS patient_name, p.species, coalesce(p.is_deceased, false) AS deceased, \
           cl.display_name AS client_name, \
           d.content AS summary, coalesce(d.structured_content, '{}'::jsonb) AS structured, \
           sn.client_instructions AS soap_instructions, sn.plan AS soap_plan \
         FROM cases k \
         LEFT JOIN patients p ON p.id = k.patient_id AND p.clinic_id = k.clinic_id \
         LEFT JOIN clients cl ON cl.id = k.client_id AND cl.clinic_id = k.clinic_id \
         LEFT JOIN LATERAL (SELECT content, structured_content FROM discharge_summaries \
                            WHERE case_id = k.id AND clinic_id = k.clinic_id \
                            ORDER BY created_at DESC LIMIT 1) d ON true \
         LEFT JOIN LATERAL (SELECT client_instructions, plan FROM soap_notes \
                            WHERE case_id = k.id AND clinic_id = k.clinic_id \
                            ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1) sn ON true \
         WHERE k.id = $1 AND k.clinic_id = $2",
    )
    .bind(case_id)
    .bind(clinic_id)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(CaseForDispatch {
        facts: crate::domain::blocked::CaseFacts {
            case_type: r.case_type,
            detected_case_type: r.detected_case_type,
            metadata: r.metadata,
            entity_extraction: r.entity_extraction,
            extreme_case_check: r.extreme_case_check,
            patient_deceased: r.deceased,
            discharge_summary: r.summary,
        },
        snapshot: r.snapshot,
        patient_name: r.patient_name,
        species: r.species,
        client_name: r.client_name,
        structured_summary: r.structured,
        soap_instructions: r.soap_instructions,
        soap_plan: r.soap_plan,
    }))
}

// --- scheduling (scheduling/) ---

/// Columns and joins of "everything needed to schedule a follow-up for a case"; callers append
/// `WHERE ...` with their own parameters, so the statuses of the "already has" probes are
/// spelled from `domain::status` into the text instead of being bound. The patient, client and
/// latest discharge summary come from LATERAL joins with `LIMIT 1` and the "already has a live
/// email/call" flags from EXISTS probes on indexed columns, so a page of cases is one statement
/// whose cost is a few index probes per row: a plain join lets the planner hash the whole
/// `patients` and `clients` tables for every page (docs/benchmarks.md, auto-scheduling).
/// Displays as the SQL text.
pub struct CaseSelect;

/// The shared SELECT prefix (see [`CaseSelect`]).
pub const CASE_SELECT: CaseSelect = CaseSelect;

/// [`CASE_SELECT`]'s columns and joins over `from`, which must name the case row `ca`.
fn case_select_from(from: &str) -> String {
    format!(
        r#"
SELECT ca.id, ca.clinic_id, ca.status, COALESCE(ca.type, ca.detected_case_type) AS case_type,
       ca.type AS own_case_type, ca.detected_case_type,
       ca.created_at, ca.cadence_source, ca.call_enabled, ca.email_enabled,
       ca.call_delay_days, ca.email_delay_days, ca.entity_extraction, ca.extreme_case_check,
       ca.metadata, ca.patient_snapshot,
       cl.display_name AS client_name, cl.phone AS client_phone, cl.email AS client_email,
       cl.communication_opt_out AS client_opt_out,
       p.name AS patient_name, p.species AS patient_species, p.is_deceased AS patient_deceased,
       ds.content AS summary_content, ds.structured_content AS summary_structured,
       (ds.id IS NOT NULL) AS has_summary,
       sn.client_instructions AS soap_instructions, sn.plan AS soap_plan,
       EXISTS (SELECT 1 FROM auto_scheduled_items i
               WHERE i.case_id = ca.id AND i.status = '{scheduled}') AS has_scheduled_item,
       EXISTS (SELECT 1 FROM outbound_emails e
               WHERE e.case_id = ca.id AND e.status NOT IN ('{email_failed}', '{email_cancelled}')) AS has_live_email,
       EXISTS (SELECT 1 FROM outbound_calls c
               WHERE c.case_id = ca.id AND c.status NOT IN ('{call_failed}', '{call_cancelled}')) AS has_live_call
FROM {from}
LEFT JOIN LATERAL (
    SELECT p.name, p.species, p.is_deceased, p.client_id FROM patients p
    WHERE p.id = ca.patient_id LIMIT 1
) p ON true
LEFT JOIN LATERAL (
    SELECT cl.display_name, cl.phone, cl.email, cl.communication_opt_out FROM clients cl
    WHERE cl.id = COALESCE(ca.client_id, p.client_id) LIMIT 1
) cl ON true
LEFT JOIN LATERAL (
    SELECT d.id, d.content, d.structured_content FROM discharge_summaries d
    WHERE d.case_id = ca.id ORDER BY d.created_at DESC NULLS LAST, d.id DESC LIMIT 1
) ds ON true
LEFT JOIN LATERAL (
    SELECT s.client_instructions, s.plan FROM soap_notes s
    WHERE s.case_id = ca.id ORDER BY s.created_at DESC NULLS LAST, s.id DESC LIMIT 1
) sn ON true
"#,
        scheduled = crate::domain::status::ScheduledItemStatus::Scheduled.as_str(),
        email_failed = crate::domain::status::EmailStatus::Failed.as_str(),
        email_cancelled = crate::domain::status::EmailStatus::Cancelled.as_str(),
        call_failed = crate::domain::status::CallStatus::Failed.as_str(),
        call_cancelled = crate::domain::status::CallStatus::Cancelled.as_str(),
    )
}

impl CaseSelect {
    pub fn sql(&self) -> &'static str {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        SQL.get_or_init(|| case_select_from("cases ca"))
    }
}

impl std::fmt::Display for CaseSelect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.sql())
    }
}

/// One row of [`CASE_SELECT`].
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub status: Option<String>,
    /// `COALESCE(type, detected_case_type)`: the type cadence and email content go by.
    pub case_type: Option<String>,
    /// `cases.type` as stored.
    pub own_case_type: Option<String>,
    pub detected_case_type: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub cadence_source: Option<String>,
    pub call_enabled: Option<bool>,
    pub email_enabled: Option<bool>,
    pub call_delay_days: Option<i32>,
    pub email_delay_days: Option<i32>,
    pub entity_extraction: Option<Value>,
    pub extreme_case_check: Option<Value>,
    pub metadata: Option<Value>,
    pub patient_snapshot: Option<Value>,
    pub client_name: Option<String>,
    pub client_phone: Option<String>,
    pub client_email: Option<String>,
    pub client_opt_out: Option<bool>,
    pub patient_name: Option<String>,
    pub patient_species: Option<String>,
    pub patient_deceased: Option<bool>,
    pub summary_content: Option<String>,
    pub summary_structured: Option<Value>,
    pub has_summary: Option<bool>,
    /// The latest `soap_notes` row's `client_instructions` and `plan` (they override the
    /// follow-up instructions a call speaks, `docs/behaviour.md#call-variables`).
    pub soap_instructions: Option<String>,
    pub soap_plan: Option<String>,
    pub has_scheduled_item: Option<bool>,
    pub has_live_email: Option<bool>,
    pub has_live_call: Option<bool>,
}

/// One page of a clinic's auto-scheduling candidates, newest first (keyset pagination).
#[derive(Debug, Clone)]
pub struct CandidatePage<'a> {
    pub clinic_id: Uuid,
    /// `cases.status` values the clinic's criteria include.
    pub statuses: &'a [String],
    /// Oldest `created_at` still eligible.
    pub created_since: DateTime<Utc>,
    /// `(created_at, id)` of the last row of the previous page.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Cases of the clinic never scheduled (neither auto nor by hand), in the given statuses and
/// not older than `created_since`. The page's ids come first, walking `idx_cases_created_at`
/// (clinic_id, created_at DESC, id DESC) in keyset order, so a page costs about its own rows
/// whatever page it is (no sort of the clinic's remaining candidates per page); only those rows
/// are joined. No index mentions the claimed columns, so the claim stays a HOT update
/// (docs/benchmarks.md, auto-scheduling); claimed cases are skipped on the heap row. The first
/// page and the later ones are two statements: a keyset bound written as `$4 IS NULL OR …`
/// would be a filter, not an index condition, and each page would rescan the ones before it.
pub async fn auto_schedule_candidates(
    ex: impl PgExecutor<'_>,
    page: &CandidatePage<'_>,
) -> Result<Vec<CaseRow>, sqlx::Error> {
    static FIRST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static AFTER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = |keyset: &str| {
        format!(
            "WITH page AS MATERIALIZED ( \
               SELECT k.id FROM cases k WHERE k.clinic_id = $1 AND k.auto_scheduled_at IS NULL \
               AND k.scheduling_source IS NULL AND k.status = ANY($2) AND k.created_at >= $3 \
               {keyset} ORDER BY k.created_at DESC, k.id DESC LIMIT $4) \
             {} ORDER BY ca.created_at DESC, ca.id DESC",
            case_select_from("page JOIN cases ca ON ca.id = page.id")
        )
    };
    let query = match page.after {
        None => sqlx::query_as(sqlx::AssertSqlSafe(FIRST.get_or_init(|| sql("")).as_str())),
        Some(_) => sqlx::query_as(sqlx::AssertSqlSafe(
            AFTER
                .get_or_init(|| sql("AND (k.created_at, k.id) < ($5, $6)"))
                .as_str(),
        )),
    };
    let query = query
        .bind(page.clinic_id)
        .bind(page.statuses)
        .bind(page.created_since)
        .bind(page.limit);
    let query = match page.after {
        None => query,
        Some((at, id)) => query.bind(at).bind(id),
    };
    query.fetch_all(ex).await
}

/// One case, as [`CASE_SELECT`] reads it.
pub async fn case_for_scheduling(
    ex: impl PgExecutor<'_>,
    case_id: Uuid,
) -> Result<Option<CaseRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CASE_SELECT} WHERE ca.id = $1"
    )))
    .bind(case_id)
    .fetch_optional(ex)
    .await
}

/// Marks the cases auto-scheduled at `now`, only those nobody scheduled yet; returns the ids
/// it marked. This claim is what makes a second or concurrent run schedule nothing twice.
pub async fn claim_for_auto_schedule(
    ex: impl PgExecutor<'_>,
    case_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE cases SET auto_scheduled_at = $2, scheduling_source = 'auto' \
         WHERE id = ANY($1) AND auto_scheduled_at IS NULL AND scheduling_source IS NULL \
         RETURNING id",
    )
    .bind(case_ids)
    .bind(now)
    .fetch_all(ex)
    .await
}

// --- webhooks (webhooks/vapi) ---

/// A critical attention flag on an outbound call marks its case urgent
/// (`docs/behaviour.md#vapi-end-of-call`).
pub async fn mark_case_urgent(conn: &mut PgConnection, case_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET is_urgent = true WHERE id = $1 AND is_urgent IS NOT TRUE")
        .bind(case_id)
        .execute(conn)
        .await
        .map(|_| ())
}
