//! Dates and times as callers say them, read on the clinic's calendar
//! (`docs/behaviour.md#vapi-tools-dates`). `today` is always the clinic-local date (the caller
//! passes it): the old system used the server's day, so an evening caller on the US west coast
//! was booked one day late. Pure, table-tested.
//!
//! Dates, first rule that matches wins:
//! 1. `today`, `tomorrow`, `day after tomorrow`;
//! 2. `[next|this] <weekday>`: the next such day strictly after today (1–7 days ahead);
//! 3. `<month> <day>[st|nd|rd|th][[,] <year>]`, `<day>[suffix] [of] <month>[[,] <year>]`
//!    (a leading `<weekday>,` is ignored); without a year, a date already past is next year's;
//! 4. `the <day>[suffix]`: this month, or the next month having that day if it is past;
//! 5. `M/D`, `M/D/YY`, `M/D/YYYY` (US order; a 2-digit year is 20YY); without a year as 3;
//! 6. ISO `YYYY-MM-DD`; a year before last year is read as this year (assistants sometimes
//!    fill in a stale year).
//!
//! A day that does not exist in its month (`February 30`) is not a date: the old parser rolled
//! it over into the next month and booked a day the caller never said.
//!
//! Times: `2 pm`, `2:30pm`, `2:30 p.m.`, `14:30`, `14:30:00`, `noon`, `midnight`; hours and
//! minutes out of range are rejected (the old parser accepted `25:99`).

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Weekday};

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

const WEEKDAYS: &[(&str, Weekday)] = &[
    ("monday", Weekday::Mon),
    ("mon", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("tues", Weekday::Tue),
    ("tue", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("wed", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("thurs", Weekday::Thu),
    ("thur", Weekday::Thu),
    ("thu", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("fri", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sat", Weekday::Sat),
    ("sunday", Weekday::Sun),
    ("sun", Weekday::Sun),
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    MONTHS.iter().find(|(n, _)| *n == w).map(|(_, m)| *m)
}

fn weekday_of(word: &str) -> Option<Weekday> {
    let w = word.trim_end_matches([',', '.']);
    WEEKDAYS.iter().find(|(n, _)| *n == w).map(|(_, d)| *d)
}

/// `3`, `3rd`, `21st` → the day number (1–31).
fn day_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches([',', '.']);
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| w.strip_suffix(s))
        .unwrap_or(w);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year_of(word: &str) -> Option<i32> {
    let w = word.trim_end_matches([',', '.']);
    (w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
        .then(|| w.parse().ok())
        .flatten()
}

/// The date a caller means, on the clinic's calendar where today is `today`.
pub fn parse_date(input: &str, today: NaiveDate) -> Option<NaiveDate> {
    let lower = input.trim().to_lowercase().replace(',', " ");
    let words: Vec<&str> = lower.split_whitespace().collect();
    let words: &[&str] = match words.first() {
        Some(&"on") => &words[1..],
        _ => &words,
    };
    relative(words, today)
        .or_else(|| weekday(words, today))
        .or_else(|| month_day(words, today))
        .or_else(|| the_day(words, today))
        .or_else(|| slashed(words, today))
        .or_else(|| iso(words, today))
}

/// A date the caller remembers (a last refill): like [`parse_date`], but a weekday is the last
/// such day up to today and a date without a year that is still ahead is last year's.
pub fn parse_past_date(input: &str, today: NaiveDate) -> Option<NaiveDate> {
    let d = parse_date(input, today)?;
    if d <= today {
        return Some(d);
    }
    let lower = input.trim().to_lowercase().replace(',', " ");
    let words: Vec<&str> = lower.split_whitespace().collect();
    if weekday(&words, today).is_some() {
        return d.checked_sub_days(Days::new(7));
    }
    let has_year = words.iter().any(|w| year_of(w).is_some())
        || words.iter().any(|w| w.matches('/').count() == 2);
    if has_year {
        return Some(d);
    }
    d.with_year(d.year() - 1)
}

fn relative(words: &[&str], today: NaiveDate) -> Option<NaiveDate> {
    let days = match words {
        ["yesterday"] => return today.checked_sub_days(Days::new(1)),
        ["today"] => 0,
        ["tomorrow"] => 1,
        ["day", "after", "tomorrow"] | ["the", "day", "after", "tomorrow"] => 2,
        _ => return None,
    };
    today.checked_add_days(Days::new(days))
}

fn weekday(words: &[&str], today: NaiveDate) -> Option<NaiveDate> {
    let day = match words {
        [w] | ["next" | "this" | "coming" | "on", w] | ["this", "coming", w] => weekday_of(w)?,
        _ => return None,
    };
    let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    let ahead = if ahead == 0 { 7 } else { ahead };
    today.checked_add_days(Days::new(u64::from(ahead)))
}

/// A date without a year: this year's, or next year's once it has passed.
fn upcoming(month: u32, day: u32, today: NaiveDate) -> Option<NaiveDate> {
    let this = NaiveDate::from_ymd_opt(today.year(), month, day);
    match this {
        Some(d) if d >= today => Some(d),
        // Past this year (or February 29 of a common year): the next year that has it.
        _ => (1..=8).find_map(|n| NaiveDate::from_ymd_opt(today.year() + n, month, day)),
    }
}

fn month_day(words: &[&str], today: NaiveDate) -> Option<NaiveDate> {
    // "Tuesday, March 3": the assistant's own spoken format.
    let words = match words.first().and_then(|w| weekday_of(w)) {
        Some(_) if words.len() > 1 => &words[1..],
        _ => words,
    };
    let md = |m: &str, d: &str, y: Option<&str>| -> Option<(u32, u32, Option<i32>)> {
        let year = match y {
            Some(y) => Some(year_of(y)?),
            None => None,
        };
        Some((month_of(m)?, day_of(d)?, year))
    };
    let (month, day, year) = match words {
        [m, d] => md(m, d, None),
        [m, d, y] => md(m, d, Some(y)),
        _ => None,
    }
    .or_else(|| match words {
        [d, m] | ["the", d, m] | [d, "of", m] | ["the", d, "of", m] => md(m, d, None),
        [d, m, y] | ["the", d, m, y] | [d, "of", m, y] | ["the", d, "of", m, y] => {
            md(m, d, Some(y))
        }
        _ => None,
    })?;
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day),
        None => upcoming(month, day, today),
    }
}

fn the_day(words: &[&str], today: NaiveDate) -> Option<NaiveDate> {
    let ["the", d] = words else {
        return None;
    };
    let day = day_of(d)?;
    let first = today.with_day(1)?;
    (0..12).find_map(|n| {
        let month = first.checked_add_months(Months::new(n))?;
        NaiveDate::from_ymd_opt(month.year(), month.month(), day).filter(|d| *d >= today)
    })
}

fn slashed(words: &[&str], today: NaiveDate) -> Option<NaiveDate> {
    let [w] = words else { return None };
    let parts: Vec<&str> = w.split('/').collect();
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match parts.as_slice() {
        [m, d] if m.len() <= 2 && d.len() <= 2 => upcoming(num(m)?, num(d)?, today),
        [m, d, y] if m.len() <= 2 && d.len() <= 2 => {
            let y = match y.len() {
                2 => 2000 + i32::try_from(num(y)?).ok()?,
                4 => i32::try_from(num(y)?).ok()?,
                _ => return None,
            };
            NaiveDate::from_ymd_opt(y, num(m)?, num(d)?)
        }
        _ => None,
    }
}

/// `2026-12-03`, `2026/12/03`, and the date of an ISO date-time (`2026-12-03T14:30:00Z`,
/// `2026-12-03 14:30`): assistants often send the whole timestamp where a date is asked; the
/// time part is the `time` argument's business, not this one's.
fn iso(words: &[&str], today: NaiveDate) -> Option<NaiveDate> {
    let w = match words {
        [w] => *w,
        [w, time] if time.contains(':') => *w,
        _ => return None,
    };
    // Lowercased input: the date-time separator is a `t`.
    let date = w.split('t').next()?;
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date, "%Y/%m/%d"))
        .ok()?;
    if d.year() < today.year() - 1 {
        return NaiveDate::from_ymd_opt(today.year(), d.month(), d.day());
    }
    Some(d)
}

/// The wall-clock time a caller means.
pub fn parse_time(input: &str) -> Option<NaiveTime> {
    let s = input.trim().to_lowercase().replace('.', "");
    let s = s.trim();
    match s {
        "noon" | "midday" | "12 noon" => return NaiveTime::from_hms_opt(12, 0, 0),
        "midnight" => return NaiveTime::from_hms_opt(0, 0, 0),
        _ => {}
    }
    let (clock, meridiem) = if let Some(c) = s.strip_suffix("am") {
        (c.trim(), Some(false))
    } else if let Some(c) = s.strip_suffix("pm") {
        (c.trim(), Some(true))
    } else {
        (s, None)
    };
    let clock = clock.strip_suffix("o'clock").map_or(clock, str::trim);
    let parts: Vec<&str> = clock.split(':').collect();
    let num = |p: &str| -> Option<u32> {
        (!p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let (h, m, sec) = match (parts.as_slice(), meridiem) {
        ([h], Some(_)) => (num(h)?, 0, 0),
        ([h, m], _) if m.len() == 2 => (num(h)?, num(m)?, 0),
        ([h, m, s], None) if m.len() == 2 && s.len() == 2 => (num(h)?, num(m)?, num(s)?),
        _ => return None,
    };
    let hour = match meridiem {
        Some(pm) if (1..=12).contains(&h) => (h % 12) + if pm { 12 } else { 0 },
        Some(_) => return None,
        None => h,
    };
    NaiveTime::from_hms_opt(hour, m, sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_every_rule() {
        // Today: Monday 2026-11-30 (clinic-local).
        let today = d(2026, 11, 30);
        let table: &[(&str, Option<NaiveDate>)] = &[
            ("today", Some(today)),
            ("  Today ", Some(today)),
            ("tomorrow", Some(d(2026, 12, 1))),
            ("day after tomorrow", Some(d(2026, 12, 2))),
            ("on tomorrow", Some(d(2026, 12, 1))),
            // Weekdays: strictly after today, same weekday = +7; next/this alike.
            ("tuesday", Some(d(2026, 12, 1))),
            ("next Tuesday", Some(d(2026, 12, 1))),
            ("this friday", Some(d(2026, 12, 4))),
            ("monday", Some(d(2026, 12, 7))),
            ("next monday", Some(d(2026, 12, 7))),
            ("Sun", Some(d(2026, 12, 6))),
            ("thurs", Some(d(2026, 12, 3))),
            // Month and day, any order, ordinals, years.
            ("March 3rd", Some(d(2027, 3, 3))),
            ("march 3", Some(d(2027, 3, 3))),
            ("December 1st", Some(d(2026, 12, 1))),
            ("November 30", Some(today)),
            ("November 29", Some(d(2027, 11, 29))),
            ("Dec 5, 2026", Some(d(2026, 12, 5))),
            ("sept 9", Some(d(2027, 9, 9))),
            ("3rd of March", Some(d(2027, 3, 3))),
            ("the 3rd of march", Some(d(2027, 3, 3))),
            ("21st December", Some(d(2026, 12, 21))),
            ("5 jan 2027", Some(d(2027, 1, 5))),
            ("Tuesday, December 1", Some(d(2026, 12, 1))),
            // Days a month does not have are not rolled over (the old parser did).
            ("February 30", None),
            ("April 31st", None),
            ("February 29", Some(d(2028, 2, 29))),
            // "the Nth": this month, else the next month that has it.
            ("the 30th", Some(today)),
            ("the 15th", Some(d(2026, 12, 15))),
            ("the 31st", Some(d(2026, 12, 31))),
            // US numeric.
            ("3/14", Some(d(2027, 3, 14))),
            ("12/24", Some(d(2026, 12, 24))),
            ("12/24/26", Some(d(2026, 12, 24))),
            ("1/2/2027", Some(d(2027, 1, 2))),
            ("13/1", None),
            ("2/30/2027", None),
            // ISO; a stale year is this year's.
            ("2026-12-03", Some(d(2026, 12, 3))),
            ("2023-12-03", Some(d(2026, 12, 3))),
            ("2025-12-03", Some(d(2025, 12, 3))),
            ("2026/12/03", Some(d(2026, 12, 3))),
            ("2026-12-03T14:30:00Z", Some(d(2026, 12, 3))),
            ("2026-12-03T14:30:00.000-08:00", Some(d(2026, 12, 3))),
            ("2026-12-03 14:30", Some(d(2026, 12, 3))),
            ("2026-12-03 next", None),
            ("2026-12-32T10:00", None),
            // Not dates.
            ("", None),
            ("someday", None),
            ("the 32nd", None),
            ("march", None),
            ("next week", None),
        ];
        for (input, want) in table {
            assert_eq!(parse_date(input, today), *want, "{input:?}");
        }
    }

    #[test]
    fn past_dates() {
        let today = d(2026, 11, 30);
        let table: &[(&str, Option<NaiveDate>)] = &[
            ("yesterday", Some(d(2026, 11, 29))),
            ("March 3", Some(d(2026, 3, 3))),
            ("December 24", Some(d(2025, 12, 24))),
            ("friday", Some(d(2026, 11, 27))),
            ("2026-10-01", Some(d(2026, 10, 1))),
            ("12/24/2026", Some(d(2026, 12, 24))),
            ("a while ago", None),
        ];
        for (input, want) in table {
            assert_eq!(parse_past_date(input, today), *want, "{input:?}");
        }
        assert_eq!(parse_date("yesterday", today), Some(d(2026, 11, 29)));
    }

    #[test]
    fn late_evening_is_still_today_on_the_clinic_calendar() {
        // 2026-12-01T04:30Z is 20:30 on Nov 30 in Los Angeles: "tomorrow" is Dec 1, not Dec 2.
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T04:30:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let today = crate::domain::clock::local_date(chrono_tz::America::Los_Angeles, at);
        assert_eq!(parse_date("tomorrow", today), Some(d(2026, 12, 1)));
    }

    #[test]
    fn times() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        let table: &[(&str, Option<NaiveTime>)] = &[
            ("2 pm", t(14, 0)),
            ("2pm", t(14, 0)),
            ("2:30 PM", t(14, 30)),
            ("2:30pm", t(14, 30)),
            ("2:30 p.m.", t(14, 30)),
            ("9 a.m.", t(9, 0)),
            ("9 AM", t(9, 0)),
            ("12 pm", t(12, 0)),
            ("12 am", t(0, 0)),
            ("12:15 am", t(0, 15)),
            ("14:30", t(14, 30)),
            ("09:05", t(9, 5)),
            ("14:30:00", t(14, 30)),
            ("noon", t(12, 0)),
            ("midnight", t(0, 0)),
            ("3 o'clock pm", t(15, 0)),
            ("13 pm", None),
            ("0 am", None),
            ("25:00", None),
            ("10:75", None),
            ("2:3 pm", None),
            ("3", None),
            ("afternoon", None),
            ("", None),
        ];
        for (input, want) in table {
            assert_eq!(parse_time(input), *want, "{input:?}");
        }
    }
}
