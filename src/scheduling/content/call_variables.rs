//! The VAPI `variableValues` of a follow-up call (docs/behaviour.md#call-variables): the
//! entity-extracted values (layer A), the call-intelligence fields, then the base values
//! (layer B), which win on collisions. Keys are snake_case (nested objects too) and every value
//! is validated: blank optional values are dropped, numbers outside their plausible range are
//! not sent, malformed assessment questions are dropped.

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
    /// `cases.metadata` (`callIntelligence` lives there; `entities` as a fallback).
    pub metadata: Option<&'a Value>,
    /// The latest `soap_notes` row's `client_instructions` and `plan`.
    pub soap_instructions: Option<&'a str>,
    pub soap_plan: Option<&'a str>,
}

impl<'a> CallContext<'a> {
    /// The entities: `entity_extraction`, else `metadata.entities`.
    fn entities(&self) -> Option<&'a Value> {
        self.entities
            .filter(|e| e.as_object().is_some_and(|o| !o.is_empty()))
            .or_else(|| self.metadata.and_then(|m| m.get("entities")))
            .filter(|e| e.is_object())
    }

    /// The follow-up instructions the call speaks: the latest SOAP note's client instructions,
    /// else its plan, else the discharge summary, else what the AI extracted.
    fn follow_up_instructions(&self) -> Option<String> {
        first_present([
            self.soap_instructions,
            self.soap_plan,
            self.discharge_summary,
            s(clinical_of(self.entities()), "followUpInstructions"),
        ])
    }
}

/// The `variableValues` for VAPI (docs/behaviour.md#call-variables). Stored in
/// `outbound_calls.metadata.dynamic_variables`; dispatch adds the fresh values underneath and
/// `clinic_is_open` on top.
pub fn call_variables(ctx: &CallContext<'_>) -> Map<String, Value> {
    let mut v = entity_variables(ctx);
    base_layer(ctx, &mut v);
    v
}

/// Layer A and the call-intelligence fields: everything the case's data says, without the base
/// values (dispatch lays these under its own base values).
pub fn entity_variables(ctx: &CallContext<'_>) -> Map<String, Value> {
    let mut v = Map::new();
    entity_layer(ctx, &mut v);
    intelligence(ctx, &mut v);
    v
}

fn patient_of(e: Option<&Value>) -> Option<&Value> {
    e.and_then(|e| e.get("patient"))
}

fn clinical_of(e: Option<&Value>) -> Option<&Value> {
    e.and_then(|e| e.get("clinical"))
}

fn list_of<'a>(v: Option<&'a Value>, key: &str) -> Vec<&'a Value> {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// A scalar as text (`101.5`, `"32 lbs"`); blank and non-scalar are absent.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The names of a list whose items are strings or objects with a `name`.
fn names(items: &[&Value]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| text(Some(i)).or_else(|| text(i.get("name"))))
        .collect()
}

fn join(parts: Vec<String>, sep: &str) -> Option<String> {
    Some(parts.join(sep)).filter(|s| !s.is_empty())
}

/// `{name} {dosage} {frequency} by {route} for {duration}`, each part only when present.
fn medication_detail(m: &Value) -> Option<String> {
    let name = text(m.get("name")).or_else(|| text(Some(m)))?;
    let mut out = name;
    for (key, prefix) in [
        ("dosage", ""),
        ("frequency", ""),
        ("route", "by "),
        ("duration", "for "),
    ] {
        if let Some(part) = text(m.get(key)) {
            out.push(' ');
            out.push_str(prefix);
            out.push_str(&part);
        }
    }
    Some(out)
}

/// Layer A (docs/behaviour.md#call-variables): string values, only when the source has one.
fn entity_layer(ctx: &CallContext<'_>, v: &mut Map<String, Value>) {
    let e = ctx.entities();
    let patient = patient_of(e);
    let clinical = clinical_of(e);
    let owner = patient.and_then(|p| p.get("owner"));
    let vitals = clinical.and_then(|c| c.get("vitalSigns"));
    let meds = list_of(clinical, "medications");
    let vaccines = list_of(clinical, "vaccinations");
    let diagnoses = names(&list_of(clinical, "diagnoses"));
    let diagnoses = if diagnoses.is_empty() {
        str_list(clinical, "diagnoses")
    } else {
        diagnoses
    };
    let follow_up = ctx.follow_up_instructions();
    let recheck = clinical
        .and_then(|c| c.get("recheckRequired"))
        .and_then(Value::as_bool);

    let mut put = |k: &str, val: Option<String>| {
        if let Some(val) = val.filter(|s| !s.trim().is_empty()) {
            v.insert(k.to_string(), Value::String(val));
        }
    };
    let pet = text(patient.and_then(|p| p.get("name")));
    put(
        "pet_name_first",
        pet.as_deref()
            .and_then(|n| n.split_whitespace().next())
            .map(str::to_string),
    );
    put("patient_name", pet);
    for (key, field) in [
        ("patient_species", "species"),
        ("patient_breed", "breed"),
        ("patient_age", "age"),
        ("patient_sex", "sex"),
        ("patient_weight", "weight"),
    ] {
        put(key, text(patient.and_then(|p| p.get(field))));
    }
    put(
        "owner_name_extracted",
        text(owner.and_then(|o| o.get("name"))),
    );
    put(
        "owner_phone_extracted",
        text(owner.and_then(|o| o.get("phone"))),
    );
    put(
        "owner_email_extracted",
        text(owner.and_then(|o| o.get("email"))),
    );
    put(
        "chief_complaint",
        text(clinical.and_then(|c| c.get("chiefComplaint"))),
    );
    put(
        "visit_reason",
        text(clinical.and_then(|c| c.get("visitReason"))),
    );
    put(
        "presenting_symptoms",
        join(names(&list_of(clinical, "presentingSymptoms")), ", "),
    );
    for (key, field) in [
        ("vital_temperature", "temperature"),
        ("vital_heart_rate", "heartRate"),
        ("vital_respiratory_rate", "respiratoryRate"),
        ("vital_weight", "weight"),
    ] {
        put(key, text(vitals.and_then(|x| x.get(field))));
    }
    put(
        "physical_exam_findings",
        join(names(&list_of(clinical, "physicalExamFindings")), ", "),
    );
    put("primary_diagnosis", diagnoses.first().cloned());
    put("diagnoses", join(diagnoses.clone(), ", "));
    put(
        "differential_diagnoses",
        join(names(&list_of(clinical, "differentialDiagnoses")), ", "),
    );
    put(
        "medications_detailed",
        join(
            meds.iter().filter_map(|m| medication_detail(m)).collect(),
            "; ",
        ),
    );
    put("medication_names", join(names(&meds), ", "));
    put(
        "medication_frequency",
        meds.first().and_then(|m| text(m.get("frequency"))),
    );
    put("vaccinations", join(names(&vaccines), ", "));
    let vaccines_detailed = vaccines
        .iter()
        .filter_map(|x| {
            let name = text(x.get("name")).or_else(|| text(Some(x)))?;
            Some(match text(x.get("manufacturer")) {
                Some(m) => format!("{name} ({m})"),
                None => name,
            })
        })
        .collect();
    put("vaccinations_detailed", join(vaccines_detailed, "; "));
    put(
        "treatments",
        join(names(&list_of(clinical, "treatments")), ", "),
    );
    put(
        "procedures",
        join(names(&list_of(clinical, "procedures")), ", "),
    );
    put(
        "lab_results",
        join(names(&list_of(clinical, "labResults")), "; "),
    );
    put(
        "imaging_results",
        join(names(&list_of(clinical, "imagingResults")), "; "),
    );
    put("follow_up_instructions", follow_up.clone());
    put(
        "follow_up_date",
        text(clinical.and_then(|c| c.get("followUpDate"))),
    );
    put(
        "recheck_required",
        recheck.map(|r| if r { "yes" } else { "no" }.to_string()),
    );
    put(
        "clinical_notes",
        text(clinical.and_then(|c| c.get("clinicalNotes"))),
    );
    put("prognosis", text(clinical.and_then(|c| c.get("prognosis"))));
    put(
        "services_performed",
        join(names(&list_of(clinical, "productsServicesProvided")), "; "),
    );
    put(
        "services_declined",
        join(names(&list_of(clinical, "productsServicesDeclined")), "; "),
    );
    put(
        "case_type",
        text(e.and_then(|e| e.get("caseType"))).filter(|c| c != "unknown"),
    );
    put(
        "extraction_confidence",
        e.and_then(|e| e.pointer("/confidence/overall"))
            .and_then(Value::as_f64)
            .map(|c| format!("{c:.2}")),
    );
    let flag = |b: bool| Value::String(b.to_string());
    v.insert("has_medications".into(), flag(!meds.is_empty()));
    v.insert("has_vaccinations".into(), flag(!vaccines.is_empty()));
    v.insert("has_diagnoses".into(), flag(!diagnoses.is_empty()));
    v.insert("has_recheck".into(), flag(recheck == Some(true)));
    v.insert(
        "has_follow_up_instructions".into(),
        flag(follow_up.is_some()),
    );
}

/// `callIntelligence` (from `cases.metadata`, else the entities): the clinical questions and
/// criteria the assistant works from, snake_cased and validated.
fn intelligence(ctx: &CallContext<'_>, v: &mut Map<String, Value>) {
    let ci = ctx
        .metadata
        .and_then(|m| m.get("callIntelligence"))
        .or_else(|| ctx.entities().and_then(|e| e.get("callIntelligence")))
        .filter(|c| c.is_object());
    let Some(ci) = ci else { return };
    let questions: Vec<Value> = list_of(Some(ci), "assessmentQuestions")
        .into_iter()
        .filter(|q| {
            q.get("question")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.trim().is_empty())
        })
        .map(|q| snake_keys(q.clone()))
        .collect();
    if !questions.is_empty() {
        v.insert("assessment_questions".into(), Value::Array(questions));
    }
    for (key, field) in [
        ("warning_signs_to_monitor", "warningSignsToMonitor"),
        ("normal_post_treatment_expectations", "normalExpectations"),
        ("emergency_criteria", "emergencyCriteria"),
        ("urgent_criteria", "urgentCriteria"),
    ] {
        let items = str_list(Some(ci), field);
        if !items.is_empty() {
            v.insert(key.into(), json!(items));
        }
    }
    if let Some(b) = ci
        .get("shouldAskClinicalQuestions")
        .and_then(Value::as_bool)
    {
        v.insert("should_ask_clinical_questions".into(), Value::Bool(b));
    }
    if let Some(a) = text(ci.get("callApproach")) {
        v.insert("call_approach".into(), Value::String(a));
    }
}

/// camelCase keys → snake_case, recursively through objects and arrays; keys that already
/// contain `_` are kept as they are.
pub fn snake_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, val)| (snake_case(&k), snake_keys(val)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

fn snake_case(k: &str) -> String {
    if k.contains('_') {
        return k.to_string();
    }
    let mut out = String::with_capacity(k.len() + 4);
    for c in k.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `"5 years"` → 5, `"32.5 lbs"` → 32.5: every character but digits and `.` removed.
fn number_in(raw: &str) -> Option<f64> {
    let kept: String = raw
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    kept.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The summary spoken when no discharge summary exists: diagnoses, medications, instructions.
fn summary_from_entities(clinical: Option<&Value>, follow_up: Option<&str>) -> String {
    let mut parts = Vec::new();
    let dx = names(&list_of(clinical, "diagnoses"));
    if !dx.is_empty() {
        parts.push(format!("Diagnoses: {}.", dx.join(", ")));
    }
    let meds: Vec<String> = list_of(clinical, "medications")
        .iter()
        .filter_map(|m| {
            let name = text(m.get("name"))?;
            let detail: Vec<String> = [text(m.get("dosage")), text(m.get("frequency"))]
                .into_iter()
                .flatten()
                .collect();
            Some(if detail.is_empty() {
                name
            } else {
                format!("{name} ({})", detail.join(", "))
            })
        })
        .collect();
    if !meds.is_empty() {
        parts.push(format!("Medications: {}.", meds.join("; ")));
    }
    if let Some(f) = follow_up {
        parts.push(format!("Instructions: {f}"));
    }
    parts.join(" ")
}

/// Layer B: base variables; these win on collisions.
fn base_layer(ctx: &CallContext<'_>, v: &mut Map<String, Value>) {
    let e = ctx.entities();
    let patient = patient_of(e);
    let clinical = clinical_of(e);
    let owner = patient.and_then(|p| p.get("owner"));
    let pet_full = first_present([ctx.patient_name, s(patient, "name")]);
    let pet_first = pet_full
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .unwrap_or("")
        .to_string();
    let follow_up = ctx.follow_up_instructions();
    let summary = first_present([ctx.discharge_summary])
        .unwrap_or_else(|| summary_from_entities(clinical, follow_up.as_deref()));
    let trimmed = |o: Option<&str>| {
        o.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let base = json!({
        "clinic_name": trimmed(ctx.clinic_name).unwrap_or_else(|| "Your Clinic".into()),
        "agent_name": "Sarah",
        "pet_name": pet_first,
        "owner_name": first_present([ctx.owner_name, s(owner, "name")]).unwrap_or_default(),
        "appointment_date": "recent visit",
        "call_type": "discharge",
        "clinic_phone": trimmed(ctx.clinic_phone).unwrap_or_default(),
        "emergency_phone": trimmed(ctx.emergency_phone).or_else(|| trimmed(ctx.clinic_phone)).unwrap_or_default(),
        "discharge_summary": summary.trim(),
        "condition_category": "general",
    });
    if let Value::Object(b) = base {
        v.extend(b);
    }
    let meds_line: Vec<String> = list_of(clinical, "medications")
        .iter()
        .filter_map(|m| {
            let parts: Vec<String> = [
                text(m.get("name")),
                text(m.get("dosage")),
                text(m.get("frequency")),
            ]
            .into_iter()
            .flatten()
            .collect();
            join(parts, " ")
        })
        .collect();
    if let Some(m) = join(meds_line, ", ") {
        v.insert("medications".into(), Value::String(m));
    }
    if let Some(vx) = join(names(&list_of(clinical, "vaccinations")), ", ") {
        v.insert("vaccinations".into(), Value::String(vx));
    }
    if let Some(ns) = follow_up {
        v.insert("next_steps".into(), Value::String(ns));
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
    // Implausible numbers are not sent (an age of 45 years, a weight of 0 or 1,200).
    let age = text(patient.and_then(|p| p.get("age"))).and_then(|a| number_in(&a));
    if let Some(age) = age.filter(|a| (0.0..=30.0).contains(a)) {
        v.insert("pet_age".into(), json!(age));
    }
    let weight = text(patient.and_then(|p| p.get("weight"))).and_then(|w| number_in(&w));
    if let Some(w) = weight.filter(|w| *w > 0.0 && *w <= 300.0) {
        v.insert("pet_weight".into(), json!(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entities, metadata and SOAP note of a case with complete data.
    fn complete() -> (Value, Value) {
        let entities = json!({
            "caseType": "surgery",
            "confidence": {"overall": 0.9167},
            "patient": {"name": "Rex Junior", "species": "Dog", "breed": "Labrador", "age": "5 years",
                        "sex": "male neutered", "weight": "32.5 lbs",
                        "owner": {"name": "Ann Lee", "phone": "+14085550142", "email": "ann@example.com"}},
            "clinical": {
                "chiefComplaint": "Limping", "visitReason": "TPLO surgery",
                "presentingSymptoms": ["lameness", "swelling"],
                "vitalSigns": {"temperature": 101.5, "heartRate": "90 bpm", "respiratoryRate": 24, "weight": "32.5 lbs"},
                "physicalExamFindings": ["stifle effusion"],
                "diagnoses": ["Cranial cruciate ligament rupture", {"name": "Obesity"}],
                "differentialDiagnoses": ["Meniscal tear"],
                "medications": [
                    {"name": "Carprofen", "dosage": "75mg", "frequency": "BID", "route": "oral", "duration": "14 days"},
                    {"name": "Gabapentin", "dosage": "100mg", "frequency": "TID"}],
                "vaccinations": [{"name": "Rabies", "manufacturer": "Zoetis"}, "DHPP"],
                "treatments": ["Cold compress"], "procedures": ["TPLO"],
                "labResults": ["CBC normal", "Chem normal"], "imagingResults": ["Radiographs: implant in place"],
                "followUpInstructions": "Leash walks only", "followUpDate": "2026-12-14",
                "recheckRequired": true, "clinicalNotes": "Recovered well", "prognosis": "Good",
                "productsServicesProvided": ["TPLO", "E-collar"], "productsServicesDeclined": ["Laser therapy"]
            }
        });
        let metadata = json!({"callIntelligence": {
            "assessmentQuestions": [
                {"question": "Is Rex putting weight on the leg?", "context": "post-op", "expectedPositiveResponse": "yes",
                 "concerningResponses": ["no", "worse"], "followUpIfConcerning": "Come in", "priority": 1, "required": true},
                {"context": "no question here"}],
            "warningSignsToMonitor": ["Swelling", " ", "Discharge"],
            "normalExpectations": ["Mild limping for a week"],
            "emergencyCriteria": ["Non-weight bearing"], "urgentCriteria": ["Not eating"],
            "shouldAskClinicalQuestions": true, "callApproach": "warm"}});
        (entities, metadata)
    }

    #[test]
    fn the_full_variable_set_of_a_complete_case() {
        let (entities, metadata) = complete();
        let v = call_variables(&CallContext {
            clinic_name: Some(" Happy Paws "),
            clinic_phone: Some("4085550101"),
            emergency_phone: Some("4085550199"),
            patient_name: Some("Rex Junior"),
            species: Some("Canine"),
            owner_name: Some("Ann Lee"),
            discharge_summary: Some("Rest and recovery."),
            entities: Some(&entities),
            metadata: Some(&metadata),
            soap_instructions: Some("Ice twice a day"),
            soap_plan: Some("Recheck in 2 weeks"),
        });
        let layer_b = json!({
            "clinic_name": "Happy Paws", "agent_name": "Sarah", "pet_name": "Rex", "owner_name": "Ann Lee",
            "appointment_date": "recent visit", "call_type": "discharge", "clinic_phone": "4085550101",
            "emergency_phone": "4085550199", "discharge_summary": "Rest and recovery.", "condition_category": "general",
            "medications": "Carprofen 75mg BID, Gabapentin 100mg TID", "vaccinations": "Rabies, DHPP",
            "next_steps": "Ice twice a day", "pet_species": "other", "pet_age": 5.0, "pet_weight": 32.5,
        });
        let layer_a = json!({
            "patient_name": "Rex Junior", "pet_name_first": "Rex", "patient_species": "Dog", "patient_breed": "Labrador",
            "patient_age": "5 years", "patient_sex": "male neutered", "patient_weight": "32.5 lbs",
            "owner_name_extracted": "Ann Lee", "owner_phone_extracted": "+14085550142", "owner_email_extracted": "ann@example.com",
            "chief_complaint": "Limping", "visit_reason": "TPLO surgery", "presenting_symptoms": "lameness, swelling",
            "vital_temperature": "101.5", "vital_heart_rate": "90 bpm", "vital_respiratory_rate": "24", "vital_weight": "32.5 lbs",
            "physical_exam_findings": "stifle effusion",
            "diagnoses": "Cranial cruciate ligament rupture, Obesity", "primary_diagnosis": "Cranial cruciate ligament rupture",
            "differential_diagnoses": "Meniscal tear",
        });
        let layer_a2 = json!({
            "medications_detailed": "Carprofen 75mg BID by oral for 14 days; Gabapentin 100mg TID",
            "medication_names": "Carprofen, Gabapentin", "medication_frequency": "BID",
            "vaccinations_detailed": "Rabies (Zoetis); DHPP",
            "treatments": "Cold compress", "procedures": "TPLO",
            "lab_results": "CBC normal; Chem normal", "imaging_results": "Radiographs: implant in place",
            "follow_up_instructions": "Ice twice a day", "follow_up_date": "2026-12-14", "recheck_required": "yes",
            "clinical_notes": "Recovered well", "prognosis": "Good",
            "services_performed": "TPLO; E-collar", "services_declined": "Laser therapy",
            "case_type": "surgery", "extraction_confidence": "0.92",
            "has_medications": "true", "has_vaccinations": "true", "has_diagnoses": "true",
            "has_recheck": "true", "has_follow_up_instructions": "true",
        });
        let intelligence = json!({
            "assessment_questions": [{"question": "Is Rex putting weight on the leg?", "context": "post-op",
                "expected_positive_response": "yes", "concerning_responses": ["no", "worse"],
                "follow_up_if_concerning": "Come in", "priority": 1, "required": true}],
            "warning_signs_to_monitor": ["Swelling", "Discharge"],
            "normal_post_treatment_expectations": ["Mild limping for a week"],
            "emergency_criteria": ["Non-weight bearing"], "urgent_criteria": ["Not eating"],
            "should_ask_clinical_questions": true, "call_approach": "warm"
        });
        let mut want = Map::new();
        for part in [layer_b, layer_a, layer_a2, intelligence] {
            want.extend(part.as_object().unwrap().clone());
        }
        let want = &want;
        for (k, expected) in want {
            assert_eq!(v.get(k), Some(expected), "{k}");
        }
        let extra: Vec<&String> = v.keys().filter(|k| !want.contains_key(*k)).collect();
        assert!(extra.is_empty(), "unexpected keys {extra:?}");
    }

    #[test]
    fn a_case_with_almost_no_data() {
        let v = call_variables(&CallContext {
            clinic_phone: Some("  "),
            entities: Some(
                &json!({"caseType": "unknown", "patient": {"age": "45 years", "weight": "0 lbs"}}),
            ),
            metadata: Some(
                &json!({"callIntelligence": {"assessmentQuestions": [{"question": " "}],
                                                        "warningSignsToMonitor": []}}),
            ),
            ..Default::default()
        });
        let want = json!({
            "clinic_name": "Your Clinic", "agent_name": "Sarah", "pet_name": "", "owner_name": "",
            "appointment_date": "recent visit", "call_type": "discharge", "clinic_phone": "",
            "emergency_phone": "", "discharge_summary": "", "condition_category": "general",
            "patient_age": "45 years", "patient_weight": "0 lbs",
            "has_medications": "false", "has_vaccinations": "false", "has_diagnoses": "false",
            "has_recheck": "false", "has_follow_up_instructions": "false"
        });
        assert_eq!(Value::Object(v), want);
    }

    #[test]
    fn rules_table() {
        let cases: &[(&str, Option<f64>)] = &[
            ("5 years", Some(5.0)),
            ("32.5 lbs", Some(32.5)),
            ("young", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(number_in(raw), *want, "{raw}");
        }
        for (k, want) in [
            ("petName", "pet_name"),
            ("already_snake", "already_snake"),
            ("x", "x"),
            ("followUpIfConcerning", "follow_up_if_concerning"),
        ] {
            assert_eq!(snake_case(k), want);
        }
        assert_eq!(
            snake_keys(json!({"aB": [{"cD": 1}], "e_F": {"gH": true}})),
            json!({"a_b": [{"c_d": 1}], "e_F": {"g_h": true}})
        );
        // SOAP client instructions > SOAP plan > discharge summary > the extracted instructions
        let e = json!({"clinical": {"followUpInstructions": "extracted"}});
        let base = CallContext {
            entities: Some(&e),
            ..Default::default()
        };
        assert_eq!(base.follow_up_instructions().as_deref(), Some("extracted"));
        let with_summary = CallContext {
            discharge_summary: Some("summary"),
            ..base.clone()
        };
        assert_eq!(
            with_summary.follow_up_instructions().as_deref(),
            Some("summary")
        );
        let with_plan = CallContext {
            soap_plan: Some("plan"),
            ..with_summary.clone()
        };
        assert_eq!(with_plan.follow_up_instructions().as_deref(), Some("plan"));
        let with_instr = CallContext {
            soap_instructions: Some("instr"),
            ..with_plan
        };
        assert_eq!(
            with_instr.follow_up_instructions().as_deref(),
            Some("instr")
        );
        // no summary: one is built from the entities
        let e = json!({"clinical": {"diagnoses": ["Otitis"], "medications": [{"name": "Otomax", "frequency": "SID"}]}});
        let v = call_variables(&CallContext {
            entities: Some(&e),
            ..Default::default()
        });
        assert_eq!(
            v["discharge_summary"],
            "Diagnoses: Otitis. Medications: Otomax (SID)."
        );
    }
}
