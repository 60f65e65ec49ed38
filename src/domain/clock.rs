//! Pure clinic-time math: wall-clock times in a clinic's IANA zone ↔ UTC instants.
//!
//! The old system set `HH:MM` on the server's clock (UTC), so a "16:00" call went out at 08:00
//! or 09:00 in California depending on DST. Everything here interprets preferred times as the
//! clinic's wall clock on the target date, with the offset valid *on that date*.

use chrono::{
    DateTime, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Utc,
};
use chrono_tz::Tz;

/// Wall-clock `time` on `date` in `tz` → UTC. A time that does not exist (spring-forward gap)
/// moves forward by the gap; an ambiguous one (fall-back) takes the first occurrence.
pub fn local_to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(dt) => dt.with_timezone(&Utc),
        // The earlier instant is the first time the wall clock shows this reading.
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap: apply the offset that was in force just before the gap. 02:30 on a
            // US spring-forward day read with the standard offset is the instant the clock
            // shows as 03:30 — i.e. the time moved forward by the length of the gap.
            let before = offset_before_gap(tz, local);
            (local - Duration::seconds(i64::from(before))).and_utc()
        }
    }
}

/// UTC offset (seconds east) valid just before the gap containing `local`. Real gaps are at most
/// a few hours (the largest ever was a day-long skip in Samoa), so walking back 15 minutes at a
/// time for up to 48 hours always finds a valid reading.
fn offset_before_gap(tz: Tz, local: NaiveDateTime) -> i32 {
    for step in 1..=(48 * 4) {
        let probe = local - Duration::minutes(15 * step);
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(dt) | LocalResult::Ambiguous(_, dt) => {
                return dt.offset().fix().local_minus_utc();
            }
            LocalResult::None => continue,
        }
    }
    // Unreachable for any real zone; the offset of the same reading taken as UTC is a sane bound.
    tz.offset_from_utc_datetime(&local).fix().local_minus_utc()
}

/// The clinic-local calendar date of an instant.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Whether `at` lies inside the clinic's daily window `[start, end)` (wall clock in `tz`).
/// An empty or inverted window (`start >= end`) contains nothing.
pub fn in_window(tz: Tz, start: NaiveTime, end: NaiveTime, at: DateTime<Utc>) -> bool {
    if start >= end {
        return false;
    }
    let t = at.with_timezone(&tz).time();
    start <= t && t < end
}

/// `at` itself if it lies inside the daily window [start, end) in `tz`; otherwise the next
/// opening of the window (today's if still ahead, else tomorrow's). If start >= end treat as an
/// empty/invalid window and return `at`.
pub fn next_in_window(
    tz: Tz,
    start: NaiveTime,
    end: NaiveTime,
    at: DateTime<Utc>,
) -> DateTime<Utc> {
    if start >= end || in_window(tz, start, end, at) {
        return at;
    }
    let local = at.with_timezone(&tz);
    let today = local.date_naive();
    if local.time() < start {
        let opening = local_to_utc(tz, today, start);
        // On a fall-back day the first occurrence of `start` can precede `at` (at = second
        // 01:30, start = 01:45): the window already opened in real time, so `at` is fine.
        return if opening < at { at } else { opening };
    }
    match today.checked_add_days(Days::new(1)) {
        Some(tomorrow) => local_to_utc(tz, tomorrow, start),
        // Only at chrono's date ceiling (year 262143); nothing sensible to move to.
        None => at,
    }
}

/// When a follow-up for a case should go out: `preferred_time` (clinic wall clock) on
/// `base_date_local + delay_days`. A computed time that is not after `now` moves to the next
/// occurrence of `preferred_time` after `now` — the next day for a time earlier today, and never
/// an instant in the past for an older case (the old system added one day once, which could
/// still be in the past). Negative delays are treated as zero.
pub fn schedule_at(
    tz: Tz,
    base_date_local: NaiveDate,
    delay_days: i32,
    preferred_time: NaiveTime,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let days = u64::try_from(delay_days.max(0)).unwrap_or(0);
    let date = base_date_local
        .checked_add_days(Days::new(days))
        .unwrap_or(base_date_local);
    let at = local_to_utc(tz, date, preferred_time);
    if at > now {
        return at;
    }
    next_occurrence_after(tz, preferred_time, now)
}

/// The first instant strictly after `now` at which the clinic's wall clock reads `time`.
pub fn next_occurrence_after(tz: Tz, time: NaiveTime, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut date = local_date(tz, now);
    // Two days always suffice except across a day-long skip; four is a generous bound.
    for _ in 0..4 {
        let at = local_to_utc(tz, date, time);
        if at > now {
            return at;
        }
        match date.checked_add_days(Days::new(1)) {
            Some(d) => date = d,
            None => break,
        }
    }
    now + Duration::days(1)
}

/// Batch stagger (`docs/behaviour.md#discharge-batch`): the i-th item (0-based) is `i × step` after `base`.
pub fn stagger(base: DateTime<Utc>, index: usize, step: Duration) -> DateTime<Utc> {
    let i = i32::try_from(index).unwrap_or(i32::MAX);
    base + step * i
}

/// A fixed-offset zone (`Etc/GMT±N`) whose wall clock reads `hour`:xx at `now`: benchmarks seed
/// their clinic in it so that emails fall inside waking hours whenever they run.
pub fn zone_at_local_hour(now: DateTime<Utc>, hour: u32) -> Tz {
    use chrono::Timelike;
    let mut offset = (hour as i32 - now.hour() as i32).rem_euclid(24);
    if offset > 12 {
        offset -= 24;
    }
    // `Etc/GMT+N` is N hours behind UTC.
    let name = match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    name.parse().unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_zone_for_any_local_hour() {
        use chrono::{TimeZone, Timelike};
        for utc_hour in 0..24 {
            let now = chrono::Utc
                .with_ymd_and_hms(2026, 11, 30, utc_hour, 30, 0)
                .unwrap();
            for hour in [3, 13, 15] {
                let tz = super::zone_at_local_hour(now, hour);
                assert_eq!(
                    now.with_timezone(&tz).hour(),
                    hour,
                    "{utc_hour} {hour} {tz}"
                );
            }
        }
    }

    use super::*;
    use chrono_tz::{America, Asia, Australia};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }
    fn u(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn local_to_utc_table() {
        let la = America::Los_Angeles;
        let ny = America::New_York;
        let cases: &[(Tz, &str, &str, &str)] = &[
            // Plain winter / summer offsets.
            (la, "2024-12-13", "10:00", "2024-12-13T18:00:00Z"),
            (la, "2024-07-01", "09:00", "2024-07-01T16:00:00Z"),
            (ny, "2024-12-13", "09:00", "2024-12-13T14:00:00Z"),
            (
                chrono_tz::America::Chicago,
                "2024-12-13",
                "09:00",
                "2024-12-13T15:00:00Z",
            ),
            (
                chrono_tz::America::Denver,
                "2024-12-13",
                "09:00",
                "2024-12-13T16:00:00Z",
            ),
            (
                chrono_tz::UTC,
                "2024-12-13",
                "09:00",
                "2024-12-13T09:00:00Z",
            ),
            // Spring forward 2024-03-10 (LA): 02:00–03:00 does not exist, 02:30 → 03:30 PDT.
            (la, "2024-03-10", "01:59", "2024-03-10T09:59:00Z"),
            (la, "2024-03-10", "02:00", "2024-03-10T10:00:00Z"),
            (la, "2024-03-10", "02:30", "2024-03-10T10:30:00Z"),
            (la, "2024-03-10", "03:00", "2024-03-10T10:00:00Z"),
            (la, "2024-03-10", "16:00", "2024-03-10T23:00:00Z"),
            (la, "2024-03-09", "16:00", "2024-03-10T00:00:00Z"),
            // Fall back 2024-11-03 (LA): 01:30 happens twice, the first (PDT) wins.
            (la, "2024-11-03", "01:30", "2024-11-03T08:30:00Z"),
            (la, "2024-11-03", "00:59", "2024-11-03T07:59:00Z"),
            (la, "2024-11-03", "02:00", "2024-11-03T10:00:00Z"),
            (la, "2024-11-03", "16:00", "2024-11-04T00:00:00Z"),
            // New York, same switch days.
            (ny, "2024-03-10", "02:15", "2024-03-10T07:15:00Z"),
            (ny, "2024-11-03", "01:15", "2024-11-03T05:15:00Z"),
            (ny, "2024-11-03", "10:00", "2024-11-03T15:00:00Z"),
            // Half-hour zones: Kolkata +05:30 (no DST), Adelaide +10:30 summer / +09:30 winter.
            (Asia::Kolkata, "2024-06-01", "10:00", "2024-06-01T04:30:00Z"),
            (Asia::Kolkata, "2024-06-01", "03:00", "2024-05-31T21:30:00Z"),
            (
                Australia::Adelaide,
                "2024-01-15",
                "10:00",
                "2024-01-14T23:30:00Z",
            ),
            (
                Australia::Adelaide,
                "2024-07-15",
                "10:00",
                "2024-07-15T00:30:00Z",
            ),
            // Adelaide spring forward 2024-10-06 02:00 → 03:00: 02:30 → 03:30 ACDT.
            (
                Australia::Adelaide,
                "2024-10-06",
                "02:30",
                "2024-10-05T17:00:00Z",
            ),
            // Adelaide fall back 2024-04-07 03:00 → 02:00: 02:30 first occurrence is ACDT.
            (
                Australia::Adelaide,
                "2024-04-07",
                "02:30",
                "2024-04-06T16:00:00Z",
            ),
        ];
        for (tz, date, time, want) in cases {
            assert_eq!(
                local_to_utc(*tz, d(date), t(time)),
                u(want),
                "{tz} {date} {time}"
            );
        }
    }

    #[test]
    fn next_in_window_table() {
        let la = America::Los_Angeles;
        let cases: &[(Tz, &str, &str, &str, &str)] = &[
            // (tz, start, end, at, want)
            // Inside → unchanged (16:30 PST).
            (
                la,
                "16:00",
                "19:00",
                "2024-12-14T00:30:00Z",
                "2024-12-14T00:30:00Z",
            ),
            // Start is inclusive, end exclusive.
            (
                la,
                "16:00",
                "19:00",
                "2024-12-14T00:00:00Z",
                "2024-12-14T00:00:00Z",
            ),
            (
                la,
                "16:00",
                "19:00",
                "2024-12-14T03:00:00Z",
                "2024-12-15T00:00:00Z",
            ),
            // Before today's opening (08:00 PST) → today 16:00.
            (
                la,
                "16:00",
                "19:00",
                "2024-12-13T16:00:00Z",
                "2024-12-14T00:00:00Z",
            ),
            // At night (23:00 PST) → tomorrow 16:00 PST.
            (
                la,
                "16:00",
                "19:00",
                "2024-12-14T07:00:00Z",
                "2024-12-15T00:00:00Z",
            ),
            // Night before spring forward: tomorrow's opening uses PDT.
            (
                la,
                "16:00",
                "19:00",
                "2024-03-10T06:00:00Z",
                "2024-03-10T23:00:00Z",
            ),
            // Opening inside the spring-forward gap moves forward by the gap.
            (
                la,
                "02:30",
                "05:00",
                "2024-03-10T08:00:00Z",
                "2024-03-10T10:30:00Z",
            ),
            // Night before fall back: opening uses PST.
            (
                la,
                "09:00",
                "17:00",
                "2024-11-03T05:00:00Z",
                "2024-11-03T17:00:00Z",
            ),
            // Fall back, at = second 01:30 (PST, 09:30Z), window opens at 01:45 whose first
            // occurrence (08:45Z) already passed → at is returned.
            (
                la,
                "01:45",
                "03:00",
                "2024-11-03T09:30:00Z",
                "2024-11-03T09:30:00Z",
            ),
            // Half-hour zone: Kolkata 09:00–17:00, at 20:00 IST → next day 09:00 IST.
            (
                Asia::Kolkata,
                "09:00",
                "17:00",
                "2024-06-01T14:30:00Z",
                "2024-06-02T03:30:00Z",
            ),
            (
                Asia::Kolkata,
                "09:00",
                "17:00",
                "2024-06-01T03:29:00Z",
                "2024-06-01T03:30:00Z",
            ),
            (
                Asia::Kolkata,
                "09:00",
                "17:00",
                "2024-06-01T03:30:00Z",
                "2024-06-01T03:30:00Z",
            ),
            // Invalid windows return at unchanged.
            (
                la,
                "19:00",
                "16:00",
                "2024-12-14T07:00:00Z",
                "2024-12-14T07:00:00Z",
            ),
            (
                la,
                "16:00",
                "16:00",
                "2024-12-14T07:00:00Z",
                "2024-12-14T07:00:00Z",
            ),
            // Year boundary: Dec 31 20:00 PST → Jan 1 opening.
            (
                la,
                "16:00",
                "19:00",
                "2025-01-01T04:00:00Z",
                "2025-01-02T00:00:00Z",
            ),
            (
                la,
                "09:00",
                "17:00",
                "2025-01-01T04:00:00Z",
                "2025-01-01T17:00:00Z",
            ),
        ];
        for (tz, start, end, at, want) in cases {
            let got = next_in_window(*tz, t(start), t(end), u(at));
            assert_eq!(got, u(want), "{tz} [{start},{end}) at {at}");
            assert!(got >= u(at), "never moves backwards");
        }
    }

    #[test]
    fn schedule_at_table() {
        let la = America::Los_Angeles;
        let ny = America::New_York;
        let cases: &[(Tz, &str, i32, &str, &str, &str)] = &[
            // (tz, base local date, delay, time, now, want)
            // §6.4 examples, made clinic-local: 2024-12-12 + 1 day at 10:00 PT.
            (
                la,
                "2024-12-12",
                1,
                "10:00",
                "2024-12-12T23:00:00Z",
                "2024-12-13T18:00:00Z",
            ),
            (
                la,
                "2024-12-12",
                2,
                "16:00",
                "2024-12-12T23:00:00Z",
                "2024-12-15T00:00:00Z",
            ),
            // Month / year / leap rollovers.
            (
                la,
                "2024-01-31",
                1,
                "10:00",
                "2024-01-01T00:00:00Z",
                "2024-02-01T18:00:00Z",
            ),
            (
                la,
                "2024-12-31",
                1,
                "10:00",
                "2024-12-01T00:00:00Z",
                "2025-01-01T18:00:00Z",
            ),
            (
                la,
                "2024-02-28",
                1,
                "10:00",
                "2024-02-01T00:00:00Z",
                "2024-02-29T18:00:00Z",
            ),
            (
                la,
                "2023-02-28",
                1,
                "10:00",
                "2023-02-01T00:00:00Z",
                "2023-03-01T18:00:00Z",
            ),
            // Across the DST switch the offset of the target date is used.
            (
                la,
                "2024-03-08",
                3,
                "16:00",
                "2024-03-08T20:00:00Z",
                "2024-03-11T23:00:00Z",
            ),
            (
                la,
                "2024-11-01",
                3,
                "16:00",
                "2024-11-01T20:00:00Z",
                "2024-11-05T00:00:00Z",
            ),
            (
                ny,
                "2024-03-09",
                1,
                "02:30",
                "2024-03-08T20:00:00Z",
                "2024-03-10T07:30:00Z",
            ),
            // Already past today → tomorrow at the same wall-clock time.
            (
                la,
                "2024-12-12",
                0,
                "10:00",
                "2024-12-12T20:00:00Z",
                "2024-12-13T18:00:00Z",
            ),
            // Exactly now is not in the future → next day.
            (
                la,
                "2024-12-12",
                0,
                "10:00",
                "2024-12-12T18:00:00Z",
                "2024-12-13T18:00:00Z",
            ),
            // Long past (old case) → next occurrence after now, not base+delay+1.
            (
                la,
                "2024-12-01",
                1,
                "10:00",
                "2024-12-12T20:00:00Z",
                "2024-12-13T18:00:00Z",
            ),
            (
                la,
                "2024-12-01",
                1,
                "16:00",
                "2024-12-12T20:00:00Z",
                "2024-12-13T00:00:00Z",
            ),
            // Half-hour zone.
            (
                Asia::Kolkata,
                "2024-06-01",
                1,
                "10:00",
                "2024-06-01T00:00:00Z",
                "2024-06-02T04:30:00Z",
            ),
            (
                Australia::Adelaide,
                "2024-10-05",
                1,
                "02:30",
                "2024-10-01T00:00:00Z",
                "2024-10-05T17:00:00Z",
            ),
            // Negative delay is treated as zero.
            (
                la,
                "2024-12-12",
                -5,
                "16:00",
                "2024-12-12T18:00:00Z",
                "2024-12-13T00:00:00Z",
            ),
        ];
        for (tz, base, delay, time, now, want) in cases {
            assert_eq!(
                schedule_at(*tz, d(base), *delay, t(time), u(now)),
                u(want),
                "{tz} {base}+{delay} {time} now={now}"
            );
        }
    }

    #[test]
    fn local_date_uses_clinic_zone() {
        // 01:00Z on the 14th is still the 13th in California and already the 14th in Kolkata.
        assert_eq!(
            local_date(America::Los_Angeles, u("2024-12-14T01:00:00Z")),
            d("2024-12-13")
        );
        assert_eq!(
            local_date(Asia::Kolkata, u("2024-12-13T20:00:00Z")),
            d("2024-12-14")
        );
    }

    #[test]
    fn stagger_table() {
        let base = u("2024-12-13T18:00:00Z");
        let cases: &[(usize, i64, &str)] = &[
            (0, 20, "2024-12-13T18:00:00Z"),
            (1, 20, "2024-12-13T18:00:20Z"),
            (24, 20, "2024-12-13T18:08:00Z"),
            (1, 120, "2024-12-13T18:02:00Z"),
            (24, 120, "2024-12-13T18:48:00Z"),
        ];
        for (i, secs, want) in cases {
            assert_eq!(stagger(base, *i, Duration::seconds(*secs)), u(want));
        }
    }
}
