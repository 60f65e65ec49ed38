//! One case's auto-schedule, decided without I/O: eligibility (first failure wins, each a
//! [`reason`] code), cadence precedence (`domain::cadence`), clinic-local times
//! (`domain::clock`, DST-correct) and the spread of calls landing on the same minute.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::reason;
use crate::domain::cadence::{
    self, CaseCadence, ConfigCadence, Criteria, Resolution, SettingsCadence, TypeCadence,
};
use crate::domain::clock;
use crate::scheduling::case_data::{CaseRow, ClinicInfo};

/// Calls of one clinic that land on the same minute are moved this far apart.
pub const CALL_SPREAD: Duration = Duration::minutes(2);

/// Per-case-type cadences, keyed by clinic and [`type_key`] of the type.
pub type TypeCadences = HashMap<(Uuid, String), TypeCadence>;

/// How case types are matched: trimmed, lowercase.
pub fn type_key(case_type: &str) -> String {
    case_type.trim().to_lowercase()
}

/// Everything about the clinic and the run that a case's plan depends on.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext<'a> {
    pub clinic_id: Uuid,
    /// The clinic's zone (`domain::clinic_policy`'s rule, fallback applied).
    pub tz: Tz,
    pub now: DateTime<Utc>,
    pub criteria: &'a Criteria,
    pub info: &'a ClinicInfo,
    pub types: &'a TypeCadences,
    pub config: &'a ConfigCadence,
    pub settings: Option<&'a SettingsCadence>,
}

/// One case's computed schedule (row ids are given when it is written).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub case_id: Uuid,
    pub email: Option<PlannedEmail>,
    pub call: Option<PlannedCall>,
    /// The resolved cadence plus zone and times: `auto_scheduled_items.scheduled_config`.
    pub config: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEmail {
    pub at: DateTime<Utc>,
    pub recipient: String,
    pub name: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCall {
    pub at: DateTime<Utc>,
    pub phone: String,
    pub variables: Map<String, Value>,
}

/// Why a case gets no plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPlanned {
    /// A skip reason code and an optional detail.
    Skip(&'static str, Option<String>),
    /// The email content could not be rendered (a build defect, counted as an error).
    Content(String),
}

fn skip(code: &'static str) -> NotPlanned {
    NotPlanned::Skip(code, None)
}

/// Eligibility, in order; the first failure wins.
fn check_eligible(ctx: &PlanContext<'_>, row: &CaseRow) -> Result<(), NotPlanned> {
    if let Some(why) = row.blocked_reason() {
        return Err(NotPlanned::Skip(reason::EXTREME_CASE, Some(why)));
    }
    if ctx.criteria.require_contact && row.owner_phone().is_none() && row.owner_email().is_none() {
        return Err(skip(reason::NO_CONTACT_INFO));
    }
    if ctx.criteria.require_summary && !row.has_summary.unwrap_or(false) {
        return Err(skip(reason::NO_DISCHARGE_SUMMARY));
    }
    let newest_allowed = ctx.now - Duration::hours(ctx.criteria.min_age_hours.max(0));
    if row.created_at.unwrap_or(ctx.now) > newest_allowed {
        return Err(skip(reason::CASE_TOO_NEW));
    }
    if row.has_scheduled_item.unwrap_or(false) {
        return Err(skip(reason::ALREADY_SCHEDULED));
    }
    if row.client_opt_out.unwrap_or(false) {
        return Err(skip(reason::OPTED_OUT));
    }
    Ok(())
}

/// The case's cadence: its own columns, its type's row, the clinic's config and settings.
fn cadence_of(ctx: &PlanContext<'_>, row: &CaseRow) -> Result<cadence::Cadence, NotPlanned> {
    let type_cadence = row
        .case_type
        .as_deref()
        .and_then(|t| ctx.types.get(&(ctx.clinic_id, type_key(t))));
    let case_cadence = CaseCadence {
        cadence_source: row.cadence_source.clone(),
        call_enabled: row.call_enabled,
        email_enabled: row.email_enabled,
        call_delay_days: row.call_delay_days,
        email_delay_days: row.email_delay_days,
    };
    match cadence::resolve(&case_cadence, type_cadence, Some(ctx.config), ctx.settings) {
        Resolution::NeverAutoSchedule => Err(skip(reason::NEVER_AUTO_SCHEDULE)),
        Resolution::Schedule(c) => Ok(c),
    }
}

/// Eligibility (first failure wins) and the computed schedule for one case.
pub fn plan_case(ctx: &PlanContext<'_>, row: &CaseRow) -> Result<Plan, NotPlanned> {
    check_eligible(ctx, row)?;
    let cad = cadence_of(ctx, row)?;
    let (tz, now) = (ctx.tz, ctx.now);
    // The case's day is its clinic-local calendar day (a 17:00 PT case is not "tomorrow").
    let base = clock::local_date(tz, row.created_at.unwrap_or(now));

    let email = match row.owner_email() {
        Some(addr) if cad.email_enabled && !row.has_live_email.unwrap_or(false) => {
            let content = row
                .email(ctx.info)
                .map_err(|e| NotPlanned::Content(e.to_string()))?;
            Some(PlannedEmail {
                at: clock::schedule_at(
                    tz,
                    base,
                    cad.email_delay_days,
                    cad.preferred_email_time,
                    now,
                ),
                recipient: addr,
                name: row.owner_name(),
                subject: content.subject,
                html: content.html,
                text: content.text,
            })
        }
        _ => None,
    };
    let call = match row.owner_phone() {
        Some(phone) if cad.call_enabled && !row.has_live_call.unwrap_or(false) => {
            Some(PlannedCall {
                at: clock::schedule_at(tz, base, cad.call_delay_days, cad.preferred_call_time, now),
                phone,
                variables: row.call_variables(ctx.info),
            })
        }
        _ => None,
    };
    if email.is_none() && call.is_none() {
        return Err(skip(reason::NOTHING_TO_SCHEDULE));
    }
    let mut config = serde_json::to_value(&cad).unwrap_or_else(|_| json!({}));
    config["timezone"] = json!(tz.name());
    config["emailScheduledFor"] = json!(email.as_ref().map(|e| e.at));
    config["callScheduledFor"] = json!(call.as_ref().map(|c| c.at));
    Ok(Plan {
        case_id: row.id,
        email,
        call,
        config,
    })
}

fn minute_key(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

/// Keeps a clinic's calls on distinct minutes: a call landing on a taken minute moves by
/// [`CALL_SPREAD`] steps until free. `probe` remembers, per original minute, how many steps
/// were already taken so a popular minute costs O(1) per call instead of rescanning the chain.
#[derive(Debug, Default)]
pub struct CallSpreader {
    occupied: HashSet<i64>,
    probe: HashMap<i64, i32>,
}

impl CallSpreader {
    /// Starts with the minutes of calls already queued (earlier runs, batches).
    pub fn new(taken: &[DateTime<Utc>]) -> Self {
        Self {
            occupied: taken.iter().map(|t| minute_key(*t)).collect(),
            probe: HashMap::new(),
        }
    }

    /// The first free slot for a call wanted at `base`, now taken.
    pub fn place(&mut self, base: DateTime<Utc>) -> DateTime<Utc> {
        let steps = self.probe.entry(minute_key(base)).or_insert(0);
        let mut at = base + CALL_SPREAD * *steps;
        while self.occupied.contains(&minute_key(at)) {
            *steps += 1;
            at = base + CALL_SPREAD * *steps;
        }
        self.occupied.insert(minute_key(at));
        at
    }

    /// Places the plans' calls in order (the order cases were read), updating their times.
    pub fn spread(&mut self, plans: &mut [Plan]) {
        for plan in plans {
            if let Some(call) = plan.call.as_mut() {
                call.at = self.place(call.at);
                plan.config["callScheduledFor"] = json!(call.at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;
    use serde_json::json;

    fn u(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn row() -> CaseRow {
        CaseRow {
            id: Uuid::from_u128(1),
            clinic_id: Uuid::from_u128(9),
            status: Some("completed".into()),
            case_type: None,
            own_case_type: None,
            detected_case_type: None,
            created_at: Some(u("2024-03-08T15:00:00Z")),
            cadence_source: Some("default".into()),
            call_enabled: None,
            email_enabled: None,
            call_delay_days: None,
            email_delay_days: None,
            entity_extraction: None,
            extreme_case_check: None,
            metadata: None,
            patient_snapshot: None,
            client_name: Some("Ann Lee".into()),
            client_phone: Some("(212) 555-0101".into()),
            client_email: Some("ann@example.com".into()),
            client_opt_out: None,
            patient_name: Some("Rex".into()),
            patient_species: Some("dog".into()),
            patient_deceased: None,
            summary_content: Some("Rest for a week.".into()),
            summary_structured: None,
            has_summary: Some(true),
            soap_instructions: None,
            soap_plan: None,
            has_scheduled_item: None,
            has_live_email: None,
            has_live_call: None,
        }
    }

    struct Fixture {
        criteria: Criteria,
        info: ClinicInfo,
        types: TypeCadences,
        config: ConfigCadence,
        settings: Option<SettingsCadence>,
    }

    impl Fixture {
        fn new() -> Self {
            let mut types = TypeCadences::new();
            types.insert(
                (Uuid::from_u128(9), "surgery".into()),
                TypeCadence {
                    call_delay_days: Some(2),
                    preferred_call_time: Some(hm(11, 0)),
                    ..Default::default()
                },
            );
            types.insert(
                (Uuid::from_u128(9), "wellness".into()),
                TypeCadence {
                    never_auto_schedule: Some(true),
                    ..Default::default()
                },
            );
            Self {
                criteria: Criteria::from_json(None),
                info: ClinicInfo {
                    name: Some("Happy Paws".into()),
                    ..Default::default()
                },
                types,
                config: ConfigCadence {
                    email_delay_days: Some(1),
                    call_delay_days: Some(1),
                    ..Default::default()
                },
                settings: None,
            }
        }

        fn ctx(&self, tz: Tz, now: DateTime<Utc>) -> PlanContext<'_> {
            PlanContext {
                clinic_id: Uuid::from_u128(9),
                tz,
                now,
                criteria: &self.criteria,
                info: &self.info,
                types: &self.types,
                config: &self.config,
                settings: self.settings.as_ref(),
            }
        }
    }

    const NY: Tz = chrono_tz::America::New_York;
    const NOW: &str = "2024-03-08T20:00:00Z";

    #[test]
    fn skip_reasons_first_failure_wins() {
        let f = Fixture::new();
        let ctx = f.ctx(NY, u(NOW));
        let mut no_contact = row();
        no_contact.client_phone = None;
        no_contact.client_email = Some("not-an-email".into());
        let mut no_summary = row();
        no_summary.has_summary = Some(false);
        let mut too_new = row();
        too_new.created_at = Some(u(NOW) + Duration::minutes(1));
        let mut scheduled = row();
        scheduled.has_scheduled_item = Some(true);
        let mut opted_out = row();
        opted_out.client_opt_out = Some(true);
        let mut never = row();
        never.case_type = Some(" Wellness ".into());
        let mut nothing = row();
        nothing.has_live_call = Some(true);
        nothing.has_live_email = Some(true);
        let mut blocked_and_no_contact = no_contact.clone();
        blocked_and_no_contact.patient_deceased = Some(true);
        let mut summary_words = row();
        summary_words.own_case_type = Some("surgery".into());
        summary_words.summary_content = Some("Owner elected humane euthanasia.".into());
        let mut detected = row();
        detected.own_case_type = Some("surgery".into());
        detected.detected_case_type = Some("euthanasia".into());
        let mut f2 = Fixture::new();
        f2.criteria.min_age_hours = 6;
        let mut six_hours = row();
        six_hours.created_at = Some(u(NOW) - Duration::hours(5));
        let table: Vec<(&str, &PlanContext<'_>, CaseRow, &str)> = vec![
            ("no contact", &ctx, no_contact, reason::NO_CONTACT_INFO),
            ("no summary", &ctx, no_summary, reason::NO_DISCHARGE_SUMMARY),
            ("created now", &ctx, too_new, reason::CASE_TOO_NEW),
            ("item exists", &ctx, scheduled, reason::ALREADY_SCHEDULED),
            ("opted out", &ctx, opted_out, reason::OPTED_OUT),
            ("never type", &ctx, never, reason::NEVER_AUTO_SCHEDULE),
            ("both live", &ctx, nothing, reason::NOTHING_TO_SCHEDULE),
            (
                "blocked first",
                &ctx,
                blocked_and_no_contact,
                reason::EXTREME_CASE,
            ),
            ("summary text", &ctx, summary_words, reason::EXTREME_CASE),
            ("detected type", &ctx, detected, reason::EXTREME_CASE),
        ];
        for (name, ctx, r, want) in table {
            match plan_case(ctx, &r) {
                Err(NotPlanned::Skip(code, _)) => assert_eq!(code, want, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let ctx2 = f2.ctx(NY, u(NOW));
        assert!(matches!(
            plan_case(&ctx2, &six_hours),
            Err(NotPlanned::Skip(reason::CASE_TOO_NEW, None))
        ));
    }

    #[test]
    fn cadence_precedence_outcomes() {
        let f = Fixture::new();
        let ctx = f.ctx(NY, u(NOW));
        // (name, case_type, cadence_source, case delays (email, call), email at, call at)
        let table = [
            // Config: +1 day, built-in times 10:00 / 16:00 EST.
            (
                "config",
                None,
                "default",
                (None, None),
                "2024-03-09T15:00:00Z",
                "2024-03-09T21:00:00Z",
            ),
            // Type row: call +2 days at 11:00 (EDT from March 10).
            (
                "case type",
                Some("Surgery"),
                "default",
                (None, None),
                "2024-03-09T15:00:00Z",
                "2024-03-10T15:00:00Z",
            ),
            // Case override: its own delays win over the type's, the type's time stays.
            (
                "override",
                Some("surgery"),
                "manual",
                (Some(3), Some(4)),
                "2024-03-11T14:00:00Z",
                "2024-03-12T15:00:00Z",
            ),
        ];
        for (name, ct, source, (ed, cd), email_at, call_at) in table {
            let mut r = row();
            r.case_type = ct.map(str::to_string);
            r.cadence_source = Some(source.into());
            r.email_delay_days = ed;
            r.call_delay_days = cd;
            let p = plan_case(&ctx, &r).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(p.email.as_ref().unwrap().at, u(email_at), "{name} email");
            assert_eq!(p.call.as_ref().unwrap().at, u(call_at), "{name} call");
            assert_eq!(p.config["timezone"], "America/New_York", "{name}");
            assert_eq!(p.config["callScheduledFor"], json!(u(call_at)), "{name}");
        }
    }

    #[test]
    fn times_are_clinic_local_across_dst() {
        let f = Fixture::new();
        // The day before the spring-forward: 10:00 EST is 15:00Z, 10:00 EDT the next day 14:00Z.
        let mut r = row();
        r.created_at = Some(u("2024-03-09T15:00:00Z"));
        let p = plan_case(&f.ctx(NY, u("2024-03-09T20:00:00Z")), &r).unwrap();
        assert_eq!(p.email.unwrap().at, u("2024-03-10T14:00:00Z"));
        assert_eq!(p.call.unwrap().at, u("2024-03-10T20:00:00Z"));
        // A case created at 21:00 Pacific is that Pacific day, not the UTC one.
        let la: Tz = chrono_tz::America::Los_Angeles;
        let mut r = row();
        r.created_at = Some(u("2024-11-02T04:00:00Z"));
        let p = plan_case(&f.ctx(la, u("2024-11-02T05:00:00Z")), &r).unwrap();
        // Nov 1 local + 1 day = Nov 2, 10:00 PDT = 17:00Z; the call on Nov 2 at 16:00 PDT.
        assert_eq!(p.email.unwrap().at, u("2024-11-02T17:00:00Z"));
        assert_eq!(p.call.unwrap().at, u("2024-11-02T23:00:00Z"));
        // A time already past moves to the next occurrence, never into the past.
        let p = plan_case(&f.ctx(NY, u("2024-03-20T12:00:00Z")), &row()).unwrap();
        assert_eq!(p.email.unwrap().at, u("2024-03-20T14:00:00Z"));
    }

    #[test]
    fn channels_follow_contacts_and_live_rows() {
        let f = Fixture::new();
        let ctx = f.ctx(NY, u(NOW));
        let mut phone_only = row();
        phone_only.client_email = None;
        let p = plan_case(&ctx, &phone_only).unwrap();
        assert!(p.email.is_none() && p.call.is_some());
        assert_eq!(p.call.unwrap().phone, "+12125550101");
        let mut live_email = row();
        live_email.has_live_email = Some(true);
        let p = plan_case(&ctx, &live_email).unwrap();
        assert!(p.email.is_none() && p.call.is_some());
        let p = plan_case(&ctx, &row()).unwrap();
        let e = p.email.unwrap();
        assert_eq!(e.subject, "Discharge Instructions for Rex");
        assert_eq!(e.name.as_deref(), Some("Ann Lee"));
    }

    #[test]
    fn calls_on_the_same_minute_are_two_minutes_apart() {
        let t = u("2024-03-09T21:00:00Z");
        let mut s = CallSpreader::new(&[t + Duration::minutes(2)]);
        let placed: Vec<_> = (0..4).map(|_| s.place(t)).collect();
        assert_eq!(
            placed,
            vec![
                t,
                t + Duration::minutes(4),
                t + Duration::minutes(6),
                t + Duration::minutes(8)
            ]
        );
        // Seconds within a taken minute count as taken.
        assert_eq!(
            s.place(t + Duration::seconds(30)),
            t + Duration::seconds(30) + Duration::minutes(10)
        );
        // A free minute is kept as is.
        assert_eq!(s.place(t + Duration::hours(1)), t + Duration::hours(1));
        let f = Fixture::new();
        let ctx = f.ctx(NY, u(NOW));
        let mut plans = vec![
            plan_case(&ctx, &row()).unwrap(),
            plan_case(&ctx, &row()).unwrap(),
        ];
        CallSpreader::default().spread(&mut plans);
        let (a, b) = (
            plans[0].call.as_ref().unwrap().at,
            plans[1].call.as_ref().unwrap().at,
        );
        assert_eq!(b - a, CALL_SPREAD);
        assert_eq!(plans[1].config["callScheduledFor"], json!(b));
    }
}
