//! `get_clinic_hours`: `clinics.business_hours` (`{monday: {open, close, closed?}, ...}`) read
//! out day by day (`docs/behaviour.md#vapi-tools-hours`).

use chrono::NaiveTime;
use serde_json::{json, Map, Value};

use super::Reply;
use crate::db::tool_clinic::ToolClinic;
use crate::domain::spoken_time::spoken_time;

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn hhmm(v: Option<&Value>) -> Option<NaiveTime> {
    let s = v?.as_str()?;
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

/// `9:00 AM - 5:00 PM`, or `Closed` for a missing, closed or unreadable day.
fn day_hours(day: Option<&Value>) -> String {
    let Some(d) = day.filter(|d| d.get("closed").and_then(Value::as_bool) != Some(true)) else {
        return "Closed".into();
    };
    match (hhmm(d.get("open")), hhmm(d.get("close"))) {
        (Some(o), Some(c)) => format!("{} - {}", spoken_time(o), spoken_time(c)),
        _ => "Closed".into(),
    }
}

pub fn clinic_hours(clinic: &ToolClinic) -> Reply {
    let Some(hours) = clinic
        .business_hours
        .as_ref()
        .filter(|h| h.as_object().is_some_and(|m| !m.is_empty()))
    else {
        return Reply::fail(
            "hours_not_configured",
            "Business hours are not yet configured. Please contact the clinic directly.",
            json!({}),
        );
    };
    let mut map = Map::new();
    let mut spoken = Vec::new();
    for day in DAYS {
        let text = day_hours(hours.get(day));
        let mut name = day.to_string();
        name[..1].make_ascii_uppercase();
        spoken.push(format!("{name} {text}"));
        map.insert(day.into(), json!(text));
    }
    Reply::ok(
        format!("Our hours are: {}.", spoken.join("; ")),
        json!({
            "clinic_name": clinic.name,
            "hours": map,
            "emergencyInfo": "For after-hours emergencies, please call our emergency line.",
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clinic(hours: Option<Value>) -> ToolClinic {
        ToolClinic {
            id: uuid::Uuid::nil(),
            name: "Happy Paws".into(),
            timezone: None,
            pims_type: None,
            business_hours: hours,
            pims_clinic_id: None,
        }
    }

    #[test]
    fn renders_hours() {
        let r = clinic_hours(&clinic(Some(json!({
            "monday": {"open": "08:00", "close": "17:30"},
            "saturday": {"open": "09:00", "close": "12:00", "closed": false},
            "sunday": {"closed": true},
            "tuesday": {"open": "00:15", "close": "nope"}
        }))));
        assert!(r.success);
        assert_eq!(r.data["hours"]["monday"], "8:00 AM - 5:30 PM");
        assert_eq!(r.data["hours"]["saturday"], "9:00 AM - 12:00 PM");
        assert_eq!(r.data["hours"]["sunday"], "Closed");
        assert_eq!(r.data["hours"]["tuesday"], "Closed");
        assert_eq!(r.data["hours"]["friday"], "Closed");
        assert!(r
            .message
            .starts_with("Our hours are: Monday 8:00 AM - 5:30 PM; Tuesday Closed;"));
        let none = clinic_hours(&clinic(None));
        assert_eq!(none.error, Some("hours_not_configured"));
        assert_eq!(
            clinic_hours(&clinic(Some(json!({})))).error,
            Some("hours_not_configured")
        );
    }
}
