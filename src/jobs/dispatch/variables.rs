//! `assistantOverrides.variableValues` of a follow-up call (`docs/behaviour.md#call-variables`):
//! the case's fresh entity and call-intelligence values (`scheduling::content`), the base values
//! from the clinic, the case and its latest summary over them, then the variables stored at
//! scheduling (`metadata.dynamic_variables`), which win on a collision as they did before, and
//! last `clinic_is_open`, which is only true at dispatch time.
//!
//! Pure; may import `db` row types, `domain` and `scheduling::content`.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::db::cases::CaseForDispatch;
use crate::db::clinics::ClinicForCall;
use crate::domain::blocked::CaseFacts;
use crate::scheduling::content::{entity_variables, CallContext};

const DEFAULT_AGENT_NAME: &str = "Sarah";

/// The case as a call speaks of it: names resolved from the live rows, then the snapshot.
#[derive(Clone, Debug)]
pub struct CaseInfo {
    pub facts: CaseFacts,
    pub pet_name: Option<String>,
    pub species: Option<String>,
    pub owner_name: Option<String>,
    pub structured_summary: Value,
    pub soap_instructions: Option<String>,
    pub soap_plan: Option<String>,
}

pub(crate) fn non_blank(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Pet and species prefer the patient row; the owner prefers the snapshot's `owner_name`.
pub fn case_info(c: CaseForDispatch) -> CaseInfo {
    let snap = |k: &str| {
        c.snapshot
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let pet_name = non_blank(c.patient_name.clone()).or_else(|| non_blank(snap("name")));
    let species = non_blank(c.species.clone()).or_else(|| non_blank(snap("species")));
    let owner_name = non_blank(snap("owner_name")).or_else(|| non_blank(c.client_name.clone()));
    CaseInfo {
        facts: c.facts,
        pet_name,
        species,
        owner_name,
        structured_summary: c.structured_summary,
        soap_instructions: c.soap_instructions,
        soap_plan: c.soap_plan,
    }
}

/// The key that says whether the clinic is open when the call is placed.
pub const CLINIC_IS_OPEN: &str = "clinic_is_open";

/// The whole `variableValues` map for a call placed at `now`.
pub fn variable_values(
    clinic: &ClinicForCall,
    case: &CaseInfo,
    metadata: &Value,
    now: DateTime<Utc>,
) -> Map<String, Value> {
    let mut v = fresh_case_values(clinic, case);
    v.extend(base_values(clinic, case));
    v.extend(summary_values(&case.structured_summary));
    if let Some(Value::Object(stored)) = metadata.get("dynamic_variables") {
        for (k, val) in stored {
            if !val.is_null() {
                v.insert(k.clone(), val.clone());
            }
        }
    }
    let open = clinic.hours.is_open(clinic.policy.tz, now);
    v.insert(CLINIC_IS_OPEN.into(), json!(open.to_string()));
    v
}

/// Layer A and the call intelligence from the case as it is now (rows scheduled before a field
/// existed still get it; the stored values win over these).
fn fresh_case_values(clinic: &ClinicForCall, case: &CaseInfo) -> Map<String, Value> {
    entity_variables(&CallContext {
        clinic_name: clinic.name.as_deref(),
        clinic_phone: clinic.phone.as_deref(),
        emergency_phone: clinic.emergency_phone.as_deref(),
        patient_name: case.pet_name.as_deref(),
        species: case.species.as_deref(),
        owner_name: case.owner_name.as_deref(),
        discharge_summary: case.facts.discharge_summary.as_deref(),
        entities: Some(&case.facts.entity_extraction),
        metadata: Some(&case.facts.metadata),
        soap_instructions: case.soap_instructions.as_deref(),
        soap_plan: case.soap_plan.as_deref(),
    })
}

fn base_values(clinic: &ClinicForCall, case: &CaseInfo) -> Map<String, Value> {
    let mut v = Map::new();
    let mut put = |k: &str, val: Value| {
        v.insert(k.to_string(), val);
    };
    let clinic_phone = clinic.phone.clone().unwrap_or_default();
    let clinic_name = clinic.name.clone().unwrap_or_else(|| "Your Clinic".into());
    put("clinic_name", json!(clinic_name));
    put("agent_name", json!(DEFAULT_AGENT_NAME));
    let pet_first = case
        .pet_name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .unwrap_or("your pet");
    put("pet_name", json!(pet_first));
    put(
        "owner_name",
        json!(case.owner_name.clone().unwrap_or_default()),
    );
    put("appointment_date", json!("recent visit"));
    put("call_type", json!("discharge"));
    put("clinic_phone", json!(clinic_phone));
    let emergency = clinic.emergency_phone.clone().unwrap_or(clinic_phone);
    put("emergency_phone", json!(emergency));
    let summary = case.facts.discharge_summary.clone().unwrap_or_default();
    put("discharge_summary", json!(summary));
    if let Some(species) = &case.species {
        let s = species.trim().to_lowercase();
        let s = if s == "dog" || s == "cat" {
            s
        } else {
            "other".into()
        };
        put("pet_species", json!(s));
    }
    v
}

/// Medications, warning signs and next steps from the summary's structured content.
fn summary_values(sc: &Value) -> Map<String, Value> {
    let mut v = Map::new();
    if let Some(Value::Array(meds)) = sc.get("medications") {
        let list: Vec<String> = meds
            .iter()
            .map(|m| {
                ["name", "dosage", "frequency"]
                    .iter()
                    .filter_map(|k| m.get(*k).and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|s| !s.is_empty())
            .collect();
        if !list.is_empty() {
            v.insert("medications".into(), json!(list.join(", ")));
        }
    }
    if let Some(Value::Array(signs)) = sc.get("warningSigns") {
        let list: Vec<&str> = signs.iter().filter_map(Value::as_str).collect();
        if !list.is_empty() {
            v.insert("warning_signs_to_monitor".into(), json!(list));
        }
    }
    let next_steps = sc
        .pointer("/followUp/reason")
        .and_then(Value::as_str)
        .or_else(|| sc.get("notes").and_then(Value::as_str));
    if let Some(n) = next_steps {
        v.insert("next_steps".into(), json!(n));
    }
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::clinic_policy::CallPolicy;

    pub(crate) fn clinic() -> ClinicForCall {
        ClinicForCall {
            name: Some("Happy Paws".into()),
            phone: Some("+14085550100".into()),
            policy: CallPolicy::from_columns(uuid::Uuid::nil(), None, None, None, None),
            voicemail_enabled: false,
            voicemail_hangup: false,
            voicemail_message: None,
            test_mode: false,
            test_phone: None,
            emergency_phone: None,
            hours: crate::domain::clinic_hours::BusinessHours::default(),
        }
    }

    /// A Monday 10:00 in Los Angeles (the test clinic's default zone): open.
    pub(crate) fn monday_morning() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    pub(crate) fn case() -> CaseInfo {
        case_info(CaseForDispatch {
            facts: CaseFacts {
                discharge_summary: Some("Rest.".into()),
                ..CaseFacts::default()
            },
            snapshot: json!({"name": "Ignored", "owner_name": " Ana Ruiz ", "species": "cat"}),
            patient_name: Some("Rex Junior".into()),
            species: Some("Canine".into()),
            client_name: Some("A. Ruiz".into()),
            structured_summary: json!({
                "medications": [{"name": "Carprofen", "dosage": "25mg", "frequency": "BID"}, {}],
                "warningSigns": ["vomiting", 3],
                "notes": "recheck",
                "followUp": {"reason": "suture removal"}
            }),
            soap_instructions: None,
            soap_plan: None,
        })
    }

    #[test]
    fn names_prefer_live_rows_then_snapshot() {
        let c = case();
        assert_eq!(c.pet_name.as_deref(), Some("Rex Junior"));
        assert_eq!(c.species.as_deref(), Some("Canine"));
        assert_eq!(c.owner_name.as_deref(), Some("Ana Ruiz"));
    }

    #[test]
    fn values_from_clinic_case_and_summary() {
        let v = variable_values(&clinic(), &case(), &Value::Null, monday_morning());
        assert_eq!(v["clinic_name"], "Happy Paws");
        assert_eq!(v["agent_name"], "Sarah");
        assert_eq!(v["pet_name"], "Rex");
        assert_eq!(v["owner_name"], "Ana Ruiz");
        assert_eq!(v["emergency_phone"], "+14085550100");
        assert_eq!(v["pet_species"], "other");
        assert_eq!(v["discharge_summary"], "Rest.");
        assert_eq!(v["medications"], "Carprofen 25mg BID");
        assert_eq!(v["warning_signs_to_monitor"], json!(["vomiting"]));
        assert_eq!(v["next_steps"], "suture removal");
    }

    #[test]
    fn stored_variables_win_except_nulls() {
        let meta = json!({"dynamic_variables": {"pet_name": "Max", "owner_name": null, "x": 1}});
        let v = variable_values(&clinic(), &case(), &meta, monday_morning());
        assert_eq!(v["pet_name"], "Max");
        assert_eq!(v["owner_name"], "Ana Ruiz");
        assert_eq!(v["x"], 1);
    }

    #[test]
    fn defaults_when_nothing_is_known() {
        let mut c = clinic();
        c.name = None;
        c.phone = None;
        let case = CaseInfo {
            facts: CaseFacts::default(),
            pet_name: None,
            species: None,
            owner_name: None,
            structured_summary: json!({}),
            soap_instructions: None,
            soap_plan: None,
        };
        let v = variable_values(&c, &case, &json!({}), monday_morning());
        assert_eq!(v["clinic_name"], "Your Clinic");
        assert_eq!(v["pet_name"], "your pet");
        assert_eq!(v["owner_name"], "");
        assert!(v.get("pet_species").is_none());
        assert!(v.get("medications").is_none());
    }
}
