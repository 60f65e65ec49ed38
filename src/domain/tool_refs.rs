//! Reference numbers the voice tools read to callers, and the small rules around holds
//! (`docs/behaviour.md#vapi-tools-holds`). Pure: callers pass the randomness and the date.

use chrono::NaiveDate;

/// How long a new booking holds its slot before its call must have ended.
pub const HOLD_MINUTES: i64 = 5;
/// A live call keeps its hold alive (the sweeper extends it) for at most this long after
/// booking; VAPI calls last at most 10 minutes unless configured longer.
pub const HOLD_MAX_LIVE_MINUTES: i64 = 30;

/// `ODIS-` + 8 upper-case hex digits of `random` (unique in `vapi_bookings`; a collision is
/// retried with new randomness by the writer).
pub fn confirmation_number(random: u128) -> String {
    format!("ODIS-{:08X}", (random & 0xFFFF_FFFF) as u32)
}

const BASE36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// `RX-YYYYMMDD-XXXX`: the clinic-local date and 4 base-36 characters of `random`.
pub fn refill_reference(local_date: NaiveDate, random: u128) -> String {
    let mut r = random;
    let mut tail = String::with_capacity(4);
    for _ in 0..4 {
        tail.push(char::from(BASE36[(r % 36) as usize]));
        r /= 36;
    }
    format!("RX-{}-{tail}", local_date.format("%Y%m%d"))
}

/// Triage urgency levels the assistant may report.
pub const URGENCIES: &[&str] = &["critical", "urgent", "monitor"];
/// Triage actions the assistant may report.
pub const TRIAGE_ACTIONS: &[&str] = &["sent_to_er", "scheduled_appointment", "home_care_advised"];

/// `refill_requests.pharmacy_preference` for the tool's `pickup | external_pharmacy`.
pub fn pharmacy_column(preference: Option<&str>) -> &'static str {
    match preference {
        Some("external_pharmacy" | "external") => "external",
        _ => "pickup",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(confirmation_number(0x1234_5678_9abc_def0), "ODIS-9ABCDEF0");
        assert_eq!(confirmation_number(0xab), "ODIS-000000AB");
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(refill_reference(d, 0), "RX-20261130-0000");
        assert_eq!(refill_reference(d, 35 + 36), "RX-20261130-Z100");
        let r = refill_reference(d, u128::MAX);
        assert_eq!(r.len(), "RX-20261130-XXXX".len());
        assert!(r[12..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(pharmacy_column(Some("external_pharmacy")), "external");
        assert_eq!(pharmacy_column(Some("pickup")), "pickup");
        assert_eq!(pharmacy_column(None), "pickup");
    }
}
