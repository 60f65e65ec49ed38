//! Blocked (extreme) cases, behavior.md §10: no follow-up call or email after euthanasia or
//! death. Keywords match whole words/phrases, not substrings, so "appts" is not "pts" and
//! "doable" is not "doa" (the old detector's bug).

use serde_json::Value;

/// What the check looks at, read from the case, its patient and its latest discharge summary.
#[derive(Clone, Debug, Default)]
pub struct CaseFacts {
    pub case_type: Option<String>,
    pub detected_case_type: Option<String>,
    pub metadata: Value,
    pub entity_extraction: Value,
    pub extreme_case_check: Value,
    pub patient_deceased: bool,
    pub discharge_summary: Option<String>,
}

const BLOCKED_TYPES: [&str; 3] = ["euthanasia", "doa", "deceased"];
const KEYWORDS: [&str; 15] = [
    "euthanasia",
    "euthanize",
    "euthanized",
    "eutha",
    "doa",
    "dead on arrival",
    "deceased",
    "passed away",
    "death during",
    "humane ending",
    "compassionate euthanasia",
    "put to sleep",
    "pts",
    "humanely euthanized",
    "cremation",
];

fn ptr_str<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    v.pointer(path).and_then(Value::as_str)
}

/// The reason the case must not be contacted, if any.
pub fn blocked_reason(f: &CaseFacts) -> Option<String> {
    if f.patient_deceased {
        return Some("Patient is deceased".into());
    }
    let check = &f.extreme_case_check;
    let flagged = check
        .get("isExtremeCase")
        .or_else(|| check.get("is_extreme_case"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let category = check
        .get("category")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    if flagged
        || ["euthanasia", "deceased", "death"]
            .iter()
            .any(|k| category.contains(k))
    {
        let what = if category.is_empty() {
            "extreme case".to_string()
        } else {
            category
        };
        return Some(format!("Extreme case check: {what}"));
    }
    let types = [
        ("Case type", f.case_type.as_deref()),
        ("Case type", f.detected_case_type.as_deref()),
        (
            "Entities case type",
            ptr_str(&f.metadata, "/entities/caseType"),
        ),
        (
            "Entities case type",
            ptr_str(&f.entity_extraction, "/caseType"),
        ),
    ];
    for (label, t) in types {
        if let Some(t) = t {
            if BLOCKED_TYPES.contains(&t.trim().to_lowercase().as_str()) {
                return Some(format!("{label}: {t}"));
            }
        }
    }
    if let Some(status) = ptr_str(&f.metadata, "/pimsAppointment/status") {
        let s = status.trim().to_lowercase();
        if s == "no-show" || s == "cancelled" {
            return Some(format!("Patient appointment was {s}"));
        }
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(s) = &f.discharge_summary {
        parts.push(s.clone());
    }
    for path in [
        "/idexx/notes",
        "/idexx/consultation_notes",
        "/idexx/appointment_type",
        "/pimsConsultation/notes",
        "/pimsConsultation/reason",
        "/pimsConsultation/productsServices",
        "/entities/clinical/clinicalNotes",
    ] {
        if let Some(s) = ptr_str(&f.metadata, path) {
            parts.push(s.to_string());
        }
    }
    if let Some(Value::Array(items)) = f
        .metadata
        .pointer("/entities/clinical/productsServicesProvided")
    {
        parts.extend(items.iter().filter_map(Value::as_str).map(str::to_string));
    }
    let text = parts.join(" ").to_lowercase();
    KEYWORDS
        .iter()
        .find(|k| contains_phrase(&text, k))
        .map(|k| format!("Content contains: \"{k}\""))
}

/// `needle` occurs in `hay` with no letter or digit immediately before or after it.
fn contains_phrase(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before_ok = hay[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after_ok = hay[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return true;
        }
        from = start + needle.chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(s: &str) -> CaseFacts {
        CaseFacts {
            discharge_summary: Some(s.into()),
            ..Default::default()
        }
    }

    #[test]
    fn detects_and_spares() {
        assert!(blocked_reason(&summary("Owner elected humane euthanasia.")).is_some());
        assert!(blocked_reason(&summary("Patient was PTS today")).is_some());
        assert!(blocked_reason(&summary("Recheck appts are doable next week")).is_none());
        assert!(blocked_reason(&summary("Vaccines given, all good")).is_none());
        let f = CaseFacts {
            patient_deceased: true,
            ..Default::default()
        };
        assert_eq!(blocked_reason(&f).as_deref(), Some("Patient is deceased"));
        let f = CaseFacts {
            extreme_case_check: json!({"isExtremeCase": true, "category": "euthanasia"}),
            ..Default::default()
        };
        assert!(blocked_reason(&f).is_some());
        let f = CaseFacts {
            metadata: json!({"entities": {"caseType": "Euthanasia"}}),
            ..Default::default()
        };
        assert_eq!(
            blocked_reason(&f).as_deref(),
            Some("Entities case type: Euthanasia")
        );
    }
}
