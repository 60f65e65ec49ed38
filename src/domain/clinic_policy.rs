//! A clinic's call policy: its time zone, the window in which calls may be placed, how many
//! times an unanswered owner is called again and how long after. Every place that needs one of
//! these asks here, so they cannot disagree (`docs/behaviour.md#clinic-policy`).

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

/// The zone assumed for a clinic whose `timezone` cannot be parsed: the column's own default
/// in the schema, so a broken value behaves like a clinic that never set one.
pub const DEFAULT_TZ: Tz = chrono_tz::America::Los_Angeles;

/// Calls are placed between these wall-clock times (clinic zone) unless `clinic_settings`
/// says otherwise.
pub const DEFAULT_CALL_WINDOW_START: NaiveTime = hm(16, 0);
pub const DEFAULT_CALL_WINDOW_END: NaiveTime = hm(19, 0);

/// Retries of an outbound call the owner did not answer (`clinic_settings.max_call_retries`
/// when unset).
pub const DEFAULT_MAX_CALL_RETRIES: i32 = 3;

/// How long after an unanswered call ends the next attempt is scheduled (then moved into the
/// call window).
pub const REDIAL_DELAY: Duration = Duration::minutes(10);

/// Built-in preferred send time of follow-up emails and calls when no cadence level sets one.
pub const DEFAULT_EMAIL_TIME: NaiveTime = hm(10, 0);
pub const DEFAULT_CALL_TIME: NaiveTime = hm(16, 0);

/// Emails go out only within waking hours in the clinic's zone (`docs/behaviour.md#email-waking-hours`):
/// one due outside them (e.g. overdue after an outage) waits for the next opening. This is a
/// gate, unlike `clinic_settings.preferred_email_start_time`/`_end_time`, which only choose
/// times when scheduling.
pub const EMAIL_WAKING_START: NaiveTime = hm(7, 0);
pub const EMAIL_WAKING_END: NaiveTime = hm(21, 0);

/// When an email due at `now` may go out: `None` when now (inside waking hours), else the next
/// waking-hours opening in the clinic's zone — the same "next opening" rule as calls.
pub fn email_postpone_until(tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let opening =
        crate::domain::clock::next_in_window(tz, EMAIL_WAKING_START, EMAIL_WAKING_END, now);
    (opening > now).then_some(opening)
}

/// Built-in delays after discharge when no cadence level sets one.
pub const DEFAULT_EMAIL_DELAY_DAYS: i32 = 1;
pub const DEFAULT_CALL_DELAY_DAYS: i32 = 3;

const fn hm(h: u32, m: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(t) => t,
        None => NaiveTime::MIN,
    }
}

/// Parses a clinic's `timezone` column (an IANA name such as `America/New_York`).
pub fn clinic_tz(name: &str) -> Result<Tz, chrono_tz::ParseError> {
    name.trim().parse::<Tz>()
}

/// The one rule for a clinic's zone: the parsed `timezone`, else [`DEFAULT_TZ`]. The flag says
/// whether it fell back, so the caller can report the misconfigured clinic.
pub fn clinic_tz_or_default(name: Option<&str>) -> (Tz, bool) {
    match name.map(clinic_tz) {
        Some(Ok(tz)) => (tz, false),
        _ => (DEFAULT_TZ, true),
    }
}

/// [`clinic_tz_or_default`] that logs a warning naming the clinic when it falls back.
pub fn zone_of(clinic_id: Uuid, name: Option<&str>) -> Tz {
    let (tz, fell_back) = clinic_tz_or_default(name);
    if fell_back {
        tracing::warn!(%clinic_id, timezone = ?name, default = %DEFAULT_TZ,
            "clinic time zone is not a valid IANA name; using the default");
    }
    tz
}

/// Everything that decides when a clinic's follow-up calls may go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallPolicy {
    pub tz: Tz,
    pub window_start: NaiveTime,
    pub window_end: NaiveTime,
    pub max_retries: i32,
}

impl CallPolicy {
    /// From the clinic's columns as stored (`clinics.timezone`, `clinic_settings` window and
    /// retry limit, NULL when the clinic has no settings row); defaults fill the gaps.
    pub fn from_columns(
        clinic_id: Uuid,
        timezone: Option<&str>,
        window_start: Option<NaiveTime>,
        window_end: Option<NaiveTime>,
        max_retries: Option<i32>,
    ) -> Self {
        Self {
            tz: zone_of(clinic_id, timezone),
            window_start: window_start.unwrap_or(DEFAULT_CALL_WINDOW_START),
            window_end: window_end.unwrap_or(DEFAULT_CALL_WINDOW_END),
            max_retries: max_retries.unwrap_or(DEFAULT_MAX_CALL_RETRIES),
        }
    }

    /// Whether the attempt numbered `attempt` (first call = 1) may be followed by another:
    /// `max_call_retries` counts retries, so attempt n has had n-1 before it.
    pub fn may_retry_after(&self, attempt: i64) -> bool {
        attempt <= i64::from(self.max_retries)
    }
}

/// Whether the clinic's calendar of record is a practice-management system (`clinics.pims_type`
/// set, and not `none`). There is no write-back to a PIMS, so whatever the voice assistant books,
/// cancels or moves there must be entered by staff, and the caller is told so
/// (`docs/behaviour.md#vapi-tools-booking`).
pub fn calendar_is_in_pims(pims_type: Option<&str>) -> bool {
    pims_type.is_some_and(|p| !p.trim().is_empty() && !p.trim().eq_ignore_ascii_case("none"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails_wait_for_waking_hours() {
        use chrono::TimeZone;
        let la = chrono_tz::America::Los_Angeles;
        let local = |d: u32, h: u32, m: u32| {
            la.with_ymd_and_hms(2026, 11, d, h, m, 0)
                .single()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let cases = [
            // (now, expected opening or None = send now)
            (local(30, 3, 0), Some(local(30, 7, 0))),
            (local(30, 6, 59), Some(local(30, 7, 0))),
            (local(30, 7, 0), None),
            (local(30, 15, 0), None),
            (local(30, 20, 59), None),
            (local(30, 21, 0), Some(local(30, 7, 0) + Duration::days(1))),
            (local(30, 23, 30), Some(local(30, 7, 0) + Duration::days(1))),
        ];
        for (now, want) in cases {
            assert_eq!(super::email_postpone_until(la, now), want, "{now}");
        }
    }

    use super::*;
    use chrono_tz::{America, Asia, Australia};

    #[test]
    fn zone_parsing_table() {
        let cases: &[(Option<&str>, Tz, bool)] = &[
            (Some("America/New_York"), America::New_York, false),
            (Some(" Asia/Kolkata "), Asia::Kolkata, false),
            (Some("Australia/Adelaide"), Australia::Adelaide, false),
            (Some("Mars/Olympus"), DEFAULT_TZ, true),
            (Some(""), DEFAULT_TZ, true),
            (None, DEFAULT_TZ, true),
        ];
        for (name, tz, fell_back) in cases {
            assert_eq!(clinic_tz_or_default(*name), (*tz, *fell_back), "{name:?}");
        }
        assert!(clinic_tz("Mars/Olympus").is_err());
    }

    #[test]
    fn policy_defaults_fill_gaps() {
        let id = Uuid::nil();
        let p = CallPolicy::from_columns(id, Some("bogus"), None, None, None);
        assert_eq!(p.tz, DEFAULT_TZ);
        assert_eq!(p.window_start, NaiveTime::from_hms_opt(16, 0, 0).unwrap());
        assert_eq!(p.window_end, NaiveTime::from_hms_opt(19, 0, 0).unwrap());
        assert_eq!(p.max_retries, 3);
        let nine = NaiveTime::from_hms_opt(9, 0, 0);
        let p = CallPolicy::from_columns(id, Some("America/Chicago"), nine, None, Some(0));
        assert_eq!((p.tz, p.window_start), (America::Chicago, nine.unwrap()));
        assert!(!p.may_retry_after(1));
    }

    #[test]
    fn retry_limit_counts_retries() {
        let p = CallPolicy::from_columns(Uuid::nil(), None, None, None, Some(2));
        let table = [(1, true), (2, true), (3, false), (4, false)];
        for (attempt, ok) in table {
            assert_eq!(p.may_retry_after(attempt), ok, "attempt {attempt}");
        }
    }

    #[test]
    fn a_pims_calendar_is_one_with_a_real_pims_type() {
        for (pims_type, want) in [
            (None, false),
            (Some(""), false),
            (Some("  "), false),
            (Some("none"), false),
            (Some("None"), false),
            (Some("idexx_neo"), true),
            (Some("avimark"), true),
        ] {
            assert_eq!(calendar_is_in_pims(pims_type), want, "{pims_type:?}");
        }
    }
}
