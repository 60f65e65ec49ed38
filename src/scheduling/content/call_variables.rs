//! The VAPI `variableValues` of a follow-up call (docs/behaviour.md#call-variables): entity
//! values first, then the base values, which win on collisions.

use serde_json::{json, Map, Value};

use super::{first_present, s, str_list};

/// Inputs for the call variables of one case.
#[derive(Debug, Clone, Default)]
pub struct CallContext<'a> {
    pub clinic_name: Option<&'a str>,
    pub clinic_phone: Option<&'a str>,
    pub emergency_phone: Option<&'a str>,
    pub patient_name: Option<&'a str>,
    pub species: Option<&'a str>,
    pub owner_name: Option<&'a str>,
    pub discharge_summary: Option<&'a str>,
    /// `cases.entity_extraction` (the normalized AI entities).
    pub entities: Option<&'a Value>,
}

/// The `variableValues` for VAPI (docs/behaviour.md#call-variables, snake_case), as far as the
/// stored data allows. Stored in `outbound_calls.metadata.dynamic_variables`; dispatch may
/// enrich but stored wins.
pub fn call_variables(ctx: &CallContext<'_>) -> Map<String, Value> {
    let mut v = Map::new();
    entity_layer(ctx.entities, &mut v);
    base_layer(ctx, &mut v);
    v
}

fn patient_of(e: Option<&Value>) -> Option<&Value> {
    e.and_then(|e| e.get("patient"))
}

fn clinical_of(e: Option<&Value>) -> Option<&Value> {
    e.and_then(|e| e.get("clinical"))
}

fn medications_of(clinical: Option<&Value>) -> Vec<&Value> {
    clinical
        .and_then(|c| c.get("medications"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Layer A: entity-extracted values.
fn entity_layer(e: Option<&Value>, v: &mut Map<String, Value>) {
    let patient = patient_of(e);
    let clinical = clinical_of(e);
    let mut put = |k: &str, val: Option<String>| {
        if let Some(val) = val.filter(|s| !s.trim().is_empty()) {
            v.insert(k.to_string(), Value::String(val));
        }
    };
    put("patient_name", s(patient, "name").map(str::to_string));
    put("patient_species", s(patient, "species").map(str::to_string));
    put("patient_breed", s(patient, "breed").map(str::to_string));
    put("patient_age", s(patient, "age").map(str::to_string));
    put("patient_weight", s(patient, "weight").map(str::to_string));
    let owner = patient.and_then(|p| p.get("owner"));
    put("owner_name_extracted", s(owner, "name").map(str::to_string));
    put(
        "chief_complaint",
        s(clinical, "chiefComplaint").map(str::to_string),
    );
    put(
        "visit_reason",
        s(clinical, "visitReason").map(str::to_string),
    );
    let diagnoses = str_list(clinical, "diagnoses");
    put("diagnoses", Some(diagnoses.join(", ")));
    put("primary_diagnosis", diagnoses.first().cloned());
    let meds = medications_of(clinical);
    let med_names: Vec<&str> = meds.iter().filter_map(|m| s(Some(m), "name")).collect();
    put("medication_names", Some(med_names.join(", ")));
    put(
        "follow_up_instructions",
        s(clinical, "followUpInstructions").map(str::to_string),
    );
    put(
        "case_type",
        s(e, "caseType")
            .filter(|c| *c != "unknown")
            .map(str::to_string),
    );
    let flag = |b: bool| Value::String(b.to_string());
    v.insert("has_medications".into(), flag(!meds.is_empty()));
    v.insert("has_diagnoses".into(), flag(!diagnoses.is_empty()));
    v.insert(
        "has_follow_up_instructions".into(),
        flag(s(clinical, "followUpInstructions").is_some()),
    );
}

/// Layer B: base variables; these win on collisions.
fn base_layer(ctx: &CallContext<'_>, v: &mut Map<String, Value>) {
    let patient = patient_of(ctx.entities);
    let clinical = clinical_of(ctx.entities);
    let owner = patient.and_then(|p| p.get("owner"));
    let pet_full = first_present([ctx.patient_name, s(patient, "name")]);
    let pet_first = pet_full
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .unwrap_or("")
        .to_string();
    let base = json!({
        "clinic_name": ctx.clinic_name.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("Your Clinic"),
        "agent_name": "Sarah",
        "pet_name": pet_first,
        "owner_name": first_present([ctx.owner_name, s(owner, "name")]).unwrap_or_default(),
        "appointment_date": "recent visit",
        "call_type": "discharge",
        "clinic_phone": ctx.clinic_phone.unwrap_or(""),
        "emergency_phone": ctx.emergency_phone.or(ctx.clinic_phone).unwrap_or(""),
        "discharge_summary": ctx.discharge_summary.unwrap_or(""),
        "condition_category": "general",
    });
    if let Value::Object(b) = base {
        v.extend(b);
    }
    let meds_line: Vec<String> = medications_of(clinical)
        .iter()
        .map(|m| {
            let m = Some(*m);
            [s(m, "name"), s(m, "dosage"), s(m, "frequency")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|l| !l.is_empty())
        .collect();
    if !meds_line.is_empty() {
        v.insert("medications".into(), Value::String(meds_line.join(", ")));
    }
    if let Some(ns) = s(clinical, "followUpInstructions") {
        v.insert("next_steps".into(), Value::String(ns.to_string()));
    }
    if let Some(sp) = first_present([ctx.species, s(patient, "species")]) {
        let sp = sp.to_lowercase();
        let sp = if sp == "dog" || sp == "cat" {
            sp
        } else {
            "other".to_string()
        };
        v.insert("pet_species".into(), Value::String(sp));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_variables_from_data() {
        let ents = json!({"caseType": "surgery", "patient": {"name": "Rex Jr", "species": "Dog", "owner": {"name": "Ann"}},
                          "clinical": {"diagnoses": ["Sprain"], "medications": [{"name": "Carprofen", "dosage": "75mg"}]}});
        let v = call_variables(&CallContext {
            clinic_name: Some("Happy Paws"),
            clinic_phone: Some("4085550101"),
            patient_name: Some("Rex Jr"),
            species: Some("Canine"),
            owner_name: Some("Ann Lee"),
            discharge_summary: Some("Rest."),
            entities: Some(&ents),
            ..Default::default()
        });
        assert_eq!(v["pet_name"], "Rex");
        assert_eq!(v["owner_name"], "Ann Lee");
        assert_eq!(v["clinic_name"], "Happy Paws");
        assert_eq!(v["emergency_phone"], "4085550101");
        assert_eq!(v["agent_name"], "Sarah");
        assert_eq!(v["pet_species"], "other");
        assert_eq!(v["medications"], "Carprofen 75mg");
        assert_eq!(v["primary_diagnosis"], "Sprain");
        assert_eq!(v["has_medications"], "true");
        assert_eq!(v["case_type"], "surgery");
    }
}
