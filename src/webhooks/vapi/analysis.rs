//! The analysis of an end-of-call report (`docs/behaviour.md#vapi-end-of-call`): the
//! structured-output buckets, the attention flag, the incomplete-call detector and the
//! sanitising of an incomplete call's action cards. Pure, unit-tested.
//!
//! May import: `webhooks::vapi::json`.

use serde_json::{Map, Value};

use super::json::{as_bool, as_text, at, filled_at, str_at};

/// The structured-output buckets (docs/behaviour.md#vapi-end-of-call): (schema name, signature fields).
pub const BUCKETS: &[(&str, &[&str])] = &[
    ("call_outcome", &["call_outcome"]),
    ("pet_health_status", &["pet_recovery_status"]),
    ("medication_compliance", &["medication_compliance"]),
    ("owner_sentiment", &["owner_sentiment"]),
    ("escalation_tracking", &["escalation_triggered"]),
    (
        "follow_up_status",
        &["recheck_reminder_delivered", "follow_up_call_needed"],
    ),
    ("attention_classification", &["needs_attention"]),
];

/// Finds one bucket: first in `artifact.structuredOutputs` (keyed by id or name, values
/// `{name, result}`), then in `analysis.structuredData` (a nested object under the schema name,
/// or the signature field at top level, which is how single-schema assistants report it).
pub fn bucket(
    outputs: Option<&Value>,
    structured_data: Option<&Value>,
    name: &str,
    signature: &[&str],
) -> Option<Map<String, Value>> {
    let has_sig = |o: &Map<String, Value>| signature.iter().any(|f| o.contains_key(*f));
    if let Some(entries) = outputs.and_then(Value::as_object) {
        for (key, value) in entries {
            let Some(obj) = value.as_object() else {
                continue;
            };
            let named = obj.get("name").and_then(Value::as_str) == Some(name);
            if key == name || key.contains(name) || named {
                if let Some(result) = obj.get("result").and_then(Value::as_object) {
                    return Some(result.clone());
                }
                let mut without_name = obj.clone();
                without_name.remove("name");
                return Some(without_name);
            }
            if let Some(result) = obj.get("result").and_then(Value::as_object) {
                if has_sig(result) {
                    return Some(result.clone());
                }
            }
            if has_sig(obj) {
                return Some(obj.clone());
            }
        }
    }
    let sd = structured_data.and_then(Value::as_object)?;
    if let Some(nested) = sd.get(name).and_then(Value::as_object) {
        return Some(nested.clone());
    }
    has_sig(sd).then(|| sd.clone())
}

/// The analysis columns of one end-of-call report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    pub summary: Option<String>,
    pub success_evaluation: Option<String>,
    pub structured_data: Option<Value>,
    pub call_outcome: Option<String>,
    pub call_outcome_details: Option<Value>,
    pub pet_recovery_status: Option<String>,
    pub pet_health_details: Option<Value>,
    pub medication_compliance: Option<String>,
    pub medication_details: Option<Value>,
    pub owner_sentiment: Option<String>,
    pub owner_sentiment_details: Option<Value>,
    pub escalation_triggered: bool,
    pub escalation_details: Option<Value>,
    pub follow_up_needed: bool,
    pub follow_up_details: Option<Value>,
    pub attention: Option<Attention>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attention {
    pub types: Vec<String>,
    pub severity: String,
    pub summary: Option<String>,
}

impl Attention {
    pub fn is_critical(&self) -> bool {
        self.severity.eq_ignore_ascii_case("critical")
    }
}

pub fn analysis(msg: &Value, call: &Value) -> Analysis {
    let an = filled_at(msg, &["analysis"]).or_else(|| at(call, &["analysis"]));
    let artifact = filled_at(msg, &["artifact"]).or_else(|| at(call, &["artifact"]));
    let outputs = artifact.and_then(|a| at(a, &["structuredOutputs"]));
    let sd = an
        .and_then(|a| at(a, &["structuredData"]))
        .filter(|v| v.is_object());
    let b = |i: usize| {
        let (name, sig) = BUCKETS[i];
        bucket(outputs, sd, name, sig)
    };
    let text_of =
        |m: &Option<Map<String, Value>>, key: &str| m.as_ref().and_then(|m| as_text(m.get(key)));
    let obj = |m: &Option<Map<String, Value>>| m.clone().map(Value::Object);

    let outcome = b(0);
    let health = b(1);
    let meds = b(2);
    let sentiment = b(3);
    let escalation = b(4);
    let follow = b(5);
    let attention = b(6).or_else(|| sd.and_then(Value::as_object).cloned());

    Analysis {
        summary: an
            .and_then(|a| str_at(a, &["summary"]))
            .or_else(|| str_at(msg, &["summary"]))
            .map(str::to_string),
        success_evaluation: an.and_then(|a| as_text(a.get("successEvaluation"))),
        // Old behaviour: structuredData, else the raw structured outputs.
        structured_data: sd
            .cloned()
            .or_else(|| outputs.filter(|o| o.is_object()).cloned()),
        call_outcome: text_of(&outcome, "call_outcome"),
        call_outcome_details: obj(&outcome),
        pet_recovery_status: text_of(&health, "pet_recovery_status"),
        pet_health_details: obj(&health),
        medication_compliance: text_of(&meds, "medication_compliance"),
        medication_details: obj(&meds),
        owner_sentiment: text_of(&sentiment, "owner_sentiment"),
        owner_sentiment_details: obj(&sentiment),
        escalation_triggered: escalation
            .as_ref()
            .and_then(|m| as_bool(m.get("escalation_triggered")))
            .unwrap_or(false),
        escalation_details: obj(&escalation),
        follow_up_needed: follow
            .as_ref()
            .and_then(|m| {
                as_bool(m.get("follow_up_call_needed"))
                    .or_else(|| as_bool(m.get("follow_up_needed")))
            })
            .unwrap_or(false),
        follow_up_details: obj(&follow),
        attention: attention.as_ref().and_then(attention_of),
    }
}

fn attention_of(m: &Map<String, Value>) -> Option<Attention> {
    if as_bool(m.get("needs_attention")) != Some(true) {
        return None;
    }
    let types = match m.get("attention_types") {
        Some(Value::Array(items)) => items.iter().filter_map(|i| as_text(Some(i))).collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    Some(Attention {
        types,
        severity: as_text(m.get("attention_severity"))
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| "routine".into()),
        summary: as_text(m.get("attention_summary")),
    })
}

const INCOMPLETE_REASONS: &[&str] = &[
    "silence-timed-out",
    "customer-did-not-answer",
    "dial-busy",
    "dial-failed",
    "dial-no-answer",
    "assistant-error",
    "assistant-not-found",
    "assistant-not-provided",
    "assistant-request-failed",
    "twilio-failed-to-connect-call",
    "vonage-rejected",
    "failed-to-connect",
];

fn user_texts(messages: Option<&Value>) -> Vec<String> {
    messages
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
                .filter_map(|m| {
                    m.get("message")
                        .or_else(|| m.get("content"))
                        .and_then(Value::as_str)
                })
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn transcript_has_user_line(transcript: Option<&str>) -> bool {
    transcript.is_some_and(|t| {
        t.lines().any(|line| {
            let line = line.trim_start();
            line.get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("user"))
                && line[4..]
                    .trim_start()
                    .strip_prefix(':')
                    .is_some_and(|rest| !rest.trim().is_empty())
        })
    })
}

/// A call too short or too silent to trust its action cards (docs/behaviour.md#vapi-end-of-call).
pub fn is_incomplete_inbound_call(
    duration_seconds: Option<i32>,
    transcript: Option<&str>,
    messages: Option<&Value>,
    ended_reason: Option<&str>,
) -> bool {
    if let Some(r) = ended_reason.map(str::to_ascii_lowercase) {
        if INCOMPLETE_REASONS.iter().any(|x| r.contains(x)) {
            return true;
        }
    }
    if duration_seconds.is_some_and(|d| d < 15) {
        return true;
    }
    let texts = user_texts(messages);
    if texts.is_empty() && !transcript_has_user_line(transcript) {
        return true;
    }
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    duration_seconds.is_some_and(|d| d < 30) && chars < 100
}

/// Drops the action cards of an incomplete call (docs/behaviour.md#vapi-end-of-call).
pub fn sanitize_incomplete(sd: Option<&Value>) -> Option<Value> {
    let mut m = sd?.as_object()?.clone();
    for k in ["card_type", "callback_data", "info_data", "emergency_data"] {
        m.remove(k);
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn buckets_from_outputs_and_structured_data() {
        let outputs = json!({
            "5b1c": {"name": "call_outcome", "result": {"call_outcome": "successful"}},
            "9f2e": {"name": "something", "result": {"pet_recovery_status": "improving"}},
        });
        let a = bucket(Some(&outputs), None, "call_outcome", &["call_outcome"]).unwrap();
        assert_eq!(a["call_outcome"], "successful");
        let h = bucket(
            Some(&outputs),
            None,
            "pet_health_status",
            &["pet_recovery_status"],
        )
        .unwrap();
        assert_eq!(h["pet_recovery_status"], "improving");
        let sd = json!({"owner_sentiment": "positive"});
        let s = bucket(
            Some(&outputs),
            Some(&sd),
            "owner_sentiment",
            &["owner_sentiment"],
        )
        .unwrap();
        assert_eq!(s["owner_sentiment"], "positive");
        assert!(bucket(
            Some(&outputs),
            Some(&sd),
            "escalation_tracking",
            &["escalation_triggered"]
        )
        .is_none());
    }

    #[test]
    fn attention_only_when_needed() {
        let msg = json!({"analysis": {"structuredData": {"needs_attention": true,
            "attention_types": ["medication_issue"], "attention_severity": "CRITICAL",
            "attention_summary": "vomiting blood"}}});
        let a = analysis(&msg, &json!({}));
        let att = a.attention.unwrap();
        assert!(att.is_critical());
        assert_eq!(att.types, vec!["medication_issue"]);
        let msg = json!({"analysis": {"structuredData": {"needs_attention": false, "attention_severity": "critical"}}});
        assert!(analysis(&msg, &json!({})).attention.is_none());
        let msg = json!({"analysis": {"structuredData": {"needs_attention": "true"}}});
        assert_eq!(
            analysis(&msg, &json!({})).attention.unwrap().severity,
            "routine"
        );
    }

    #[test]
    fn incomplete_detector_rules() {
        let speech = json!([{"role": "user", "message": "Hi, I'd like to book an appointment for my dog Max next week, he has been limping on his back left leg since Sunday afternoon."}]);
        let none = json!([{"role": "bot", "message": "Hello?"}]);
        assert!(is_incomplete_inbound_call(
            Some(100),
            None,
            Some(&speech),
            Some("silence-timed-out")
        ));
        assert!(is_incomplete_inbound_call(
            Some(10),
            None,
            Some(&speech),
            None
        ));
        assert!(is_incomplete_inbound_call(
            Some(60),
            Some("AI: Hello?"),
            Some(&none),
            None
        ));
        assert!(!is_incomplete_inbound_call(
            Some(60),
            Some("User: hello there"),
            Some(&none),
            None
        ));
        assert!(is_incomplete_inbound_call(
            Some(20),
            None,
            Some(&json!([{"role":"user","message":"hi"}])),
            None
        ));
        assert!(!is_incomplete_inbound_call(
            Some(20),
            None,
            Some(&speech),
            None
        ));
        assert!(!is_incomplete_inbound_call(
            Some(120),
            None,
            Some(&speech),
            Some("assistant-ended-call")
        ));
        assert!(!is_incomplete_inbound_call(None, None, Some(&speech), None));
        assert!(is_incomplete_inbound_call(None, None, None, None));
    }

    #[test]
    fn sanitize_drops_action_cards() {
        let sd = json!({"card_type": "callback", "callback_data": {}, "appointment_data": {"date": "x"}});
        assert_eq!(
            sanitize_incomplete(Some(&sd)),
            Some(json!({"appointment_data": {"date": "x"}}))
        );
        assert_eq!(
            sanitize_incomplete(Some(&json!({"card_type": "info"}))),
            None
        );
    }
}
