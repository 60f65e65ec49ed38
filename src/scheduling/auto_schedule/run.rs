//! One auto-scheduling run: load the enabled clinics and their type cadences in bulk, page
//! through each clinic's candidates, plan, write, and keep the `auto_scheduling_runs` row
//! (`running` → `completed` / `partial` / `failed`) (docs/behaviour.md#auto-schedule).

use std::collections::BTreeMap;

use chrono::Duration;
use futures::stream::{FuturesOrdered, StreamExt};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::plan::{self, CallSpreader, NotPlanned, Plan, PlanContext, TypeCadences};
use super::write::{self, PageTarget};
use super::{reason, RunOptions, RunSummary, PAGE_SIZE};
use crate::db::auto_scheduling::{self as db_runs, EnabledClinic, RunTotals};
use crate::db::cases::CandidatePage;
use crate::domain::cadence::{ConfigCadence, Criteria, SettingsCadence, TypeCadence};
use crate::domain::clinic_policy;
use crate::domain::status::RunStatus;
use crate::scheduling::case_data::ClinicInfo;
use crate::scheduling::SchedulingError;

/// Clinics whose pages are in flight at once by default (one pool connection each).
pub const CLINICS_AT_ONCE: usize = 3;

/// Per-clinic cap on the skip list kept in `auto_scheduling_runs.results` (counts are complete).
const MAX_SKIPS_LISTED: usize = 500;

/// Runs auto-scheduling over the enabled clinics. Per-clinic failures make the run `partial`
/// (or `failed` if nothing was scheduled) and are recorded; an error is returned only when the
/// run could not even be started or its bookkeeping written.
pub async fn run(pool: &PgPool, opts: &RunOptions) -> Result<RunSummary, SchedulingError> {
    run_with(pool, opts, CLINICS_AT_ONCE).await
}

/// [`run`] with `clinics_at_once` clinics in flight (at least one); the benchmark compares them.
pub async fn run_with(
    pool: &PgPool,
    opts: &RunOptions,
    clinics_at_once: usize,
) -> Result<RunSummary, SchedulingError> {
    let run_id = match opts.dry_run {
        true => None,
        false => Some(db_runs::insert_run(pool, opts.now).await?),
    };
    let summary = match run_clinics(pool, opts, run_id, clinics_at_once.max(1)).await {
        Ok(s) => s,
        Err(e) => {
            if let Some(id) = run_id {
                // Best effort: the original error is what the caller needs to see.
                let _ = db_runs::fail_run(pool, id, &e.to_string()).await;
            }
            return Err(e);
        }
    };
    if let Some(id) = run_id {
        let totals = RunTotals {
            status: run_status(summary.errors, summary.cases_processed),
            results: Value::Array(summary.per_clinic.clone()),
            cases_processed: clamp_i32(summary.cases_processed),
            emails_scheduled: clamp_i32(summary.emails_scheduled),
            calls_scheduled: clamp_i32(summary.calls_scheduled),
            errors: clamp_i32(summary.errors),
        };
        db_runs::finish_run(pool, id, &totals).await?;
    }
    Ok(summary)
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A run with errors is `partial` if it still scheduled something, else `failed`.
fn run_status(errors: i64, processed: i64) -> RunStatus {
    match (errors, processed) {
        (0, _) => RunStatus::Completed,
        (_, 0) => RunStatus::Failed,
        _ => RunStatus::Partial,
    }
}

async fn load_type_cadences(
    pool: &PgPool,
    clinics: &[EnabledClinic],
) -> Result<TypeCadences, SchedulingError> {
    let ids: Vec<Uuid> = clinics.iter().map(|c| c.id).collect();
    let rows = db_runs::case_type_cadences(pool, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let cadence = TypeCadence {
                auto_schedule_call: t.auto_schedule_call,
                auto_schedule_email: t.auto_schedule_email,
                call_delay_days: t.call_delay_days,
                email_delay_days: t.email_delay_days,
                preferred_call_time: t.preferred_call_time,
                preferred_email_time: t.preferred_email_time,
                never_auto_schedule: t.never_auto_schedule,
            };
            ((t.clinic_id, plan::type_key(&t.case_type)), cadence)
        })
        .collect())
}

async fn run_clinics(
    pool: &PgPool,
    opts: &RunOptions,
    run_id: Option<Uuid>,
    clinics_at_once: usize,
) -> Result<RunSummary, SchedulingError> {
    let clinics = db_runs::enabled_clinics(pool, opts.clinic_ids.as_deref()).await?;
    let types = load_type_cadences(pool, &clinics).await?;
    let mut summary = RunSummary {
        run_id,
        status: RunStatus::Completed.as_str().into(),
        clinics: clinics.len(),
        cases_processed: 0,
        emails_scheduled: 0,
        calls_scheduled: 0,
        skipped: 0,
        errors: 0,
        per_clinic: Vec::with_capacity(clinics.len()),
    };
    // Several clinics at once: a page's time is mostly PostgreSQL's work on its statements, so
    // while one clinic's page is written another's is read and planned, on another backend
    // (docs/benchmarks.md, auto-scheduling). Each clinic's own pages stay in order, and the
    // results stay in clinic order.
    let mut in_flight = FuturesOrdered::new();
    let mut waiting = clinics.iter();
    let mut tallies = Vec::with_capacity(clinics.len());
    loop {
        while in_flight.len() < clinics_at_once {
            match waiting.next() {
                Some(clinic) => {
                    in_flight.push_back(clinic_tally(pool, opts, run_id, clinic, &types))
                }
                None => break,
            }
        }
        match in_flight.next().await {
            Some(tally) => tallies.push(tally),
            None => break,
        }
    }
    for (clinic, tally) in clinics.iter().zip(tallies) {
        summary.cases_processed += tally.processed;
        summary.emails_scheduled += tally.emails;
        summary.calls_scheduled += tally.calls;
        summary.skipped += tally.skipped_total;
        summary.errors += tally.error_count;
        summary.per_clinic.push(tally.into_json(clinic));
    }
    summary.status = run_status(summary.errors, summary.cases_processed)
        .as_str()
        .into();
    Ok(summary)
}

/// One clinic's run; a failure is recorded in its tally, not returned.
async fn clinic_tally(
    pool: &PgPool,
    opts: &RunOptions,
    run_id: Option<Uuid>,
    clinic: &EnabledClinic,
    types: &TypeCadences,
) -> ClinicTally {
    let mut tally = ClinicTally::default();
    if let Err(e) = run_clinic(pool, opts, run_id, clinic, types, &mut tally).await {
        tracing::error!(clinic_id = %clinic.id, error = %e, "auto-scheduling failed for clinic");
        tally.error(None, &e.to_string(), opts);
    }
    tally
}

/// The clinic's inputs to [`plan::plan_case`], owned for the length of its pages.
struct ClinicInputs {
    tz: chrono_tz::Tz,
    criteria: Criteria,
    config: ConfigCadence,
    settings: Option<SettingsCadence>,
    info: ClinicInfo,
}

impl ClinicInputs {
    fn of(clinic: &EnabledClinic) -> Self {
        let (tz, fell_back) = clinic_policy::clinic_tz_or_default(Some(&clinic.timezone));
        if fell_back {
            tracing::warn!(clinic_id = %clinic.id, timezone = %clinic.timezone,
                "unknown clinic time zone; using {}", clinic_policy::DEFAULT_TZ);
        }
        Self {
            tz,
            criteria: Criteria::from_json(clinic.scheduling_criteria.as_ref()),
            config: ConfigCadence {
                auto_email_enabled: clinic.auto_email_enabled,
                auto_call_enabled: clinic.auto_call_enabled,
                email_delay_days: clinic.cfg_email_delay_days,
                call_delay_days: clinic.cfg_call_delay_days,
                preferred_email_time: clinic.preferred_email_time,
                preferred_call_time: clinic.preferred_call_time,
            },
            settings: clinic.has_settings.then_some(SettingsCadence {
                email_delay_days: clinic.st_email_delay_days,
                call_delay_days: clinic.st_call_delay_days,
                preferred_email_start_time: clinic.preferred_email_start_time,
                preferred_call_start_time: clinic.preferred_call_start_time,
            }),
            info: ClinicInfo {
                name: Some(clinic.name.clone()),
                phone: clinic.phone.clone(),
                emergency_phone: clinic.emergency_phone.clone(),
                primary_color: clinic.primary_color.clone(),
                logo_url: clinic.logo_url.clone(),
            },
        }
    }
}

async fn run_clinic(
    pool: &PgPool,
    opts: &RunOptions,
    run_id: Option<Uuid>,
    clinic: &EnabledClinic,
    types: &TypeCadences,
    tally: &mut ClinicTally,
) -> Result<(), SchedulingError> {
    let inputs = ClinicInputs::of(clinic);
    let ctx = PlanContext {
        clinic_id: clinic.id,
        tz: inputs.tz,
        now: opts.now,
        criteria: &inputs.criteria,
        info: &inputs.info,
        types,
        config: &inputs.config,
        settings: inputs.settings.as_ref(),
    };
    // Minutes already taken by this clinic's queued calls (earlier runs, batches), so new calls
    // are spread around them too.
    let taken =
        crate::db::outbound_calls::queued_times(pool, clinic.id, opts.now - Duration::minutes(1))
            .await?;
    let mut spreader = CallSpreader::new(&taken);
    let target = PageTarget {
        clinic_id: clinic.id,
        run_id,
        now: opts.now,
    };
    let mut page = CandidatePage {
        clinic_id: clinic.id,
        statuses: &inputs.criteria.statuses,
        created_since: opts.now - Duration::days(inputs.criteria.max_age_days.max(0)),
        after: None,
        limit: PAGE_SIZE,
    };
    loop {
        let rows = crate::db::cases::auto_schedule_candidates(pool, &page).await?;
        page.after = rows.last().and_then(|r| r.created_at.map(|at| (at, r.id)));
        tally.cases_found += count(rows.len());
        let mut plans = Vec::with_capacity(rows.len());
        for row in &rows {
            match plan::plan_case(&ctx, row) {
                Ok(p) => plans.push(p),
                Err(NotPlanned::Skip(code, detail)) => tally.skip(row.id, code, detail),
                Err(NotPlanned::Content(message)) => tally.error(Some(row.id), &message, opts),
            }
        }
        spreader.spread(&mut plans);
        record_page(pool, opts, target, &plans, tally).await;
        if count(rows.len()) < PAGE_SIZE || page.after.is_none() {
            return Ok(());
        }
    }
}

/// Writes a page (or, in a dry run, only counts it) and tallies the outcome.
async fn record_page(
    pool: &PgPool,
    opts: &RunOptions,
    target: PageTarget,
    plans: &[Plan],
    tally: &mut ClinicTally,
) {
    if opts.dry_run {
        plans.iter().for_each(|p| tally.scheduled(p));
        return;
    }
    if plans.is_empty() {
        return;
    }
    match write::write_page(pool, target, plans).await {
        Ok(claimed) => {
            for p in plans {
                if claimed.contains(&p.case_id) {
                    tally.scheduled(p);
                } else {
                    tally.skip(p.case_id, reason::CLAIMED_ELSEWHERE, None);
                }
            }
        }
        Err(e) => {
            // The page rolled back as a whole; its cases stay unmarked for the next run.
            tracing::error!(clinic_id = %target.clinic_id, error = %e, "auto-scheduling page failed");
            for p in plans {
                tally.error(Some(p.case_id), &e.to_string(), opts);
            }
        }
    }
}

/// One clinic's counts, skips and errors, as stored in the run's results.
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
    fn scheduled(&mut self, p: &Plan) {
        self.processed += 1;
        self.emails += i64::from(p.email.is_some());
        self.calls += i64::from(p.call.is_some());
    }

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

    /// An error for one case, or for the whole clinic (`case_id` `None`).
    fn error(&mut self, case_id: Option<Uuid>, message: &str, opts: &RunOptions) {
        self.error_count += 1;
        self.errors.push(match case_id {
            Some(id) => json!({"caseId": id, "message": message, "timestamp": opts.now}),
            None => json!({"message": message, "timestamp": opts.now}),
        });
    }

    fn into_json(self, clinic: &EnabledClinic) -> Value {
        json!({
            "clinicId": clinic.id,
            "clinicName": clinic.name,
            "timezone": clinic.timezone,
            "casesFound": self.cases_found,
            "casesProcessed": self.processed,
            "emailsScheduled": self.emails,
            "callsScheduled": self.calls,
            "errors": self.errors,
            "skipped": self.skipped,
            "skippedCount": self.skipped_total,
            "skippedByReason": self.by_reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_status_table() {
        for (errors, processed, want) in [
            (0, 0, RunStatus::Completed),
            (0, 5, RunStatus::Completed),
            (2, 0, RunStatus::Failed),
            (2, 5, RunStatus::Partial),
        ] {
            assert_eq!(run_status(errors, processed), want, "{errors} {processed}");
        }
    }

    #[test]
    fn skip_list_is_capped_but_counts_are_not() {
        let mut t = ClinicTally::default();
        for _ in 0..(MAX_SKIPS_LISTED + 3) {
            t.skip(Uuid::nil(), reason::OPTED_OUT, None);
        }
        assert_eq!(t.skipped.len(), MAX_SKIPS_LISTED);
        assert_eq!(t.skipped_total, count(MAX_SKIPS_LISTED + 3));
        assert_eq!(t.by_reason[reason::OPTED_OUT], t.skipped_total);
    }
}
