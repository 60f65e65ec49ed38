//! How dates and times are said to a caller (`docs/behaviour.md#vapi-tools-dates`): `Tuesday,
//! March 3`, `March 3`, `2:30 PM`, always the clinic's wall clock. Pure.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// `March 3`.
pub fn month_day(d: NaiveDate) -> String {
    let month = MONTH_NAMES.get(d.month0() as usize).copied().unwrap_or("?");
    format!("{month} {}", d.day())
}

/// `Tuesday, March 3`.
pub fn spoken_date(d: NaiveDate) -> String {
    format!("{}, {}", weekday_name(d.weekday()), month_day(d))
}

/// `2:30 PM` (hour 0 is 12 AM).
pub fn spoken_time(t: NaiveTime) -> String {
    let (pm, h) = t.hour12();
    format!("{h}:{:02} {}", t.minute(), if pm { "PM" } else { "AM" })
}

/// `14:30:00`.
pub fn time_24(t: NaiveTime) -> String {
    t.format("%H:%M:%S").to_string()
}

/// `2026-03-03`.
pub fn iso_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `a, b and c` for up to `n` items, ` and N more` beyond.
pub fn list_with_more(items: &[String], n: usize) -> String {
    let shown = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        format!("{shown} and {} more times", items.len() - n)
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
        assert_eq!(spoken_date(d), "Tuesday, March 3");
        assert_eq!(month_day(d), "March 3");
        assert_eq!(iso_date(d), "2026-03-03");
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let table = [
            (t(14, 30), "2:30 PM"),
            (t(0, 5), "12:05 AM"),
            (t(12, 0), "12:00 PM"),
            (t(9, 0), "9:00 AM"),
        ];
        for (time, want) in table {
            assert_eq!(spoken_time(time), want);
        }
        assert_eq!(time_24(t(9, 5)), "09:05:00");
        let items: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        assert_eq!(list_with_more(&items, 3), "a, b, c and 2 more times");
        assert_eq!(list_with_more(&items[..2], 3), "a, b");
    }
}
