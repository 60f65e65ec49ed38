//! Blocked (extreme) cases at dispatch time, behavior.md §10: no follow-up call or email after
//! euthanasia or death. The rules live in `domain::extreme` (whole-word matching, so "appts"
//! is not "pts"); this module only gathers the facts dispatch has loaded.

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

/// The reason the case must not be contacted, if any: the one detector
/// (`domain::extreme`) that auto-scheduling also uses, fed with what dispatch loaded.
pub fn blocked_reason(f: &CaseFacts) -> Option<String> {
    crate::domain::extreme::blocked_reason(&crate::domain::extreme::ExtremeInput {
        case_type: f.case_type.as_deref(),
        detected_case_type: f.detected_case_type.as_deref(),
        discharge_summary: f.discharge_summary.as_deref(),
        consultation_notes: None,
        metadata: Some(&f.metadata),
        entity_extraction: Some(&f.entity_extraction),
        extreme_case_check: Some(&f.extreme_case_check),
        patient_deceased: f.patient_deceased,
    })
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
