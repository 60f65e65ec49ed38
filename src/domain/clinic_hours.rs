//! Whether a clinic is open at an instant, in the clinic's own time zone
//! (`docs/behaviour.md#call-variables`): the `clinic_is_open` call variable.
//!
//! `clinics.business_hours` holds per-day hours, keyed `"0"` (Sunday) … `"6"` (Saturday), each
//! `{"enabled": bool, "open": "HH:MM", "close": "HH:MM"}`; a day that is missing or disabled is
//! closed, and the clinic is open when `open <= local time < close`. Without usable hours the
//! default is Monday–Friday 09:00–17:00.

use chrono::{DateTime, Datelike, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// Default opening time when the clinic has no hours.
pub const DEFAULT_OPEN: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
/// Default closing time when the clinic has no hours.
pub const DEFAULT_CLOSE: NaiveTime = match NaiveTime::from_hms_opt(17, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// One day's hours: `None` = closed.
pub type DayHours = Option<(NaiveTime, NaiveTime)>;

/// A week of hours, Sunday first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessHours {
    pub days: [DayHours; 7],
}

impl Default for BusinessHours {
    /// Monday–Friday 09:00–17:00.
    fn default() -> Self {
        let weekday = Some((DEFAULT_OPEN, DEFAULT_CLOSE));
        Self {
            days: [None, weekday, weekday, weekday, weekday, weekday, None],
        }
    }
}

fn hhmm(v: Option<&Value>) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(v?.as_str()?.trim(), "%H:%M").ok()
}

impl BusinessHours {
    /// The clinic's hours from `clinics.business_hours`; the default week when the column is
    /// absent or has no day in the per-day shape (a malformed day counts as closed).
    pub fn from_json(v: Option<&Value>) -> Self {
        let Some(obj) = v.and_then(Value::as_object) else {
            return Self::default();
        };
        if !(0..7).any(|d| obj.contains_key(&d.to_string())) {
            return Self::default();
        }
        let mut days = [None; 7];
        for (d, slot) in days.iter_mut().enumerate() {
            let Some(day) = obj.get(&d.to_string()) else {
                continue;
            };
            if day.get("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            if let (Some(open), Some(close)) = (hhmm(day.get("open")), hhmm(day.get("close"))) {
                if open < close {
                    *slot = Some((open, close));
                }
            }
        }
        Self { days }
    }

    /// Open at `at`, on the clinic's wall clock in `tz`.
    pub fn is_open(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&tz);
        let day = local.weekday().num_days_from_sunday() as usize;
        let now = NaiveTime::from_hms_opt(local.hour(), local.minute(), local.second())
            .unwrap_or(NaiveTime::MIN);
        self.days[day].is_some_and(|(open, close)| open <= now && now < close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn default_week_in_the_clinic_zone() {
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let h = BusinessHours::default();
        let cases = [
            ("2026-11-30T17:00:00Z", true),  // Mon 09:00 PST
            ("2026-11-30T16:59:59Z", false), // Mon 08:59 PST
            ("2026-12-01T00:59:00Z", true),  // Mon 16:59 PST (Tuesday in UTC)
            ("2026-12-01T01:00:00Z", false), // Mon 17:00 PST
            ("2026-11-28T20:00:00Z", false), // Saturday noon
            ("2026-11-29T20:00:00Z", false), // Sunday noon
        ];
        for (at, want) in cases {
            assert_eq!(h.is_open(la, utc(at)), want, "{at}");
        }
    }

    #[test]
    fn per_day_hours() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let h = BusinessHours::from_json(Some(&json!({
            "0": {"enabled": false, "open": "10:00", "close": "14:00"},
            "1": {"enabled": true, "open": "07:30", "close": "19:00"},
            "6": {"enabled": true, "open": "08:00", "close": "12:00"},
            "3": {"enabled": true, "open": "bad", "close": "12:00"}
        })));
        let cases = [
            ("2026-11-30T12:30:00Z", true),  // Mon 07:30 EST
            ("2026-11-30T12:29:00Z", false), // Mon 07:29
            ("2026-11-30T23:59:00Z", true),  // Mon 18:59
            ("2026-12-01T15:00:00Z", false), // Tuesday: missing → closed
            ("2026-12-02T15:00:00Z", false), // Wednesday: malformed → closed
            ("2026-11-28T14:00:00Z", true),  // Sat 09:00
            ("2026-11-29T16:00:00Z", false), // Sunday disabled
        ];
        for (at, want) in cases {
            assert_eq!(h.is_open(ny, utc(at)), want, "{at}");
        }
    }

    #[test]
    fn unusable_hours_fall_back_to_the_default_week() {
        for v in [
            json!(null),
            json!("9-5"),
            json!({}),
            json!({"monday": "9-5"}),
        ] {
            assert_eq!(
                BusinessHours::from_json(Some(&v)),
                BusinessHours::default(),
                "{v}"
            );
        }
        assert_eq!(BusinessHours::from_json(None), BusinessHours::default());
    }
}
