//! Cadence precedence: which delays, preferred times and channels apply to one case.
//!
//! Most specific first (docs/behaviour.md#cadence): the case's own delays when `cases.cadence_source` is not
//! `default` → `clinic_case_type_cadence` for the case's type (`never_auto_schedule` skips the
//! case) → `auto_scheduling_config` → `clinic_settings` → built-in defaults. Pure: the run loads
//! the inputs in bulk and calls [`resolve`] per case.

use chrono::NaiveTime;
use serde::Serialize;

// Built-in defaults, used only when no level supplies a value: the clinic policy's.
use super::clinic_policy::{
    DEFAULT_CALL_DELAY_DAYS, DEFAULT_CALL_TIME, DEFAULT_EMAIL_DELAY_DAYS, DEFAULT_EMAIL_TIME,
};

/// The case's own cadence columns.
#[derive(Debug, Clone, Default)]
pub struct CaseCadence {
    pub cadence_source: Option<String>,
    pub call_enabled: Option<bool>,
    pub email_enabled: Option<bool>,
    pub call_delay_days: Option<i32>,
    pub email_delay_days: Option<i32>,
}

/// A `clinic_case_type_cadence` row for the case's type.
#[derive(Debug, Clone, Default)]
pub struct TypeCadence {
    pub auto_schedule_call: Option<bool>,
    pub auto_schedule_email: Option<bool>,
    pub call_delay_days: Option<i32>,
    pub email_delay_days: Option<i32>,
    pub preferred_call_time: Option<NaiveTime>,
    pub preferred_email_time: Option<NaiveTime>,
    pub never_auto_schedule: Option<bool>,
}

/// The clinic's `auto_scheduling_config` row.
#[derive(Debug, Clone, Default)]
pub struct ConfigCadence {
    pub auto_email_enabled: Option<bool>,
    pub auto_call_enabled: Option<bool>,
    pub email_delay_days: Option<i32>,
    pub call_delay_days: Option<i32>,
    pub preferred_email_time: Option<NaiveTime>,
    pub preferred_call_time: Option<NaiveTime>,
}

/// The clinic's `clinic_settings` row (the window starts are its preferred times).
#[derive(Debug, Clone, Default)]
pub struct SettingsCadence {
    pub email_delay_days: Option<i32>,
    pub call_delay_days: Option<i32>,
    pub preferred_email_start_time: Option<NaiveTime>,
    pub preferred_call_start_time: Option<NaiveTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CadenceSource {
    CaseOverride,
    CaseType,
    AutoSchedulingConfig,
    ClinicSettings,
    Default,
}

impl CadenceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaseOverride => "case_override",
            Self::CaseType => "case_type",
            Self::AutoSchedulingConfig => "auto_scheduling_config",
            Self::ClinicSettings => "clinic_settings",
            Self::Default => "default",
        }
    }
}

/// The resolved cadence; serialised as-is into `auto_scheduled_items.scheduled_config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cadence {
    pub source: CadenceSource,
    pub email_enabled: bool,
    pub call_enabled: bool,
    pub email_delay_days: i32,
    pub call_delay_days: i32,
    #[serde(serialize_with = "hhmm")]
    pub preferred_email_time: NaiveTime,
    #[serde(serialize_with = "hhmm")]
    pub preferred_call_time: NaiveTime,
}

fn hhmm<S: serde::Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.format("%H:%M").to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Schedule(Cadence),
    /// The case type is configured `never_auto_schedule`.
    NeverAutoSchedule,
}

/// Resolves the cadence for one case. Rules beyond the bare precedence, each deliberate:
/// - A case override supplies only delays and channel switches; its preferred times come from
///   the next level that has them (cases have no time columns). A case override also beats
///   `never_auto_schedule`: staff set it on that very case.
/// - The case's own `call_enabled` / `email_enabled` = false is an opt-out honoured at every
///   level, and the clinic's `auto_*_enabled` = false switches a channel off below the case level.
/// - A level's NULL column falls through to the next level for that one value.
pub fn resolve(
    case: &CaseCadence,
    case_type: Option<&TypeCadence>,
    config: Option<&ConfigCadence>,
    settings: Option<&SettingsCadence>,
) -> Resolution {
    let case_email = case.email_enabled.unwrap_or(true);
    let case_call = case.call_enabled.unwrap_or(true);
    let cfg_email = config.and_then(|c| c.auto_email_enabled).unwrap_or(true);
    let cfg_call = config.and_then(|c| c.auto_call_enabled).unwrap_or(true);

    // Values below the case-type level, with per-value fall-through config → settings → default.
    let Lower {
        email_delay_days: lower_email_delay,
        call_delay_days: lower_call_delay,
        email_time: lower_email_time,
        call_time: lower_call_time,
    } = Lower::of(config, settings);

    // Times at the case-type level (with fall-through), reused by a case override.
    let type_email_time = case_type
        .and_then(|t| t.preferred_email_time)
        .unwrap_or(lower_email_time);
    let type_call_time = case_type
        .and_then(|t| t.preferred_call_time)
        .unwrap_or(lower_call_time);

    let overridden = case
        .cadence_source
        .as_deref()
        .map(|s| !s.trim().is_empty() && !s.trim().eq_ignore_ascii_case("default"))
        .unwrap_or(false);
    if overridden {
        return Resolution::Schedule(Cadence {
            source: CadenceSource::CaseOverride,
            email_enabled: case_email,
            call_enabled: case_call,
            email_delay_days: case
                .email_delay_days
                .or_else(|| case_type.and_then(|t| t.email_delay_days))
                .unwrap_or(lower_email_delay),
            call_delay_days: case
                .call_delay_days
                .or_else(|| case_type.and_then(|t| t.call_delay_days))
                .unwrap_or(lower_call_delay),
            preferred_email_time: type_email_time,
            preferred_call_time: type_call_time,
        });
    }

    if let Some(t) = case_type {
        if t.never_auto_schedule.unwrap_or(false) {
            return Resolution::NeverAutoSchedule;
        }
        return Resolution::Schedule(Cadence {
            source: CadenceSource::CaseType,
            email_enabled: case_email && cfg_email && t.auto_schedule_email.unwrap_or(true),
            call_enabled: case_call && cfg_call && t.auto_schedule_call.unwrap_or(true),
            email_delay_days: t.email_delay_days.unwrap_or(lower_email_delay),
            call_delay_days: t.call_delay_days.unwrap_or(lower_call_delay),
            preferred_email_time: type_email_time,
            preferred_call_time: type_call_time,
        });
    }

    let source = lower_source(config, settings);
    Resolution::Schedule(Cadence {
        source,
        email_enabled: case_email && cfg_email,
        call_enabled: case_call && cfg_call,
        email_delay_days: lower_email_delay,
        call_delay_days: lower_call_delay,
        preferred_email_time: lower_email_time,
        preferred_call_time: lower_call_time,
    })
}

/// The cadence below the case-type level: config, else settings, else the built-in default,
/// value by value.
struct Lower {
    email_delay_days: i32,
    call_delay_days: i32,
    email_time: NaiveTime,
    call_time: NaiveTime,
}

impl Lower {
    fn of(config: Option<&ConfigCadence>, settings: Option<&SettingsCadence>) -> Self {
        Self {
            email_delay_days: config
                .and_then(|c| c.email_delay_days)
                .or_else(|| settings.and_then(|s| s.email_delay_days))
                .unwrap_or(DEFAULT_EMAIL_DELAY_DAYS),
            call_delay_days: config
                .and_then(|c| c.call_delay_days)
                .or_else(|| settings.and_then(|s| s.call_delay_days))
                .unwrap_or(DEFAULT_CALL_DELAY_DAYS),
            email_time: config
                .and_then(|c| c.preferred_email_time)
                .or_else(|| settings.and_then(|s| s.preferred_email_start_time))
                .unwrap_or(DEFAULT_EMAIL_TIME),
            call_time: config
                .and_then(|c| c.preferred_call_time)
                .or_else(|| settings.and_then(|s| s.preferred_call_start_time))
                .unwrap_or(DEFAULT_CALL_TIME),
        }
    }
}

/// The source reported below the case-type level: the config level counts when it supplied
/// any cadence value itself, else the settings row if there is one, else the defaults.
fn lower_source(
    config: Option<&ConfigCadence>,
    settings: Option<&SettingsCadence>,
) -> CadenceSource {
    let config_has_values = config.is_some_and(|c| {
        c.email_delay_days.is_some()
            || c.call_delay_days.is_some()
            || c.preferred_email_time.is_some()
            || c.preferred_call_time.is_some()
    });
    if config_has_values {
        CadenceSource::AutoSchedulingConfig
    } else if settings.is_some() {
        CadenceSource::ClinicSettings
    } else {
        CadenceSource::Default
    }
}

/// `cases.status` a case must have to be auto-scheduled when the clinic's criteria name none.
pub const DEFAULT_ELIGIBLE_CASE_STATUS: &str = "completed";

/// Which cases auto-scheduling considers: `auto_scheduling_config.scheduling_criteria`, with the
/// old defaults for what it does not say (docs/behaviour.md#auto-schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criteria {
    /// `includeCaseStatuses` (non-empty), default [`DEFAULT_ELIGIBLE_CASE_STATUS`].
    pub statuses: Vec<String>,
    /// `maxCaseAgeDays`, default 3.
    pub max_age_days: i64,
    /// `minCaseAgeHours`, default 0.
    pub min_age_hours: i64,
    /// `requireContactInfo`, default true.
    pub require_contact: bool,
    /// `requireDischargeSummary`, default true.
    pub require_summary: bool,
}

impl Criteria {
    pub fn from_json(v: Option<&serde_json::Value>) -> Self {
        use serde_json::Value;
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
            .unwrap_or_else(|| vec![DEFAULT_ELIGIBLE_CASE_STATUS.to_string()]);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn case(source: &str, call: i32, email: i32) -> CaseCadence {
        CaseCadence {
            cadence_source: Some(source.into()),
            call_enabled: Some(true),
            email_enabled: Some(true),
            call_delay_days: Some(call),
            email_delay_days: Some(email),
        }
    }

    fn type_row(never: bool) -> TypeCadence {
        TypeCadence {
            auto_schedule_call: Some(true),
            auto_schedule_email: Some(false),
            call_delay_days: Some(5),
            email_delay_days: Some(4),
            preferred_call_time: Some(t(11, 0)),
            preferred_email_time: Some(t(8, 30)),
            never_auto_schedule: Some(never),
        }
    }

    fn config_row() -> ConfigCadence {
        ConfigCadence {
            auto_email_enabled: Some(true),
            auto_call_enabled: Some(true),
            email_delay_days: Some(1),
            call_delay_days: Some(3),
            preferred_email_time: Some(t(10, 0)),
            preferred_call_time: Some(t(16, 0)),
        }
    }

    fn settings_row() -> SettingsCadence {
        SettingsCadence {
            email_delay_days: Some(2),
            call_delay_days: Some(6),
            preferred_email_start_time: Some(t(9, 15)),
            preferred_call_start_time: Some(t(17, 45)),
        }
    }

    fn cad(
        source: CadenceSource,
        email: bool,
        call: bool,
        ed: i32,
        cd: i32,
        et: NaiveTime,
        ct: NaiveTime,
    ) -> Resolution {
        Resolution::Schedule(Cadence {
            source,
            email_enabled: email,
            call_enabled: call,
            email_delay_days: ed,
            call_delay_days: cd,
            preferred_email_time: et,
            preferred_call_time: ct,
        })
    }

    type Row = (
        &'static str,
        CaseCadence,
        Option<TypeCadence>,
        Option<ConfigCadence>,
        Option<SettingsCadence>,
        Resolution,
    );

    #[test]
    fn precedence_table() {
        use CadenceSource::{AutoSchedulingConfig, CaseOverride, CaseType, ClinicSettings};
        let null_config = ConfigCadence {
            auto_email_enabled: None,
            auto_call_enabled: Some(false),
            ..Default::default()
        };
        let partial_config = ConfigCadence {
            call_delay_days: Some(7),
            ..Default::default()
        };
        let opted_out = CaseCadence {
            email_enabled: Some(false),
            ..Default::default()
        };
        let rows: Vec<Row> = vec![
            ("case override beats everything; times from the type row",
             case("custom", 2, 0), Some(type_row(false)), Some(config_row()), Some(settings_row()),
             cad(CaseOverride, true, true, 0, 2, t(8, 30), t(11, 0))),
            ("case override beats never_auto_schedule",
             case("manual", 2, 0), Some(type_row(true)), Some(config_row()), None,
             cad(CaseOverride, true, true, 0, 2, t(8, 30), t(11, 0))),
            ("case override without a type row takes config times",
             case("case", 9, 8), None, Some(config_row()), Some(settings_row()),
             cad(CaseOverride, true, true, 8, 9, t(10, 0), t(16, 0))),
            ("'default' is not an override (case-insensitive)",
             case("DEFAULT", 9, 9), None, Some(config_row()), None,
             cad(AutoSchedulingConfig, true, true, 1, 3, t(10, 0), t(16, 0))),
            ("case type row",
             case("default", 9, 9), Some(type_row(false)), Some(config_row()), Some(settings_row()),
             cad(CaseType, false, true, 4, 5, t(8, 30), t(11, 0))),
            ("never_auto_schedule skips",
             CaseCadence::default(), Some(type_row(true)), Some(config_row()), None,
             Resolution::NeverAutoSchedule),
            ("config row",
             CaseCadence::default(), None, Some(config_row()), Some(settings_row()),
             cad(AutoSchedulingConfig, true, true, 1, 3, t(10, 0), t(16, 0))),
            ("config with only NULL cadence values → clinic_settings; config switch still applies",
             CaseCadence::default(), None, Some(null_config), Some(settings_row()),
             cad(ClinicSettings, true, false, 2, 6, t(9, 15), t(17, 45))),
            ("partial config: its value plus settings' values",
             CaseCadence::default(), None, Some(partial_config), Some(settings_row()),
             cad(AutoSchedulingConfig, true, true, 2, 7, t(9, 15), t(17, 45))),
            ("nothing configured → built-in defaults",
             CaseCadence::default(), None, None, None,
             cad(CadenceSource::Default, true, true, 1, 3, t(10, 0), t(16, 0))),
            ("case opt-out honoured below the case level",
             opted_out, None, Some(config_row()), None,
             cad(AutoSchedulingConfig, false, true, 1, 3, t(10, 0), t(16, 0))),
        ];
        for (name, c, ty, cfg, st, want) in rows {
            assert_eq!(
                resolve(&c, ty.as_ref(), cfg.as_ref(), st.as_ref()),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn serialises_for_scheduled_config() {
        let Resolution::Schedule(c) =
            resolve(&CaseCadence::default(), None, Some(&config_row()), None)
        else {
            panic!("expected a cadence");
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"source": "auto_scheduling_config", "emailEnabled": true, "callEnabled": true,
                "emailDelayDays": 1, "callDelayDays": 3, "preferredEmailTime": "10:00", "preferredCallTime": "16:00"})
        );
    }

    #[test]
    fn criteria_defaults_and_overrides() {
        let d = Criteria::from_json(None);
        assert_eq!(
            d,
            Criteria {
                statuses: vec!["completed".into()],
                max_age_days: 3,
                min_age_hours: 0,
                require_contact: true,
                require_summary: true,
            }
        );
        let j = serde_json::json!({"includeCaseStatuses": [], "maxCaseAgeDays": 30,
            "minCaseAgeHours": 2, "requireContactInfo": false, "requireDischargeSummary": false});
        let c = Criteria::from_json(Some(&j));
        assert_eq!(c.statuses, vec!["completed".to_string()]);
        assert_eq!((c.max_age_days, c.min_age_hours), (30, 2));
        assert!(!c.require_contact && !c.require_summary);
        let j = serde_json::json!({"includeCaseStatuses": ["completed", "reviewed"]});
        assert_eq!(Criteria::from_json(Some(&j)).statuses.len(), 2);
    }
}
