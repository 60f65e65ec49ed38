//! Blocked (extreme) cases (docs/behaviour.md#blocked-cases): no follow-up call or email after
//! euthanasia or death. The rules live in `domain::extreme` (whole-word matching, so "appts"
//! is not "pts"); this module is the one question every caller asks — dispatch with what it
//! loaded ([`CaseFacts`]), scheduling with the case row it read ([`BlockedInput`]) — so both
//! look at the same facts: the stored type and the detected type, the latest discharge
//! summary's text, the case metadata, the entities, the stored verdict and the patient.
//!
//! May import: `domain` only.

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

/// The same facts as [`CaseFacts`], borrowed (and possibly absent) as a loaded row has them.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockedInput<'a> {
    /// `cases.type` as stored.
    pub case_type: Option<&'a str>,
    /// `cases.detected_case_type`.
    pub detected_case_type: Option<&'a str>,
    pub metadata: Option<&'a Value>,
    pub entity_extraction: Option<&'a Value>,
    pub extreme_case_check: Option<&'a Value>,
    pub patient_deceased: bool,
    /// The latest discharge summary's text.
    pub discharge_summary: Option<&'a str>,
}

impl CaseFacts {
    pub fn as_input(&self) -> BlockedInput<'_> {
        BlockedInput {
            case_type: self.case_type.as_deref(),
            detected_case_type: self.detected_case_type.as_deref(),
            metadata: Some(&self.metadata),
            entity_extraction: Some(&self.entity_extraction),
            extreme_case_check: Some(&self.extreme_case_check),
            patient_deceased: self.patient_deceased,
            discharge_summary: self.discharge_summary.as_deref(),
        }
    }
}

/// The reason the case must not be contacted, if any (dispatch's entry point).
pub fn blocked_reason(f: &CaseFacts) -> Option<String> {
    check(&f.as_input())
}

/// The reason the case must not be contacted, if any: the one detector (`domain::extreme`)
/// fed with the one set of facts, for dispatch and scheduling alike.
pub fn check(f: &BlockedInput<'_>) -> Option<String> {
    super::extreme::blocked_reason(&super::extreme::ExtremeInput {
        case_type: f.case_type,
        detected_case_type: f.detected_case_type,
        discharge_summary: f.discharge_summary,
        consultation_notes: None,
        metadata: f.metadata,
        entity_extraction: f.entity_extraction,
        extreme_case_check: f.extreme_case_check,
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

    #[test]
    fn owned_and_borrowed_facts_agree() {
        let meta = json!({});
        let rows = [
            ("surgery", Some("euthanasia"), None),
            ("surgery", None, Some("Discussed PTS with owner.")),
            ("surgery", None, Some("Recheck appts next week")),
        ];
        for (own, detected, summary) in rows {
            let owned = CaseFacts {
                case_type: Some(own.into()),
                detected_case_type: detected.map(str::to_string),
                discharge_summary: summary.map(str::to_string),
                ..Default::default()
            };
            let borrowed = BlockedInput {
                case_type: Some(own),
                detected_case_type: detected,
                discharge_summary: summary,
                metadata: Some(&meta),
                ..Default::default()
            };
            assert_eq!(
                blocked_reason(&owned),
                check(&borrowed),
                "{own} {detected:?} {summary:?}"
            );
        }
        // A stored type does not hide a blocking detected type, nor the summary's words.
        assert!(check(&BlockedInput {
            case_type: Some("surgery"),
            detected_case_type: Some("euthanasia"),
            ..Default::default()
        })
        .is_some());
    }
}
