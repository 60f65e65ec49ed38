//! Extreme-case (blocked-case) detection (docs/behaviour.md#blocked-cases), with whole-word
//! matching. Callers go through `domain::blocked`, which decides what facts it is fed.
//!
//! May import: `domain` only.
//!
//! The old detector used plain substring containment, so `pts` matched "appts" and `doa` matched
//! "doable" and legitimate follow-ups were blocked. Here text is split into lowercase words and a
//! keyword (one word or a phrase) must match whole consecutive words.

use serde_json::Value;

const BLOCKED_TYPES: &[&str] = &["euthanasia", "doa", "deceased"];

/// In the old order; the first hit is the reported reason.
const KEYWORDS: &[&str] = &[
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

/// What the check looks at. `metadata` is the case's `metadata` JSON.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExtremeInput<'a> {
    pub case_type: Option<&'a str>,
    pub discharge_summary: Option<&'a str>,
    pub consultation_notes: Option<&'a str>,
    pub metadata: Option<&'a Value>,
    /// The stored AI verdict `cases.extreme_case_check` (`{isExtremeCase, category}`).
    pub extreme_case_check: Option<&'a Value>,
    /// `patients.is_deceased`: a deceased pet never gets a "how is she doing" call.
    pub patient_deceased: bool,
    /// `cases.detected_case_type` (the AI's classification).
    pub detected_case_type: Option<&'a str>,
    /// `cases.entity_extraction` (`{caseType, ...}`).
    pub entity_extraction: Option<&'a Value>,
}

/// `Some(reason)` when the case must not be contacted: the stored facts first, then the words
/// of the case's texts.
pub fn blocked_reason(input: &ExtremeInput<'_>) -> Option<String> {
    fact_reason(input).or_else(|| content_reason(input))
}

fn blocked_type(ct: &str) -> bool {
    BLOCKED_TYPES.contains(&ct.trim().to_lowercase().as_str())
}

/// The stored facts: deceased patient, the AI verdict, the case types, the PIMS appointment.
fn fact_reason(input: &ExtremeInput<'_>) -> Option<String> {
    if input.patient_deceased {
        return Some("Patient is deceased".into());
    }
    if let Some(check) = input.extreme_case_check {
        if check.get("isExtremeCase").and_then(Value::as_bool) == Some(true) {
            return Some("Case is an extreme case (euthanasia/deceased)".into());
        }
        if let Some(cat) = check.get("category").and_then(Value::as_str) {
            let cat = cat.to_lowercase();
            if ["euthanasia", "deceased", "death"]
                .iter()
                .any(|k| cat.contains(k))
            {
                return Some(format!("Extreme case category: {cat}"));
            }
        }
    }
    for ct in [input.case_type, input.detected_case_type]
        .into_iter()
        .flatten()
    {
        if blocked_type(ct) {
            return Some(format!("Case type: {ct}"));
        }
    }
    if let Some(ct) = input
        .entity_extraction
        .and_then(|e| e.get("caseType"))
        .and_then(Value::as_str)
    {
        if blocked_type(ct) {
            return Some(format!("Entities case type: {ct}"));
        }
    }
    let ptr = |p: &str| input.metadata.and_then(|m| m.pointer(p));
    // A no-show or cancelled visit: there is no discharge to follow up on.
    if let Some(status) = ptr("/pimsAppointment/status").and_then(Value::as_str) {
        let s = status.trim().to_lowercase();
        if s == "no-show" || s == "cancelled" {
            return Some(format!("Patient appointment was {s}"));
        }
    }
    match ptr("/entities/caseType").and_then(Value::as_str) {
        Some(ct) if blocked_type(ct) => Some(format!("Entities case type: {ct}")),
        _ => None,
    }
}

/// The first keyword found, as whole words, in the summary, the notes and the PIMS texts.
fn content_reason(input: &ExtremeInput<'_>) -> Option<String> {
    let ptr = |p: &str| input.metadata.and_then(|m| m.pointer(p));
    let mut parts: Vec<String> = Vec::new();
    let mut push = |v: Option<&str>| {
        if let Some(s) = v {
            parts.push(s.to_string());
        }
    };
    push(input.discharge_summary);
    push(input.consultation_notes);
    for p in [
        "/idexx/notes",
        "/idexx/consultation_notes",
        "/idexx/appointment_type",
        "/pimsConsultation/notes",
        "/pimsConsultation/reason",
        "/pimsConsultation/productsServices",
        "/entities/clinical/clinicalNotes",
    ] {
        push(ptr(p).and_then(Value::as_str));
    }
    if let Some(arr) = ptr("/entities/clinical/productsServicesProvided").and_then(Value::as_array)
    {
        parts.push(
            arr.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let words = words(&parts.join(" "));
    KEYWORDS
        .iter()
        .find(|k| contains_phrase(&words, k))
        .map(|k| format!("Content contains: \"{k}\""))
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let needle: Vec<&str> = phrase.split_whitespace().collect();
    if needle.is_empty() || needle.len() > words.len() {
        return false;
    }
    words
        .windows(needle.len())
        .any(|w| w.iter().zip(&needle).all(|(a, b)| a == b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocked_table() {
        let m1 = json!({"idexx": {"notes": "Owner elected humane ending today"}});
        let m2 = json!({"entities": {"caseType": "Euthanasia"}});
        let m3 = json!({"entities": {"clinical": {"productsServicesProvided": ["Exam", "Cremation - private"]}}});
        let m4 = json!({"pimsConsultation": {"notes": "Recheck appts booked; receipts printed; doable plan"}});
        let c1 = json!({"isExtremeCase": true});
        let c2 = json!({"isExtremeCase": false, "category": "Deceased on arrival"});
        let c3 = json!({"isExtremeCase": false, "category": "routine"});
        let rows: Vec<(&str, ExtremeInput<'_>, Option<&str>)> = vec![
            ("nothing", ExtremeInput::default(), None),
            (
                "case type",
                ExtremeInput {
                    case_type: Some(" DOA "),
                    ..Default::default()
                },
                Some("Case type:  DOA "),
            ),
            (
                "stored verdict",
                ExtremeInput {
                    extreme_case_check: Some(&c1),
                    ..Default::default()
                },
                Some("Case is an extreme case (euthanasia/deceased)"),
            ),
            (
                "stored category",
                ExtremeInput {
                    extreme_case_check: Some(&c2),
                    ..Default::default()
                },
                Some("Extreme case category: deceased on arrival"),
            ),
            (
                "benign category",
                ExtremeInput {
                    extreme_case_check: Some(&c3),
                    ..Default::default()
                },
                None,
            ),
            (
                "deceased patient",
                ExtremeInput {
                    patient_deceased: true,
                    ..Default::default()
                },
                Some("Patient is deceased"),
            ),
            (
                "phrase in idexx notes",
                ExtremeInput {
                    metadata: Some(&m1),
                    ..Default::default()
                },
                Some("Content contains: \"humane ending\""),
            ),
            (
                "entities case type",
                ExtremeInput {
                    metadata: Some(&m2),
                    ..Default::default()
                },
                Some("Entities case type: Euthanasia"),
            ),
            (
                "products array",
                ExtremeInput {
                    metadata: Some(&m3),
                    ..Default::default()
                },
                Some("Content contains: \"cremation\""),
            ),
            (
                "no substring false positives",
                ExtremeInput {
                    metadata: Some(&m4),
                    ..Default::default()
                },
                None,
            ),
            (
                "summary PTS word",
                ExtremeInput {
                    discharge_summary: Some("Discussed PTS with owner."),
                    ..Default::default()
                },
                Some("Content contains: \"pts\""),
            ),
            (
                "passed away phrase",
                ExtremeInput {
                    consultation_notes: Some("Sadly Max passed  away at home"),
                    ..Default::default()
                },
                Some("Content contains: \"passed away\""),
            ),
            (
                "vaccination",
                ExtremeInput {
                    discharge_summary: Some("Rabies vaccine given. Doing well."),
                    ..Default::default()
                },
                None,
            ),
        ];
        for (name, input, want) in rows {
            assert_eq!(blocked_reason(&input).as_deref(), want, "{name}");
        }
    }
}
