//! What a scheduled follow-up carries: the owner's contact details, the discharge email
//! (behavior.md §9) and the call variables (§8). Pure; content is generated once, at scheduling
//! time, and dispatch sends the stored strings unchanged.

use serde_json::{json, Map, Value};

/// Owner phone in E.164, or `None` when it cannot be one (rules: [`crate::domain::phone::normalize_e164`]).
pub fn normalize_phone(raw: &str) -> Option<String> {
    crate::domain::phone::normalize_e164(raw).ok()
}

/// `^[^\s@]+@[^\s@]+\.[^\s@]+$` without a regex dependency.
pub fn valid_email(raw: &str) -> bool {
    let s = raw.trim();
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return false;
    }
    let mut at = s.split('@');
    match (at.next(), at.next(), at.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain
                    .split_once('.')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                && !domain.ends_with('.')
        }
        _ => false,
    }
}

/// First non-blank string among the candidates (client row, then the case's patient snapshot,
/// then the AI extraction), trimmed.
pub fn first_present<'a>(candidates: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    candidates
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Clinic branding for the email (`clinics` columns).
#[derive(Debug, Clone, Default)]
pub struct Branding {
    pub clinic_name: Option<String>,
    pub clinic_phone: Option<String>,
    pub primary_color: Option<String>,
    pub logo_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    pub subject: String,
    pub html: String,
    pub text: String,
}

fn s<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn str_list(v: Option<&Value>, key: &str) -> Vec<String> {
    match v.and_then(|v| v.get(key)) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::String(one)) if !one.trim().is_empty() => vec![one.trim().to_string()],
        _ => Vec::new(),
    }
}

/// Rewrites relative day words so an email read days later does not say "today" (§9.3).
fn process_summary(text: &str) -> String {
    let mut out = text.to_string();
    let replace_ci = |hay: &str, from: &str, to: &str| -> String {
        let lower = hay.to_lowercase();
        let mut res = String::new();
        let mut i = 0;
        while let Some(pos) = lower[i..].find(from) {
            let start = i + pos;
            let end = start + from.len();
            let before_ok = !hay[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            let after_ok = !hay[end..].chars().next().is_some_and(char::is_alphanumeric);
            res.push_str(&hay[i..start]);
            res.push_str(if before_ok && after_ok {
                to
            } else {
                &hay[start..end]
            });
            i = end;
        }
        res.push_str(&hay[i..]);
        res
    };
    // The replacement walks byte offsets found in the lowercased copy; that is only valid when
    // lowercasing kept every byte offset (true for ASCII and most text). Otherwise keep it as is.
    if out.to_lowercase().len() != out.len() {
        return out.trim().to_string();
    }
    for (from, to) in [
        ("came in today for", "came in for"),
        ("came in yesterday for", "came in for"),
        ("visited us today for", "visited us for"),
        ("visited us yesterday for", "visited us for"),
        ("earlier this week", "during the recent visit"),
        ("last night", "during the visit"),
        ("this morning", "during the visit"),
        ("this afternoon", "during the visit"),
        ("this evening", "during the visit"),
        ("yesterday", "during the visit"),
        ("today", "during the visit"),
        ("monday", "during the visit"),
        ("tuesday", "during the visit"),
        ("wednesday", "during the visit"),
        ("thursday", "during the visit"),
        ("friday", "during the visit"),
        ("saturday", "during the visit"),
        ("sunday", "during the visit"),
    ] {
        out = replace_ci(&out, from, to);
    }
    while out.contains("  ") {
        out = out.replace("  ", " ");
    }
    out.trim().to_string()
}

fn curated_warning_signs(case_type: &str) -> &'static [&'static str] {
    match case_type {
        "surgery" => &[
            "Bleeding, swelling or discharge at the incision",
            "Not eating or drinking for more than 24 hours",
            "Lethargy, pain or vomiting that gets worse",
        ],
        "dental" => &[
            "Bleeding from the mouth that does not stop",
            "Refusing food for more than 24 hours",
            "Facial swelling or pawing at the mouth",
        ],
        "emergency" => &[
            "Difficulty breathing or pale gums",
            "Collapse, weakness or seizures",
            "Symptoms returning or getting worse",
        ],
        "orthopedic" => &[
            "Not bearing weight on the limb",
            "Swelling, heat or a bad smell from the bandage or incision",
            "Sudden increase in pain",
        ],
        _ => &[
            "Vomiting or diarrhea lasting more than 24 hours",
            "Not eating or drinking",
            "Unusual lethargy or signs of pain",
        ],
    }
}

/// The discharge email for one case. `case_type` is the case's type (warning signs section);
/// `summary` the latest discharge summary's `content`, `structured` its `structured_content`.
pub fn discharge_email(
    patient_name: &str,
    case_type: Option<&str>,
    branding: &Branding,
    summary: Option<&str>,
    structured: Option<&Value>,
) -> EmailContent {
    let pet = patient_name.trim();
    let pet = if pet.is_empty() { "your pet" } else { pet };
    let pet_e = escape_html(pet);
    let clinic = branding
        .clinic_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let phone = branding
        .clinic_phone
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let color = escape_html(
        branding
            .primary_color
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("#2563EB"),
    );
    let structured = structured.filter(|v| v.as_object().is_some_and(|o| !o.is_empty()));
    let preview = format!(
        "{pet}'s visit summary from {}",
        clinic.unwrap_or("your vet")
    );
    let preview_e = escape_html(&preview);

    let mut h = String::new();
    h.push_str(&format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{preview_e}</title></head>\
         <body style=\"margin:0;background:#f3f4f6;font-family:Arial,sans-serif\">\
         <div style=\"display:none;max-height:0;overflow:hidden\">{preview_e}</div>\
         <table role=\"presentation\" width=\"600\" align=\"center\" style=\"background:#ffffff;border-radius:12px;padding:24px\"><tr><td>"
    ));
    // Header.
    let header_name = escape_html(clinic.unwrap_or("Your Veterinary Clinic"));
    match branding.logo_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(logo) => h.push_str(&format!(
            "<div style=\"display:flex;justify-content:space-between\"><img src=\"{}\" height=\"44\" alt=\"{header_name}\">",
            escape_html(logo)
        )),
        None => h.push_str(&format!(
            "<div style=\"display:flex;justify-content:space-between\"><strong style=\"color:{color}\">{header_name}</strong>"
        )),
    }
    h.push_str("<span style=\"color:#6b7280\">Recent Visit</span></div>");
    h.push_str(&format!(
        "<h1 style=\"color:#111827\">{pet_e}'s Visit Summary</h1><p>Hello,</p>"
    ));
    let intro = s(structured, "appointmentSummary")
        .map(process_summary)
        .unwrap_or_else(|| format!("Here's everything you need to know about {pet}'s visit."));
    h.push_str(&format!("<p>{}</p>", escape_html(&intro)));
    let mut pills = str_list(structured, "diagnosis");
    pills.extend(str_list(structured, "treatmentsToday").into_iter().take(3));
    if !pills.is_empty() {
        h.push_str("<p>");
        for p in pills.iter().take(4) {
            h.push_str(&format!(
                "<span style=\"display:inline-block;background:#eef2ff;border-radius:999px;padding:4px 10px;margin:2px\">{}</span>",
                escape_html(p)
            ));
        }
        h.push_str("</p>");
    }

    if let Some(sc) = structured {
        // Medications given at the clinic are not the owner's job; only take-home ones show.
        let meds: Vec<&Value> = sc
            .get("medications")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|m| {
                        let ins = s(Some(m), "instructions").unwrap_or("").to_lowercase();
                        !["administered at clinic", "given at clinic", "one-time dose"]
                            .iter()
                            .any(|k| ins.contains(k))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !meds.is_empty() {
            h.push_str(&format!(
                "<div style=\"background:{color};color:#ffffff;padding:12px;border-radius:8px;margin-top:16px\">\
                 <strong>💊 {pet_e}'s Medications</strong><br>Please give these medications as directed:</div>"
            ));
            for m in meds {
                let m = Some(m);
                h.push_str("<div style=\"border:1px solid #e5e7eb;border-radius:8px;padding:12px;margin-top:8px\">");
                h.push_str(&format!(
                    "<strong>{}</strong>",
                    escape_html(s(m, "name").unwrap_or("Medication"))
                ));
                let dose: Vec<&str> = [s(m, "dosage"), s(m, "totalQuantity")]
                    .into_iter()
                    .flatten()
                    .collect();
                if !dose.is_empty() {
                    h.push_str(&format!("<div>{}</div>", escape_html(&dose.join(" - "))));
                }
                let freq: Vec<&str> = [s(m, "frequency"), s(m, "duration")]
                    .into_iter()
                    .flatten()
                    .collect();
                if !freq.is_empty() {
                    h.push_str(&format!("<div>{}</div>", escape_html(&freq.join(" for "))));
                }
                if let Some(p) = s(m, "purpose") {
                    h.push_str(&format!("<div><em>{}</em></div>", escape_html(p)));
                }
                if let Some(i) = s(m, "instructions") {
                    h.push_str(&format!("<div>💡 {}</div>", escape_html(i)));
                }
                h.push_str("</div>");
            }
        }
        let hc = sc.get("homeCare");
        let monitoring = str_list(hc, "monitoring");
        if s(hc, "activity").is_some()
            || s(hc, "diet").is_some()
            || s(hc, "woundCare").is_some()
            || !monitoring.is_empty()
        {
            h.push_str(&format!("<h2>Caring for {pet_e} at Home</h2>"));
            for (label, key) in [
                ("Activity", "activity"),
                ("Diet", "diet"),
                ("Wound Care", "woundCare"),
            ] {
                if let Some(v) = s(hc, key) {
                    h.push_str(&format!(
                        "<p><strong>{label}:</strong> {}</p>",
                        escape_html(v)
                    ));
                }
            }
            if !monitoring.is_empty() {
                h.push_str("<p><strong>Things to Monitor</strong></p><ul>");
                for m in &monitoring {
                    h.push_str(&format!("<li>{}</li>", escape_html(m)));
                }
                h.push_str("</ul>");
            }
        }
        let ct = case_type
            .map(|c| c.trim().to_lowercase())
            .unwrap_or_default();
        let appt = s(structured, "appointmentSummary")
            .unwrap_or("")
            .to_lowercase();
        let show_warnings = matches!(ct.as_str(), "surgery" | "emergency")
            || (ct == "dental" && appt.contains("extraction"))
            || (ct == "orthopedic" && appt.contains("fracture"));
        if show_warnings {
            let mut signs = str_list(structured, "warningSigns");
            if signs.is_empty() {
                signs = curated_warning_signs(&ct)
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
            }
            h.push_str("<div style=\"background:#fef2f2;border:1px solid #fecaca;border-radius:8px;padding:12px;margin-top:16px\">\
                        <strong>What to Watch For</strong><p>Contact us right away if you notice any of these:</p>");
            for sign in &signs {
                h.push_str(&format!("<div>• {}</div>", escape_html(sign)));
            }
            if let Some(p) = phone {
                let digits: String = p.chars().filter(char::is_ascii_digit).collect();
                h.push_str(&format!(
                    "<p>Call us immediately at: <a href=\"tel:{digits}\">{}</a></p>",
                    escape_html(p)
                ));
            }
            h.push_str("</div>");
        }
        let fu = sc.get("followUp");
        let (fd, fr) = (s(fu, "date"), s(fu, "reason"));
        if fd.is_some() || fr.is_some() {
            let mut line = match fd {
                Some(d) => format!("We'd like to see {pet} again {d}"),
                None => "Please call us to schedule a follow-up".to_string(),
            };
            if let Some(r) = fr {
                line.push_str(&format!(" for {r}"));
            }
            line.push('.');
            h.push_str(&format!(
                "<h2>What's Next</h2><p><strong>Follow-up Appointment</strong><br>{}</p>",
                escape_html(&line)
            ));
        }
        if let Some(notes) = s(structured, "notes") {
            let l = notes.to_lowercase();
            let internal = [
                "owner declined",
                "recheck instructions provided",
                "follow-up scheduled",
                "client educated",
            ]
            .iter()
            .any(|k| l.contains(k));
            if !internal {
                h.push_str(&format!(
                    "<p><strong>Important:</strong> {}</p>",
                    escape_html(notes)
                ));
            }
        }
    } else if let Some(text) = summary.map(str::trim).filter(|t| !t.is_empty()) {
        h.push_str(&format!(
            "<p style=\"white-space:pre-wrap\">{}</p>",
            escape_html(text)
        ));
    } else {
        h.push_str("<p>No discharge instructions available.</p>");
    }

    // The old template fell back to another clinic's phone number; without one we say nothing.
    if let Some(p) = phone {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        h.push_str(&format!(
            "<div style=\"background:#f9fafb;border-radius:8px;padding:12px;margin-top:16px\">\
             Questions about {pet_e}'s care? We're here to help — just give us a call. \
             <a href=\"tel:{digits}\">{}</a></div>",
            escape_html(p)
        ));
    }
    h.push_str(&format!(
        "<p style=\"color:#6b7280;font-size:12px;margin-top:24px\">Sent with care from {}<br>Powered by OdisAI</p>",
        escape_html(clinic.unwrap_or("your veterinary clinic"))
    ));
    h.push_str("</td></tr></table></body></html>");

    EmailContent {
        subject: format!("Discharge Instructions for {pet}"),
        text: html_to_text(&h),
        html: h,
    }
}

/// Plain-text part (§9.2): drop style/script blocks and every tag, collapse whitespace. Entities
/// stay encoded, as before.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut in_tag = false;
    while let Some(c) = rest.chars().next() {
        if !in_tag && c == '<' {
            // Skip a whole <style>/<script> block, contents included.
            let head = rest.get(..7).unwrap_or(rest).to_ascii_lowercase();
            let block = ["style", "script"]
                .into_iter()
                .find(|b| head[1..].starts_with(b));
            if let Some(b) = block {
                let close = format!("</{b}>");
                let lower = rest.to_ascii_lowercase();
                if let Some(end) = lower.find(&close) {
                    rest = &rest[end + close.len()..];
                    out.push(' ');
                    continue;
                }
            }
            in_tag = true;
        } else if in_tag && c == '>' {
            in_tag = false;
            out.push(' ');
        } else if !in_tag {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

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

/// The `variableValues` for VAPI (§8.2 + §8.3, snake_case), as far as the stored data allows.
/// Stored in `outbound_calls.metadata.dynamic_variables`; dispatch may enrich but stored wins.
pub fn call_variables(ctx: &CallContext<'_>) -> Map<String, Value> {
    let mut v = Map::new();
    let e = ctx.entities;
    let patient = e.and_then(|e| e.get("patient"));
    let clinical = e.and_then(|e| e.get("clinical"));
    let mut put = |k: &str, val: Option<String>| {
        if let Some(val) = val.filter(|s| !s.trim().is_empty()) {
            v.insert(k.to_string(), Value::String(val));
        }
    };
    // Layer A: entity-extracted values.
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
    let meds: Vec<&Value> = clinical
        .and_then(|c| c.get("medications"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
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

    // Layer B: base variables; these win on collisions.
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
    let meds_line: Vec<String> = meds
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
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_table() {
        for (raw, want) in [
            ("(408) 555-0101", Some("+14085550101")),
            ("1-408-555-0101", Some("+14085550101")),
            ("+44 20 7946 0958", Some("+442079460958")),
            ("555-0101", None),
            ("", None),
            ("123456789012", None),
        ] {
            assert_eq!(normalize_phone(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn email_table() {
        for (raw, want) in [
            ("a@b.co", true),
            (" owner@example.com ", true),
            ("no-at.example.com", false),
            ("a@b", false),
            ("a b@c.d", false),
            ("a@@b.c", false),
            ("@b.c", false),
        ] {
            assert_eq!(valid_email(raw), want, "{raw}");
        }
    }

    #[test]
    fn email_escapes_and_structures() {
        let b = Branding {
            clinic_name: Some("Paws & <Claws>".into()),
            clinic_phone: Some("(408) 555-0101".into()),
            primary_color: None,
            logo_url: None,
        };
        let sc = json!({
            "appointmentSummary": "Rex came in today for a limp.",
            "diagnosis": "Sprain",
            "medications": [
                {"name": "Carprofen", "dosage": "75mg", "frequency": "twice daily", "duration": "5 days"},
                {"name": "Cerenia", "instructions": "Administered at clinic"}
            ],
            "followUp": {"reason": "recheck"}
        });
        let e = discharge_email("Rex \"the dog\"", Some("surgery"), &b, None, Some(&sc));
        assert_eq!(e.subject, "Discharge Instructions for Rex \"the dog\"");
        assert!(e.html.contains("Paws &amp; &lt;Claws&gt;"));
        assert!(e.html.contains("Rex &quot;the dog&quot;'s Visit Summary"));
        assert!(e.html.contains("came in for a limp."));
        assert!(e.html.contains("Carprofen"));
        assert!(e.html.contains("twice daily for 5 days"));
        assert!(!e.html.contains("Cerenia"));
        assert!(e.html.contains("What to Watch For"));
        assert!(e.html.contains("tel:4085550101"));
        assert!(e
            .html
            .contains("Please call us to schedule a follow-up for recheck."));
        assert!(!e.html.contains("Alum Rock"));
        assert!(!e.text.contains('<'));
        assert!(e.text.starts_with(
            "Rex &quot;the dog&quot;&#39;s visit summary from Paws &amp; &lt;Claws&gt;"
        ));
    }

    #[test]
    fn email_plain_summary_and_no_phone() {
        let e = discharge_email(
            "",
            None,
            &Branding::default(),
            Some("Keep <him> calm"),
            None,
        );
        assert_eq!(e.subject, "Discharge Instructions for your pet");
        assert!(e.html.contains("Keep &lt;him&gt; calm"));
        assert_eq!(
            html_to_text("<style>p{x:1}</style><p>Hi  <b>there</b></p><SCRIPT>x()</SCRIPT>é &amp;"),
            "Hi there é &amp;"
        );
        assert!(!e.html.contains("tel:"));
        assert!(e
            .html
            .contains("Sent with care from your veterinary clinic"));
        let e = discharge_email("Tom", None, &Branding::default(), None, None);
        assert!(e.html.contains("No discharge instructions available."));
    }

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
