//! The discharge email (docs/behaviour.md#email-content): this module decides *what* the email
//! says (which sections, which medications, which warning signs); the markup lives in
//! `scheduling/templates/discharge_email.html`, rendered by minijinja with HTML escaping on for
//! every value.

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use serde_json::Value;

use super::{escape_html, html_to_text, s, str_list};

const TEMPLATE_NAME: &str = "discharge_email.html";
const TEMPLATE: &str = include_str!("../templates/discharge_email.html");

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

/// The template could not be compiled or rendered. The template ships inside the binary and
/// the golden tests render it, so this is a build defect, reported per case rather than hidden.
#[derive(Debug, thiserror::Error)]
#[error("discharge email template: {0}")]
pub struct ContentError(String);

fn non_blank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// The discharge email for one case. `case_type` is the case's type (warning signs section);
/// `summary` the latest discharge summary's `content`, `structured` its `structured_content`.
pub fn discharge_email(
    patient_name: &str,
    case_type: Option<&str>,
    branding: &Branding,
    summary: Option<&str>,
    structured: Option<&Value>,
) -> Result<EmailContent, ContentError> {
    let pet = patient_name.trim();
    let pet = if pet.is_empty() { "your pet" } else { pet };
    let view = EmailView::new(pet, case_type, branding, summary, structured);
    let html = render(&view)?;
    Ok(EmailContent {
        subject: format!("Discharge Instructions for {pet}"),
        text: html_to_text(&html),
        html,
    })
}

/// The template's input. Every string is raw text; the template escapes it.
#[derive(Serialize)]
struct EmailView<'a> {
    preview: String,
    header_name: &'a str,
    footer_name: &'a str,
    logo_url: Option<&'a str>,
    color: &'a str,
    pet: &'a str,
    intro: String,
    pills: Vec<String>,
    structured: Option<StructuredView<'a>>,
    plain_summary: Option<&'a str>,
    phone: Option<PhoneView<'a>>,
}

#[derive(Serialize)]
struct PhoneView<'a> {
    digits: String,
    display: &'a str,
}

/// The sections built from `structured_content`.
#[derive(Serialize)]
struct StructuredView<'a> {
    medications: Vec<MedicationView<'a>>,
    home_care: Option<HomeCareView<'a>>,
    /// `None`: the section is not shown for this case type.
    warning_signs: Option<Vec<String>>,
    follow_up: Option<String>,
    notes: Option<&'a str>,
}

#[derive(Serialize)]
struct MedicationView<'a> {
    name: &'a str,
    dose: Option<String>,
    frequency: Option<String>,
    purpose: Option<&'a str>,
    instructions: Option<&'a str>,
}

#[derive(Serialize)]
struct HomeCareView<'a> {
    rows: Vec<LabelledText<'a>>,
    monitoring: Vec<String>,
}

#[derive(Serialize)]
struct LabelledText<'a> {
    label: &'static str,
    text: &'a str,
}

impl<'a> EmailView<'a> {
    fn new(
        pet: &'a str,
        case_type: Option<&str>,
        branding: &'a Branding,
        summary: Option<&'a str>,
        structured: Option<&'a Value>,
    ) -> Self {
        let clinic = non_blank(branding.clinic_name.as_deref());
        let structured = structured.filter(|v| v.as_object().is_some_and(|o| !o.is_empty()));
        let intro = s(structured, "appointmentSummary")
            .map(process_summary)
            .unwrap_or_else(|| format!("Here's everything you need to know about {pet}'s visit."));
        let mut pills = str_list(structured, "diagnosis");
        pills.extend(str_list(structured, "treatmentsToday").into_iter().take(3));
        pills.truncate(4);
        Self {
            preview: format!(
                "{pet}'s visit summary from {}",
                clinic.unwrap_or("your vet")
            ),
            header_name: clinic.unwrap_or("Your Veterinary Clinic"),
            footer_name: clinic.unwrap_or("your veterinary clinic"),
            logo_url: non_blank(branding.logo_url.as_deref()),
            color: non_blank(branding.primary_color.as_deref()).unwrap_or("#2563EB"),
            pet,
            intro,
            pills,
            structured: structured.map(|sc| StructuredView::new(sc, pet, case_type)),
            plain_summary: non_blank(summary),
            // The old template fell back to another clinic's phone number; without one we say
            // nothing.
            phone: non_blank(branding.clinic_phone.as_deref()).map(|p| PhoneView {
                digits: p.chars().filter(char::is_ascii_digit).collect(),
                display: p,
            }),
        }
    }
}

impl<'a> StructuredView<'a> {
    fn new(sc: &'a Value, pet: &str, case_type: Option<&str>) -> Self {
        let hc = sc.get("homeCare");
        let rows: Vec<LabelledText<'a>> = [
            ("Activity", "activity"),
            ("Diet", "diet"),
            ("Wound Care", "woundCare"),
        ]
        .into_iter()
        .filter_map(|(label, key)| s(hc, key).map(|text| LabelledText { label, text }))
        .collect();
        let monitoring = str_list(hc, "monitoring");
        let home_care = (!rows.is_empty() || !monitoring.is_empty())
            .then_some(HomeCareView { rows, monitoring });
        Self {
            medications: take_home_medications(sc),
            home_care,
            warning_signs: warning_signs(sc, case_type),
            follow_up: follow_up_line(sc.get("followUp"), pet),
            notes: s(Some(sc), "notes").filter(|n| !is_internal_note(n)),
        }
    }
}

/// Medications given at the clinic are not the owner's job; only take-home ones show.
fn take_home_medications(sc: &Value) -> Vec<MedicationView<'_>> {
    let Some(all) = sc.get("medications").and_then(Value::as_array) else {
        return Vec::new();
    };
    all.iter()
        .filter(|m| {
            let ins = s(Some(m), "instructions").unwrap_or("").to_lowercase();
            !["administered at clinic", "given at clinic", "one-time dose"]
                .iter()
                .any(|k| ins.contains(k))
        })
        .map(|m| {
            let m = Some(m);
            let joined = |parts: [Option<&str>; 2], sep: &str| {
                let parts: Vec<&str> = parts.into_iter().flatten().collect();
                (!parts.is_empty()).then(|| parts.join(sep))
            };
            MedicationView {
                name: s(m, "name").unwrap_or("Medication"),
                dose: joined([s(m, "dosage"), s(m, "totalQuantity")], " - "),
                frequency: joined([s(m, "frequency"), s(m, "duration")], " for "),
                purpose: s(m, "purpose"),
                instructions: s(m, "instructions"),
            }
        })
        .collect()
}

/// The "What to Watch For" list, for the case types where it matters: the summary's own signs,
/// else the curated ones of the type.
fn warning_signs(sc: &Value, case_type: Option<&str>) -> Option<Vec<String>> {
    let ct = case_type
        .map(|c| c.trim().to_lowercase())
        .unwrap_or_default();
    let appt = s(Some(sc), "appointmentSummary")
        .unwrap_or("")
        .to_lowercase();
    let show = matches!(ct.as_str(), "surgery" | "emergency")
        || (ct == "dental" && appt.contains("extraction"))
        || (ct == "orthopedic" && appt.contains("fracture"));
    if !show {
        return None;
    }
    let signs = str_list(Some(sc), "warningSigns");
    if !signs.is_empty() {
        return Some(signs);
    }
    Some(
        curated_warning_signs(&ct)
            .iter()
            .map(|s| s.to_string())
            .collect(),
    )
}

fn follow_up_line(fu: Option<&Value>, pet: &str) -> Option<String> {
    let (date, reason) = (s(fu, "date"), s(fu, "reason"));
    if date.is_none() && reason.is_none() {
        return None;
    }
    let mut line = match date {
        Some(d) => format!("We'd like to see {pet} again {d}"),
        None => "Please call us to schedule a follow-up".to_string(),
    };
    if let Some(r) = reason {
        line.push_str(&format!(" for {r}"));
    }
    line.push('.');
    Some(line)
}

/// Notes written for the clinic's records rather than for the owner.
fn is_internal_note(notes: &str) -> bool {
    let l = notes.to_lowercase();
    [
        "owner declined",
        "recheck instructions provided",
        "follow-up scheduled",
        "client educated",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// The template environment, built once: the template's line breaks and indentation are
/// layout only (see the template's header), values are escaped with [`escape_html`] so stored
/// emails keep their exact bytes (minijinja's own escaper would also turn `/` and `'` into
/// `&#x2f;` and `&#x27;`).
fn environment() -> Result<&'static Environment<'static>, ContentError> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(text) if state.auto_escape() == AutoEscape::Html && !value.is_safe() => out
                .write_str(&escape_html(text))
                .map_err(minijinja::Error::from),
            _ => minijinja::escape_formatter(out, state, value),
        });
        let source: String = TEMPLATE.lines().map(str::trim).collect();
        env.add_template_owned(TEMPLATE_NAME, source)
            .map_err(|e| e.to_string())?;
        Ok(env)
    })
    .as_ref()
    .map_err(|e| ContentError(e.clone()))
}

fn render(view: &EmailView<'_>) -> Result<String, ContentError> {
    environment()?
        .get_template(TEMPLATE_NAME)
        .and_then(|t| t.render(view))
        .map_err(|e| ContentError(e.to_string()))
}

/// Rewrites relative day words so an email read days later does not say "today" (docs/behaviour.md#email-content).
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let e = discharge_email("Rex \"the dog\"", Some("surgery"), &b, None, Some(&sc)).unwrap();
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
        )
        .unwrap();
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
        let e = discharge_email("Tom", None, &Branding::default(), None, None).unwrap();
        assert!(e.html.contains("No discharge instructions available."));
    }

    /// (file name, patient name, case type, branding, plain summary, structured summary)
    type GoldenCase = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Branding,
        Option<&'static str>,
        Option<Value>,
    );

    fn golden_cases() -> Vec<GoldenCase> {
        vec![
            (
                "all_sections",
                "Bella",
                Some("Surgery"),
                Branding {
                    clinic_name: Some("Happy Paws Clinic".into()),
                    clinic_phone: Some("(408) 555-0101".into()),
                    primary_color: Some("#10B981".into()),
                    logo_url: Some("https://cdn.example.com/logo.png".into()),
                },
                Some("ignored when structured content exists"),
                Some(json!({
                    "appointmentSummary": "Bella came in today for a spay. She recovered well this afternoon.",
                    "diagnosis": ["Healthy", "Spayed"],
                    "treatmentsToday": ["Ovariohysterectomy", "Pain relief", "E-collar", "Fluids"],
                    "medications": [
                        {"name": "Carprofen", "dosage": "75mg", "totalQuantity": "10 tablets", "frequency": "twice daily", "duration": "5 days", "purpose": "Pain and inflammation", "instructions": "Give with food"},
                        {"name": "Cerenia", "instructions": "Administered at clinic"},
                        {"dosage": "1 drop"}
                    ],
                    "homeCare": {"activity": "Leash walks only", "diet": "Half portions tonight", "woundCare": "Keep the incision dry", "monitoring": ["Appetite", "Incision"]},
                    "followUp": {"date": "in 10 days", "reason": "suture removal"},
                    "notes": "Keep the cone on at all times."
                })),
            ),
            ("all_absent", "  ", None, Branding::default(), None, None),
            (
                "escaping",
                "Rex \"the <dog>\" & O'Neil",
                Some("dental"),
                Branding {
                    clinic_name: Some("Paws & <Claws> \"Vet\" O'Hara".into()),
                    clinic_phone: Some("+1 (212) 555-0199 <ext>".into()),
                    primary_color: Some("\"red\"><script>".into()),
                    logo_url: Some("https://x.example/l.png?a=1&b=\"2\"".into()),
                },
                None,
                Some(json!({
                    "appointmentSummary": "Tooth extraction <2 teeth> & cleaning, owner's choice",
                    "diagnosis": "Periodontal <disease> & \"tartar\"",
                    "medications": [{"name": "Clavamox <250mg>", "frequency": "q12h", "instructions": "Don't skip & finish"}],
                    "homeCare": {"monitoring": "Bleeding > 1 day"},
                    "warningSigns": ["Swelling <face>", "Won't eat & drink"],
                    "followUp": {"reason": "re-check \"gums\""},
                    "notes": "Call if <worse> & 'odd'"
                })),
            ),
            (
                "plain_summary",
                "Tom",
                Some("orthopedic"),
                Branding {
                    clinic_name: Some("Cat & Co".into()),
                    clinic_phone: None,
                    primary_color: Some("  ".into()),
                    logo_url: Some(" ".into()),
                },
                Some("  Keep <him> calm & rested.\nNo \"jumping\" for 2 weeks; it's important.  "),
                Some(json!({})),
            ),
            (
                "structured_no_phone_internal_notes",
                "Max",
                Some("Orthopedic"),
                Branding {
                    clinic_name: None,
                    clinic_phone: Some("555 0101".into()),
                    primary_color: None,
                    logo_url: None,
                },
                None,
                Some(json!({
                    "appointmentSummary": "Fracture of the left radius, splinted.",
                    "medications": [{"name": "Gabapentin", "instructions": "One-time dose given"}],
                    "followUp": {"date": "next Tuesday"},
                    "notes": "Client educated about splint care."
                })),
            ),
        ]
    }

    /// The emails rendered by the template must be byte-identical to the ones the hand-written
    /// `format!` renderer produced (stored under `templates/golden/`, subject on the first line
    /// of the `.txt` file, then the plain-text part).
    #[test]
    fn golden_emails_are_byte_identical() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/scheduling/templates/golden"
        );
        for (name, pet, ct, b, summary, sc) in golden_cases() {
            let e = discharge_email(pet, ct, &b, summary, sc.as_ref()).unwrap();
            let html = std::fs::read_to_string(format!("{dir}/{name}.html")).unwrap();
            let txt = std::fs::read_to_string(format!("{dir}/{name}.txt")).unwrap();
            assert_eq!(e.html, html, "{name}.html");
            assert_eq!(format!("{}\n{}", e.subject, e.text), txt, "{name}.txt");
        }
    }
}
