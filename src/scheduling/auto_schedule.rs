//! The auto-scheduling run (behavior.md §3, with issue 5's corrections).
//!
//! Shape, chosen so it stays fast at 100k cases: per clinic, candidate cases are read in pages
//! of [`PAGE_SIZE`] by one keyset query (newest first) that also brings the latest discharge
//! summary, contacts and "already has a live call/email" flags; times and content are computed
//! in Rust with the pure functions of [`crate::domain::clock`], [`crate::domain::cadence`] and
//! [`super::content`]; each page is written in one transaction with a handful of bulk
//! `INSERT ... SELECT FROM UNNEST(...)` statements. Memory is bounded by the page size.
//!
//! Idempotency: a page's transaction first *claims* its cases with
//! `UPDATE cases SET auto_scheduled_at, scheduling_source='auto' WHERE ... IS NULL RETURNING id`;
//! only claimed cases get rows, so a second (or a concurrent) run schedules nothing twice. The
//! partial unique index `uq_auto_scheduled_items_case_live` backs this up.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::case_data::{CaseRow, ClinicInfo, CASE_SELECT};
use super::SchedulingError;
use crate::domain::cadence::{
    self, CaseCadence, ConfigCadence, Resolution, SettingsCadence, TypeCadence,
};
use crate::domain::clock;

/// Cases per read/write round; a page is one SELECT and one write transaction.
pub const PAGE_SIZE: i64 = 1000;
/// Per-clinic cap on the skip list kept in `auto_scheduling_runs.results` (counts are complete).
const MAX_SKIPS_LISTED: usize = 500;
/// Calls of one clinic that land on the same minute are moved this far apart.
const CALL_SPREAD: Duration = Duration::minutes(2);

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only these clinics (still only those whose `auto_scheduling_config.is_enabled`).
    pub clinic_ids: Option<Vec<Uuid>>,
    /// Compute everything, write nothing (no run row either).
    pub dry_run: bool,
    /// The run's notion of "now": schedule times, case ages and `auto_scheduled_at` use it.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct RunSummary {
    pub run_id: Option<Uuid>,
    /// `completed` | `partial` | `failed` (a dry run reports what the run would have been).
    pub status: String,
    pub clinics: usize,
    /// Cases that got at least one email or call.
    pub cases_processed: i64,
    pub emails_scheduled: i64,
    pub calls_scheduled: i64,
    pub skipped: i64,
    pub errors: i64,
    /// One object per clinic, the same objects stored in `auto_scheduling_runs.results`.
    pub per_clinic: Vec<Value>,
}

/// Skip reason codes (behavior.md §3.3, plus the ones the corrected rules add).
pub mod reason {
    pub const EXTREME_CASE: &str = "EXTREME_CASE";
    pub const NO_CONTACT_INFO: &str = "NO_CONTACT_INFO";
    pub const NO_DISCHARGE_SUMMARY: &str = "NO_DISCHARGE_SUMMARY";
    /// Younger than `minCaseAgeHours` (the old code reported this as CASE_TOO_OLD).
    pub const CASE_TOO_NEW: &str = "CASE_TOO_NEW";
    pub const ALREADY_SCHEDULED: &str = "ALREADY_SCHEDULED";
    pub const NEVER_AUTO_SCHEDULE: &str = "NEVER_AUTO_SCHEDULE";
    /// The client opted out of communication (`clients.communication_opt_out`).
    pub const OPTED_OUT: &str = "OPTED_OUT";
    /// Channels disabled, already present, or lacking the matching contact.
    pub const NOTHING_TO_SCHEDULE: &str = "NOTHING_TO_SCHEDULE";
    /// Another run claimed the case between our read and our write.
    pub const CLAIMED_ELSEWHERE: &str = "CLAIMED_ELSEWHERE";
}

#[derive(Debug, sqlx::FromRow)]
struct ClinicRow {
    id: Uuid,
    name: String,
    timezone: String,
    phone: Option<String>,
    primary_color: Option<String>,
    logo_url: Option<String>,
    auto_email_enabled: Option<bool>,
    auto_call_enabled: Option<bool>,
    cfg_email_delay_days: Option<i32>,
    cfg_call_delay_days: Option<i32>,
    preferred_email_time: Option<NaiveTime>,
    preferred_call_time: Option<NaiveTime>,
    scheduling_criteria: Option<Value>,
    has_settings: bool,
    st_email_delay_days: Option<i32>,
    st_call_delay_days: Option<i32>,
    preferred_email_start_time: Option<NaiveTime>,
    preferred_call_start_time: Option<NaiveTime>,
    emergency_phone: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct TypeRow {
    clinic_id: Uuid,
    case_type: String,
    auto_schedule_call: Option<bool>,
    auto_schedule_email: Option<bool>,
    call_delay_days: Option<i32>,
    email_delay_days: Option<i32>,
    preferred_call_time: Option<NaiveTime>,
    preferred_email_time: Option<NaiveTime>,
    never_auto_schedule: Option<bool>,
}

/// `scheduling_criteria` with the old defaults.
#[derive(Debug, Clone)]
struct Criteria {
    statuses: Vec<String>,
    max_age_days: i64,
    min_age_hours: i64,
    require_contact: bool,
    require_summary: bool,
}

impl Criteria {
    fn from_json(v: Option<&Value>) -> Self {
        let get = |k: &str| v.and_then(|v| v.get(k));
        let statuses: Vec<String> = get("includeCaseStatuses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .filter(|v: &Vec<String>| !v.is_empty())
            .unwrap_or_else(|| vec!["completed".to_string()]);
        Self {
            statuses,
            max_age_days: get("maxCaseAgeDays").and_then(Value::as_i64).unwrap_or(3),
            min_age_hours: get("minCaseAgeHours").and_then(Value::as_i64).unwrap_or(0),
            require_contact: get("requireContactInfo")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            require_summary: get("requireDischargeSummary")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        }
    }
}

/// One case's computed schedule.
struct Plan {
    case_id: Uuid,
    item_id: Uuid,
    email: Option<PlannedEmail>,
    call: Option<PlannedCall>,
    config: Value,
}

struct PlannedEmail {
    id: Uuid,
    at: DateTime<Utc>,
    recipient: String,
    name: Option<String>,
    subject: String,
    html: String,
    text: String,
}

struct PlannedCall {
    id: Uuid,
    at: DateTime<Utc>,
    phone: String,
    variables: serde_json::Map<String, Value>,
}

#[derive(Default)]
struct ClinicTally {
    cases_found: i64,
    processed: i64,
    emails: i64,
    calls: i64,
    skipped: Vec<Value>,
    skipped_total: i64,
    by_reason: BTreeMap<String, i64>,
    errors: Vec<Value>,
    error_count: i64,
}

impl ClinicTally {
    fn skip(&mut self, case_id: Uuid, code: &str, detail: Option<String>) {
        self.skipped_total += 1;
        *self.by_reason.entry(code.to_string()).or_default() += 1;
        if self.skipped.len() < MAX_SKIPS_LISTED {
            let mut s = json!({"caseId": case_id, "reason": code});
            if let Some(d) = detail {
                s["detail"] = Value::String(d);
            }
            self.skipped.push(s);
        }
    }
}

const CLINICS_SQL: &str = r#"
SELECT c.id, c.name, c.timezone, c.phone, c.primary_color, c.logo_url,
       cfg.auto_email_enabled, cfg.auto_call_enabled,
       cfg.email_delay_days AS cfg_email_delay_days, cfg.call_delay_days AS cfg_call_delay_days,
       cfg.preferred_email_time, cfg.preferred_call_time, cfg.scheduling_criteria,
       (st.id IS NOT NULL) AS has_settings,
       st.email_delay_days AS st_email_delay_days, st.call_delay_days AS st_call_delay_days,
       st.preferred_email_start_time, st.preferred_call_start_time, st.emergency_phone
FROM auto_scheduling_config cfg
JOIN clinics c ON c.id = cfg.clinic_id
LEFT JOIN clinic_settings st ON st.clinic_id = c.id
WHERE cfg.is_enabled IS TRUE
  AND COALESCE(c.is_active, true)
  AND ($1::uuid[] IS NULL OR c.id = ANY($1))
ORDER BY c.name
"#;

/// Runs auto-scheduling over the enabled clinics. Per-clinic failures make the run `partial`
/// (or `failed` if nothing was scheduled) and are recorded; an error is returned only when the
/// run could not even be started or its bookkeeping written.
pub async fn run(pool: &PgPool, opts: &RunOptions) -> Result<RunSummary, SchedulingError> {
    let run_id: Option<Uuid> = if opts.dry_run {
        None
    } else {
        Some(
            sqlx::query_scalar(
                "INSERT INTO auto_scheduling_runs (started_at, status, results) \
                 VALUES ($1, 'running', '[]') RETURNING id",
            )
            .bind(opts.now)
            .fetch_one(pool)
            .await?,
        )
    };

    let result = run_clinics(pool, opts, run_id).await;
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            if let Some(id) = run_id {
                // Best effort: the original error is what the caller needs to see.
                let _ = sqlx::query(
                    "UPDATE auto_scheduling_runs SET status = 'failed', completed_at = now(), \
                     error_message = $2 WHERE id = $1",
                )
                .bind(id)
                .bind(e.to_string())
                .execute(pool)
                .await;
            }
            return Err(e);
        }
    };

    if let Some(id) = run_id {
        sqlx::query(
            "UPDATE auto_scheduling_runs SET completed_at = now(), status = $2, results = $3, \
             total_cases_processed = $4, total_emails_scheduled = $5, total_calls_scheduled = $6, \
             total_errors = $7 WHERE id = $1",
        )
        .bind(id)
        .bind(&summary.status)
        .bind(Value::Array(summary.per_clinic.clone()))
        .bind(clamp_i32(summary.cases_processed))
        .bind(clamp_i32(summary.emails_scheduled))
        .bind(clamp_i32(summary.calls_scheduled))
        .bind(clamp_i32(summary.errors))
        .execute(pool)
        .await?;
    }
    Ok(summary)
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

async fn run_clinics(
    pool: &PgPool,
    opts: &RunOptions,
    run_id: Option<Uuid>,
) -> Result<RunSummary, SchedulingError> {
    let clinics: Vec<ClinicRow> = sqlx::query_as(CLINICS_SQL)
        .bind(opts.clinic_ids.as_deref())
        .fetch_all(pool)
        .await?;
    let ids: Vec<Uuid> = clinics.iter().map(|c| c.id).collect();
    let type_rows: Vec<TypeRow> = sqlx::query_as(
        "SELECT clinic_id, case_type, auto_schedule_call, auto_schedule_email, call_delay_days, \
         email_delay_days, preferred_call_time, preferred_email_time, never_auto_schedule \
         FROM clinic_case_type_cadence WHERE clinic_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut types: HashMap<(Uuid, String), TypeCadence> = HashMap::new();
    for t in type_rows {
        types.insert(
            (t.clinic_id, t.case_type.trim().to_lowercase()),
            TypeCadence {
                auto_schedule_call: t.auto_schedule_call,
                auto_schedule_email: t.auto_schedule_email,
                call_delay_days: t.call_delay_days,
                email_delay_days: t.email_delay_days,
                preferred_call_time: t.preferred_call_time,
                preferred_email_time: t.preferred_email_time,
                never_auto_schedule: t.never_auto_schedule,
            },
        );
    }

    let mut summary = RunSummary {
        run_id,
        status: "completed".into(),
        clinics: clinics.len(),
        cases_processed: 0,
        emails_scheduled: 0,
        calls_scheduled: 0,
        skipped: 0,
        errors: 0,
        per_clinic: Vec::with_capacity(clinics.len()),
    };
    for clinic in &clinics {
        let mut tally = ClinicTally::default();
        if let Err(e) = run_clinic(pool, opts, run_id, clinic, &types, &mut tally).await {
            tracing::error!(clinic_id = %clinic.id, error = %e, "auto-scheduling failed for clinic");
            tally.error_count += 1;
            tally
                .errors
                .push(json!({"message": e.to_string(), "timestamp": opts.now}));
        }
        summary.cases_processed += tally.processed;
        summary.emails_scheduled += tally.emails;
        summary.calls_scheduled += tally.calls;
        summary.skipped += tally.skipped_total;
        summary.errors += tally.error_count;
        summary.per_clinic.push(json!({
            "clinicId": clinic.id,
            "clinicName": clinic.name,
            "timezone": clinic.timezone,
            "casesFound": tally.cases_found,
            "casesProcessed": tally.processed,
            "emailsScheduled": tally.emails,
            "callsScheduled": tally.calls,
            "errors": tally.errors,
            "skipped": tally.skipped,
            "skippedCount": tally.skipped_total,
            "skippedByReason": tally.by_reason,
        }));
    }
    summary.status = match (summary.errors, summary.cases_processed) {
        (0, _) => "completed",
        (_, 0) => "failed",
        _ => "partial",
    }
    .into();
    Ok(summary)
}

async fn run_clinic(
    pool: &PgPool,
    opts: &RunOptions,
    run_id: Option<Uuid>,
    clinic: &ClinicRow,
    types: &HashMap<(Uuid, String), TypeCadence>,
    tally: &mut ClinicTally,
) -> Result<(), SchedulingError> {
    let (tz, fell_back) =
        crate::domain::clinic_policy::clinic_tz_or_default(Some(&clinic.timezone));
    if fell_back {
        tracing::warn!(clinic_id = %clinic.id, timezone = %clinic.timezone,
            "unknown clinic time zone; using {}", crate::domain::clinic_policy::DEFAULT_TZ);
    }
    let criteria = Criteria::from_json(clinic.scheduling_criteria.as_ref());
    let config = ConfigCadence {
        auto_email_enabled: clinic.auto_email_enabled,
        auto_call_enabled: clinic.auto_call_enabled,
        email_delay_days: clinic.cfg_email_delay_days,
        call_delay_days: clinic.cfg_call_delay_days,
        preferred_email_time: clinic.preferred_email_time,
        preferred_call_time: clinic.preferred_call_time,
    };
    let settings = clinic.has_settings.then_some(SettingsCadence {
        email_delay_days: clinic.st_email_delay_days,
        call_delay_days: clinic.st_call_delay_days,
        preferred_email_start_time: clinic.preferred_email_start_time,
        preferred_call_start_time: clinic.preferred_call_start_time,
    });
    let info = ClinicInfo {
        name: Some(clinic.name.clone()),
        phone: clinic.phone.clone(),
        emergency_phone: clinic.emergency_phone.clone(),
        primary_color: clinic.primary_color.clone(),
        logo_url: clinic.logo_url.clone(),
    };

    // Minutes already taken by this clinic's queued calls (earlier runs, batches), so new calls
    // are spread around them too.
    let taken: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT scheduled_for FROM outbound_calls \
         WHERE clinic_id = $1 AND status = 'queued' AND scheduled_for >= $2",
    )
    .bind(clinic.id)
    .bind(opts.now - Duration::minutes(1))
    .fetch_all(pool)
    .await?;
    let mut occupied: HashSet<i64> = taken.iter().map(|t| minute_key(*t)).collect();
    let mut probe: HashMap<i64, i32> = HashMap::new();

    let oldest = opts.now - Duration::days(criteria.max_age_days.max(0));
    let newest_allowed = opts.now - Duration::hours(criteria.min_age_hours.max(0));
    let page_sql = format!(
        "{CASE_SELECT} WHERE ca.clinic_id = $1 AND ca.auto_scheduled_at IS NULL \
         AND ca.scheduling_source IS NULL AND ca.status = ANY($2) AND ca.created_at >= $3 \
         AND ($4::timestamptz IS NULL OR (ca.created_at, ca.id) < ($4, $5)) \
         ORDER BY ca.created_at DESC, ca.id DESC LIMIT $6"
    );
    let mut cursor: Option<(DateTime<Utc>, Uuid)> = None;
    loop {
        let rows: Vec<CaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(page_sql.clone()))
            .bind(clinic.id)
            .bind(&criteria.statuses)
            .bind(oldest)
            .bind(cursor.map(|c| c.0))
            .bind(cursor.map(|c| c.1).unwrap_or_else(Uuid::nil))
            .bind(PAGE_SIZE)
            .fetch_all(pool)
            .await?;
        let page_len = rows.len();
        cursor = rows.last().and_then(|r| r.created_at.map(|at| (at, r.id)));
        tally.cases_found += i64::try_from(page_len).unwrap_or(i64::MAX);

        let mut plans = Vec::with_capacity(page_len);
        for row in &rows {
            match plan_case(
                row,
                clinic.id,
                &criteria,
                newest_allowed,
                tz,
                opts.now,
                &info,
                types,
                &config,
                settings.as_ref(),
            ) {
                Ok(p) => plans.push(p),
                Err((code, detail)) => tally.skip(row.id, code, detail),
            }
        }
        // Spread calls landing on an occupied minute, in the order cases were read. `probe`
        // remembers, per original minute, how many steps were already taken so a popular
        // minute costs O(1) per call instead of rescanning the whole chain.
        for plan in &mut plans {
            if let Some(call) = plan.call.as_mut() {
                let base = call.at;
                let steps = probe.entry(minute_key(base)).or_insert(0);
                let mut at = base + CALL_SPREAD * *steps;
                while occupied.contains(&minute_key(at)) {
                    *steps += 1;
                    at = base + CALL_SPREAD * *steps;
                }
                occupied.insert(minute_key(at));
                call.at = at;
                plan.config["callScheduledFor"] = json!(at);
            }
        }

        if opts.dry_run {
            for p in &plans {
                tally.processed += 1;
                tally.emails += i64::from(p.email.is_some());
                tally.calls += i64::from(p.call.is_some());
            }
        } else if !plans.is_empty() {
            match write_page(pool, clinic.id, run_id, opts.now, &plans).await {
                Ok(claimed) => {
                    for p in &plans {
                        if claimed.contains(&p.case_id) {
                            tally.processed += 1;
                            tally.emails += i64::from(p.email.is_some());
                            tally.calls += i64::from(p.call.is_some());
                        } else {
                            tally.skip(p.case_id, reason::CLAIMED_ELSEWHERE, None);
                        }
                    }
                }
                Err(e) => {
                    // The page rolled back as a whole; its cases stay unmarked for the next run.
                    tracing::error!(clinic_id = %clinic.id, error = %e, "auto-scheduling page failed");
                    tally.error_count += i64::try_from(plans.len()).unwrap_or(i64::MAX);
                    for p in &plans {
                        tally.errors.push(json!({"caseId": p.case_id, "message": e.to_string(), "timestamp": opts.now}));
                    }
                }
            }
        }
        if i64::try_from(page_len).unwrap_or(0) < PAGE_SIZE || cursor.is_none() {
            break;
        }
    }
    Ok(())
}

fn minute_key(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

type Skip = (&'static str, Option<String>);

/// Eligibility (first failure wins) and the computed schedule for one case. Pure.
#[allow(clippy::too_many_arguments)]
fn plan_case(
    row: &CaseRow,
    clinic_id: Uuid,
    criteria: &Criteria,
    newest_allowed: DateTime<Utc>,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
    info: &ClinicInfo,
    types: &HashMap<(Uuid, String), TypeCadence>,
    config: &ConfigCadence,
    settings: Option<&SettingsCadence>,
) -> Result<Plan, Skip> {
    if let Some(why) = row.blocked_reason() {
        return Err((reason::EXTREME_CASE, Some(why)));
    }
    let phone = row.owner_phone();
    let email = row.owner_email();
    if criteria.require_contact && phone.is_none() && email.is_none() {
        return Err((reason::NO_CONTACT_INFO, None));
    }
    if criteria.require_summary && !row.has_summary.unwrap_or(false) {
        return Err((reason::NO_DISCHARGE_SUMMARY, None));
    }
    let created = row.created_at.unwrap_or(now);
    if created > newest_allowed {
        return Err((reason::CASE_TOO_NEW, None));
    }
    if row.has_scheduled_item.unwrap_or(false) {
        return Err((reason::ALREADY_SCHEDULED, None));
    }
    if row.client_opt_out.unwrap_or(false) {
        return Err((reason::OPTED_OUT, None));
    }
    let case_type = row.case_type.as_deref().map(|t| t.trim().to_lowercase());
    let type_cadence = case_type.and_then(|t| types.get(&(clinic_id, t)));
    let case_cadence = CaseCadence {
        cadence_source: row.cadence_source.clone(),
        call_enabled: row.call_enabled,
        email_enabled: row.email_enabled,
        call_delay_days: row.call_delay_days,
        email_delay_days: row.email_delay_days,
    };
    let cad = match cadence::resolve(&case_cadence, type_cadence, Some(config), settings) {
        Resolution::NeverAutoSchedule => return Err((reason::NEVER_AUTO_SCHEDULE, None)),
        Resolution::Schedule(c) => c,
    };
    // The case's day is its clinic-local calendar day (a 17:00 PT case is not "tomorrow").
    let base = clock::local_date(tz, created);

    let planned_email = match &email {
        Some(addr) if cad.email_enabled && !row.has_live_email.unwrap_or(false) => {
            let content = row.email(info).unwrap();
            Some(PlannedEmail {
                id: Uuid::new_v4(),
                at: clock::schedule_at(
                    tz,
                    base,
                    cad.email_delay_days,
                    cad.preferred_email_time,
                    now,
                ),
                recipient: addr.clone(),
                name: row.owner_name(),
                subject: content.subject,
                html: content.html,
                text: content.text,
            })
        }
        _ => None,
    };
    let planned_call = match &phone {
        Some(p) if cad.call_enabled && !row.has_live_call.unwrap_or(false) => Some(PlannedCall {
            id: Uuid::new_v4(),
            at: clock::schedule_at(tz, base, cad.call_delay_days, cad.preferred_call_time, now),
            phone: p.clone(),
            variables: row.call_variables(info),
        }),
        _ => None,
    };
    if planned_email.is_none() && planned_call.is_none() {
        return Err((reason::NOTHING_TO_SCHEDULE, None));
    }
    let mut config_json = serde_json::to_value(&cad).unwrap_or_else(|_| json!({}));
    config_json["timezone"] = json!(tz.name());
    config_json["emailScheduledFor"] = json!(planned_email.as_ref().map(|e| e.at));
    config_json["callScheduledFor"] = json!(planned_call.as_ref().map(|c| c.at));
    Ok(Plan {
        case_id: row.id,
        item_id: Uuid::new_v4(),
        email: planned_email,
        call: planned_call,
        config: config_json,
    })
}

/// Claims the page's cases and writes their emails, calls and items in one transaction.
/// Returns the ids of the cases actually claimed (written).
async fn write_page(
    pool: &PgPool,
    clinic_id: Uuid,
    run_id: Option<Uuid>,
    now: DateTime<Utc>,
    plans: &[Plan],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let case_ids: Vec<Uuid> = plans.iter().map(|p| p.case_id).collect();
    let claimed: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE cases SET auto_scheduled_at = $2, scheduling_source = 'auto' \
         WHERE id = ANY($1) AND auto_scheduled_at IS NULL AND scheduling_source IS NULL \
         RETURNING id",
    )
    .bind(&case_ids)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let claimed: HashSet<Uuid> = claimed.into_iter().collect();
    let plans: Vec<&Plan> = plans
        .iter()
        .filter(|p| claimed.contains(&p.case_id))
        .collect();

    let emails: Vec<(&Plan, &PlannedEmail)> = plans
        .iter()
        .filter_map(|p| p.email.as_ref().map(|e| (*p, e)))
        .collect();
    if !emails.is_empty() {
        let meta = |p: &Plan| json!({"source": "auto_schedule", "auto_scheduled": true, "run_id": run_id, "auto_scheduled_item_id": p.item_id});
        sqlx::query(
            "INSERT INTO outbound_emails (id, clinic_id, case_id, recipient_email, recipient_name, \
             subject, html_content, text_content, scheduled_for, status, metadata) \
             SELECT u.id, $1, u.case_id, u.recipient, u.name, u.subject, u.html, u.body, u.at, 'queued', u.meta \
             FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], \
                         $8::text[], $9::timestamptz[], $10::jsonb[]) \
                  AS u(id, case_id, recipient, name, subject, html, body, at, meta)",
        )
        .bind(clinic_id)
        .bind(emails.iter().map(|(_, e)| e.id).collect::<Vec<_>>())
        .bind(emails.iter().map(|(p, _)| p.case_id).collect::<Vec<_>>())
        .bind(emails.iter().map(|(_, e)| e.recipient.clone()).collect::<Vec<_>>())
        .bind(emails.iter().map(|(_, e)| e.name.clone()).collect::<Vec<_>>())
        .bind(emails.iter().map(|(_, e)| e.subject.clone()).collect::<Vec<_>>())
        .bind(emails.iter().map(|(_, e)| e.html.clone()).collect::<Vec<_>>())
        .bind(emails.iter().map(|(_, e)| e.text.clone()).collect::<Vec<_>>())
        .bind(emails.iter().map(|(_, e)| e.at).collect::<Vec<_>>())
        .bind(emails.iter().map(|(p, _)| meta(p)).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }

    let calls: Vec<(&Plan, &PlannedCall)> = plans
        .iter()
        .filter_map(|p| p.call.as_ref().map(|c| (*p, c)))
        .collect();
    if !calls.is_empty() {
        let meta = |p: &Plan, c: &PlannedCall| {
            json!({
                "source": "auto_schedule",
                "auto_scheduled": true,
                "run_id": run_id,
                "auto_scheduled_item_id": p.item_id,
                "timezone": p.config.get("timezone"),
                "dynamic_variables": c.variables,
                "retry_count": 0,
            })
        };
        sqlx::query(
            "INSERT INTO outbound_calls (id, clinic_id, case_id, customer_phone, scheduled_for, status, metadata) \
             SELECT u.id, $1, u.case_id, u.phone, u.at, 'queued', u.meta \
             FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::jsonb[]) \
                  AS u(id, case_id, phone, at, meta)",
        )
        .bind(clinic_id)
        .bind(calls.iter().map(|(_, c)| c.id).collect::<Vec<_>>())
        .bind(calls.iter().map(|(p, _)| p.case_id).collect::<Vec<_>>())
        .bind(calls.iter().map(|(_, c)| c.phone.clone()).collect::<Vec<_>>())
        .bind(calls.iter().map(|(_, c)| c.at).collect::<Vec<_>>())
        .bind(calls.iter().map(|(p, c)| meta(p, c)).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }

    if !plans.is_empty() {
        sqlx::query(
            "INSERT INTO auto_scheduled_items (id, case_id, clinic_id, run_id, outbound_email_id, \
             outbound_call_id, status, scheduled_config, created_at) \
             SELECT u.id, u.case_id, $1, $2, u.email_id, u.call_id, 'scheduled', u.cfg, $3 \
             FROM UNNEST($4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[], $8::jsonb[]) \
                  AS u(id, case_id, email_id, call_id, cfg)",
        )
        .bind(clinic_id)
        .bind(run_id)
        .bind(now)
        .bind(plans.iter().map(|p| p.item_id).collect::<Vec<_>>())
        .bind(plans.iter().map(|p| p.case_id).collect::<Vec<_>>())
        .bind(
            plans
                .iter()
                .map(|p| p.email.as_ref().map(|e| e.id))
                .collect::<Vec<_>>(),
        )
        .bind(
            plans
                .iter()
                .map(|p| p.call.as_ref().map(|c| c.id))
                .collect::<Vec<_>>(),
        )
        .bind(plans.iter().map(|p| p.config.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}
