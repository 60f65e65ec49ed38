//! Appointment slots of a clinic day (`docs/behaviour.md#vapi-tools-slots`). Pure: the caller
//! loads the day range's schedule config, blocked periods and busy intervals in one query each,
//! and this module lays out the grid and counts, so the cost is one query per range, never one
//! per slot.
//!
//! * Grid: the day's opening hours (`daily_hours` keyed `"0"` = Sunday … `"6"`, `{enabled, open,
//!   close}`; a missing day is 08:00–18:00), narrowed to the VAPI window when set, in steps of
//!   `slot_duration_minutes` in the clinic's wall clock. A slot must end by closing time. A
//!   wall-clock time the DST switch skips is not a slot; a repeated one counts once.
//! * Blocked: a slot that *overlaps* an active blocked period of its weekday (the old check only
//!   tested the slot start, so a 10:45–11:00 slot stayed open under an 10:50 block).
//! * Capacity: `slot_capacity` (default 2) minus the busy intervals overlapping the slot.
//! * A slot that has started (before `now`) is not open.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// Default hours and grid when a clinic has no schedule config.
pub const DEFAULT_OPEN: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
pub const DEFAULT_CLOSE: NaiveTime = match NaiveTime::from_hms_opt(18, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
pub const DEFAULT_SLOT_MINUTES: i64 = 15;
pub const DEFAULT_CAPACITY: i64 = 2;

/// A clinic's schedule rules (`clinic_schedule_config`, or the defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRules {
    pub tz: Tz,
    pub daily_hours: Option<Value>,
    pub slot_minutes: i64,
    pub window: (Option<NaiveTime>, Option<NaiveTime>),
    pub capacity: i64,
}

impl ScheduleRules {
    pub fn defaults(tz: Tz) -> Self {
        Self {
            tz,
            daily_hours: None,
            slot_minutes: DEFAULT_SLOT_MINUTES,
            window: (None, None),
            capacity: DEFAULT_CAPACITY,
        }
    }
}

/// An active blocked period: wall-clock `[start, end)` on `days` (0 = Sunday).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockedPeriod {
    pub name: String,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub days: Vec<i32>,
}

/// One slot of the grid, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Wall-clock start in the clinic's zone.
    pub local_start: NaiveTime,
    pub capacity: i64,
    pub booked: i64,
    pub blocked: Option<String>,
    pub past: bool,
}

impl Slot {
    pub fn remaining(&self) -> i64 {
        if self.blocked.is_some() {
            0
        } else {
            (self.capacity - self.booked).max(0)
        }
    }

    pub fn is_open(&self) -> bool {
        !self.past && self.remaining() > 0
    }
}

fn hhmm(v: Option<&Value>) -> Option<NaiveTime> {
    let s = v?.as_str()?;
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

const DAY_KEYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// Opening hours of `date` (`None` = closed), before the VAPI window.
pub fn hours_on(rules: &ScheduleRules, date: NaiveDate) -> Option<(NaiveTime, NaiveTime)> {
    let idx = date.weekday().num_days_from_sunday() as usize;
    let day = rules.daily_hours.as_ref().and_then(|h| {
        h.get(idx.to_string())
            .or_else(|| DAY_KEYS.get(idx).and_then(|k| h.get(*k)))
    });
    let Some(day) = day else {
        return Some((DEFAULT_OPEN, DEFAULT_CLOSE));
    };
    if day.get("enabled").and_then(Value::as_bool) == Some(false)
        || day.get("closed").and_then(Value::as_bool) == Some(true)
    {
        return None;
    }
    let open = hhmm(day.get("open")).unwrap_or(DEFAULT_OPEN);
    let close = hhmm(day.get("close")).unwrap_or(DEFAULT_CLOSE);
    Some((open, close))
}

/// The grid of `date`: `(UTC start, UTC end, wall-clock start)` of every slot.
pub fn grid(
    rules: &ScheduleRules,
    date: NaiveDate,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, NaiveTime)> {
    let Some((open, close)) = hours_on(rules, date) else {
        return Vec::new();
    };
    let open = rules.window.0.map_or(open, |w| w.max(open));
    let close = rules.window.1.map_or(close, |w| w.min(close));
    let step = Duration::minutes(rules.slot_minutes.max(1));
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>, NaiveTime)> = Vec::new();
    let mut t = open;
    while t < close {
        let (end_wall, wrapped) = t.overflowing_add_signed(step);
        // A slot must end by closing (and not wrap past midnight).
        if wrapped != 0 || end_wall > close || end_wall <= t {
            break;
        }
        if let LocalResult::Single(s) | LocalResult::Ambiguous(s, _) =
            rules.tz.from_local_datetime(&date.and_time(t))
        {
            let start = s.with_timezone(&Utc);
            if out.last().is_none_or(|(prev, _, _)| *prev < start) {
                out.push((start, start + step, t));
            }
        }
        t = end_wall;
    }
    out
}

fn blocked_by(
    periods: &[BlockedPeriod],
    weekday: i32,
    start: NaiveTime,
    end: NaiveTime,
) -> Option<&BlockedPeriod> {
    periods
        .iter()
        .find(|p| p.days.contains(&weekday) && start < p.end && end > p.start)
}

/// Every slot of `date`, with capacity, bookings and blocks. `busy` are the day range's
/// occupied intervals (appointments and live holds), in any order.
pub fn day_slots(
    rules: &ScheduleRules,
    date: NaiveDate,
    blocked: &[BlockedPeriod],
    busy: &[(DateTime<Utc>, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Vec<Slot> {
    let weekday = date.weekday().num_days_from_sunday() as i32;
    let grid = grid(rules, date);
    // Only the intervals overlapping the day's grid can overlap one of its slots: one pass over
    // the range's intervals per day, instead of one per slot (the range holds 14 days of them).
    let span = grid.first().zip(grid.last()).map(|(f, l)| (f.0, l.1));
    let busy: Vec<&(DateTime<Utc>, DateTime<Utc>)> = match span {
        Some((first, last)) => busy
            .iter()
            .filter(|(s, e)| *s < last && *e > first)
            .collect(),
        None => Vec::new(),
    };
    grid.into_iter()
        .map(|(start, end, local_start)| {
            let local_end = end.with_timezone(&rules.tz).time();
            // A slot ending at midnight ends at the day's end for the overlap test.
            let local_end = if local_end <= local_start {
                NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(local_end)
            } else {
                local_end
            };
            let booked = busy.iter().filter(|(s, e)| *s < end && *e > start).count();
            Slot {
                start,
                end,
                local_start,
                capacity: rules.capacity,
                booked: i64::try_from(booked).unwrap_or(i64::MAX),
                blocked: blocked_by(blocked, weekday, local_start, local_end)
                    .map(|p| p.name.clone()),
                past: start < now,
            }
        })
        .collect()
}

/// The open slots nearest to `wanted` (by distance in time), at most `n`, in time order.
pub fn nearest_open(slots: &[Slot], wanted: DateTime<Utc>, n: usize) -> Vec<Slot> {
    let mut open: Vec<&Slot> = slots.iter().filter(|s| s.is_open()).collect();
    open.sort_by_key(|s| (s.start - wanted).num_seconds().abs());
    let mut picked: Vec<Slot> = open.into_iter().take(n).cloned().collect();
    picked.sort_by_key(|s| s.start);
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Asia::Kolkata;
    use serde_json::json;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    const LONG_AGO: &str = "2000-01-01T00:00:00Z";

    #[test]
    fn default_grid_is_8_to_18_every_15_minutes() {
        let r = ScheduleRules::defaults(New_York);
        let g = grid(&r, date(2026, 12, 1));
        assert_eq!(g.len(), 40);
        assert_eq!(g[0].0, utc("2026-12-01T13:00:00Z"));
        assert_eq!(g[39].2, t(17, 45));
        assert_eq!(g[39].1, utc("2026-12-01T23:00:00Z"));
    }

    #[test]
    fn daily_hours_window_and_closed_days() {
        let mut r = ScheduleRules::defaults(New_York);
        r.daily_hours = Some(json!({
            "0": {"enabled": false},
            "2": {"enabled": true, "open": "09:00", "close": "12:00"},
            "saturday": {"open": "10:00", "close": "11:00"}
        }));
        r.slot_minutes = 30;
        // Sunday closed.
        assert!(grid(&r, date(2026, 11, 29)).is_empty());
        // Tuesday 09:00–12:00 in 30 minutes: 6 slots.
        assert_eq!(grid(&r, date(2026, 12, 1)).len(), 6);
        assert_eq!(grid(&r, date(2026, 12, 5)).len(), 2);
        // The VAPI window narrows it.
        r.window = (Some(t(10, 0)), Some(t(11, 30)));
        let g = grid(&r, date(2026, 12, 1));
        assert_eq!(
            g.iter().map(|s| s.2).collect::<Vec<_>>(),
            [t(10, 0), t(10, 30), t(11, 0)]
        );
        // A slot must fit before closing: 45-minute slots from 09:00 to 12:00 → 4 (last 11:15).
        r.window = (None, None);
        r.slot_minutes = 45;
        assert_eq!(grid(&r, date(2026, 12, 1)).len(), 4);
    }

    #[test]
    fn dst_days_in_new_york() {
        let mut r = ScheduleRules::defaults(New_York);
        // Spring forward 2027-03-14: 02:00–03:00 does not exist.
        r.daily_hours = Some(json!({"0": {"open": "01:00", "close": "04:00"}}));
        r.slot_minutes = 30;
        let g = grid(&r, date(2027, 3, 14));
        let walls: Vec<NaiveTime> = g.iter().map(|s| s.2).collect();
        assert_eq!(walls, [t(1, 0), t(1, 30), t(3, 0), t(3, 30)]);
        assert_eq!(g[0].0, utc("2027-03-14T06:00:00Z"));
        assert_eq!(g[2].0, utc("2027-03-14T07:00:00Z"));
        // Regular hours shift by the offset: 08:00 EDT = 12:00Z, the day before 08:00 EST = 13:00Z.
        let r = ScheduleRules::defaults(New_York);
        assert_eq!(
            grid(&r, date(2027, 3, 14))[0].0,
            utc("2027-03-14T12:00:00Z")
        );
        assert_eq!(
            grid(&r, date(2027, 3, 13))[0].0,
            utc("2027-03-13T13:00:00Z")
        );
        // Fall back 2026-11-01: 01:00–02:00 happens twice; each wall time once (first).
        let mut r = ScheduleRules::defaults(New_York);
        r.daily_hours = Some(json!({"0": {"open": "00:30", "close": "02:30"}}));
        r.slot_minutes = 30;
        let g = grid(&r, date(2026, 11, 1));
        assert_eq!(g.len(), 4);
        assert_eq!(g[1].0, utc("2026-11-01T05:00:00Z"));
        assert_eq!(g[3].0, utc("2026-11-01T07:00:00Z"));
    }

    #[test]
    fn half_hour_zone() {
        let r = ScheduleRules::defaults(Kolkata);
        let g = grid(&r, date(2026, 12, 1));
        assert_eq!(g[0].0, utc("2026-12-01T02:30:00Z"));
    }

    #[test]
    fn blocked_periods_block_overlapping_slots() {
        let r = ScheduleRules::defaults(New_York);
        let lunch = BlockedPeriod {
            name: "Lunch".into(),
            start: t(12, 10),
            end: t(13, 0),
            days: vec![1, 2, 3, 4, 5],
        };
        let slots = day_slots(&r, date(2026, 12, 1), &[lunch], &[], utc(LONG_AGO));
        let at = |h, m| slots.iter().find(|s| s.local_start == t(h, m)).unwrap();
        // 12:00–12:15 overlaps a block starting 12:10: blocked (the old check missed it).
        assert_eq!(at(12, 0).blocked.as_deref(), Some("Lunch"));
        assert_eq!(at(12, 45).blocked.as_deref(), Some("Lunch"));
        assert!(at(11, 45).is_open());
        assert!(at(13, 0).is_open());
        // Not on Sundays.
        let sunday = day_slots(&r, date(2026, 11, 29), &[], &[], utc(LONG_AGO));
        assert!(sunday.iter().all(Slot::is_open));
    }

    #[test]
    fn capacity_counts_overlapping_busy_intervals() {
        let r = ScheduleRules::defaults(New_York);
        let busy = [
            (utc("2026-12-01T14:00:00Z"), utc("2026-12-01T14:15:00Z")),
            (utc("2026-12-01T13:50:00Z"), utc("2026-12-01T14:20:00Z")),
            (utc("2026-12-01T14:15:00Z"), utc("2026-12-01T14:30:00Z")),
            // Other days of the range: never counted on this one.
            (utc("2026-11-30T14:00:00Z"), utc("2026-11-30T14:15:00Z")),
            (utc("2026-12-02T14:00:00Z"), utc("2026-12-02T14:15:00Z")),
            // Overlapping the day's first slot from before opening: counted there only.
            (utc("2026-12-01T12:00:00Z"), utc("2026-12-01T13:05:00Z")),
        ];
        let slots = day_slots(&r, date(2026, 12, 1), &[], &busy, utc(LONG_AGO));
        let at = |h, m| slots.iter().find(|s| s.local_start == t(h, m)).unwrap();
        assert_eq!(at(9, 0).booked, 2);
        assert!(!at(9, 0).is_open());
        assert_eq!(at(9, 15).booked, 2);
        assert_eq!(at(8, 45).booked, 1);
        assert_eq!(at(8, 45).remaining(), 1);
        assert_eq!(at(9, 30).booked, 0);
        assert_eq!((at(8, 0).booked, at(8, 15).booked), (1, 0));
        // Started slots are not open.
        let later = day_slots(&r, date(2026, 12, 1), &[], &[], utc("2026-12-01T20:00:00Z"));
        assert_eq!(later.iter().filter(|s| s.is_open()).count(), 12);
        // Nearest open alternatives around 09:00.
        let alt = nearest_open(&slots, utc("2026-12-01T14:00:00Z"), 3);
        let walls: Vec<NaiveTime> = alt.iter().map(|s| s.local_start).collect();
        assert_eq!(walls, [t(8, 30), t(8, 45), t(9, 30)]);
    }
}
