//! Placeholder (replaced by the scheduling branch at merge): wall-clock times in a clinic's zone.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// `date` at `time` in `tz`, as an instant. A time skipped by a spring-forward moves forward to
/// the first valid minute; an ambiguous one takes its first occurrence.
pub fn local_to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut naive = date.and_time(time);
    for _ in 0..=180 {
        if let Some(dt) = tz.from_local_datetime(&naive).earliest() {
            return dt.with_timezone(&Utc);
        }
        naive += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&date.and_time(time))
}

/// `at` if it lies inside `[start, end)` local time in `tz`, else the next opening of the window.
pub fn next_in_window(
    tz: Tz,
    start: NaiveTime,
    end: NaiveTime,
    at: DateTime<Utc>,
) -> DateTime<Utc> {
    let local = at.with_timezone(&tz);
    let t = local.time();
    let inside = if start <= end {
        t >= start && t < end
    } else {
        t >= start || t < end
    };
    if inside {
        return at;
    }
    let today = local.date_naive();
    let candidate = local_to_utc(tz, today, start);
    if candidate > at {
        return candidate;
    }
    match today.succ_opt() {
        Some(tomorrow) => local_to_utc(tz, tomorrow, start),
        None => candidate,
    }
}
