//! Pure reading of VAPI payloads: which fields we take from where, how statuses and ended
//! reasons are read (classified by `domain::vapi_status`), the structured-output buckets, the incomplete-call detector and the
//! call-window helper. Nothing here touches the database, so all of it is unit-tested.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::domain::status::CallStatus;
use crate::domain::vapi_status::map_vapi_status;

pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str().filter(|s| !s.trim().is_empty())
}

pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    (!cur.is_null()).then_some(cur)
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    match v? {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&Utc)),
        // VAPI timestamps given as numbers are epoch milliseconds.
        Value::Number(n) => n.as_i64().and_then(DateTime::<Utc>::from_timestamp_millis),
        _ => None,
    }
}

/// Everything a call event can tell us about the call row, already merged from the message
/// level (wins: it is the report's final view) and the `call` object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallFacts {
    pub vapi_call_id: String,
    pub call_type: Option<String>,
    pub assistant_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub customer_phone: Option<String>,
    /// Spec status from `call.status` / `message.status` (None when absent or unknown).
    pub status: Option<CallStatus>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_reason: Option<String>,
    pub duration_seconds: Option<i32>,
    pub cost: Option<f64>,
    pub recording_url: Option<String>,
    pub stereo_recording_url: Option<String>,
    pub transcript: Option<String>,
    pub transcript_messages: Option<Value>,
    /// `call.assistantOverrides.metadata.outbound_call_id` (put there by our dispatcher).
    pub outbound_call_id: Option<String>,
    /// `message.timestamp` (epoch ms) — the event's own time, used instead of `now()` where a
    /// redelivery must write the same value.
    pub event_time: Option<DateTime<Utc>>,
}

/// Reads the call facts of a call event. `full` = an end-of-call report (artifact, costs and
/// transcript are only trusted from it: a status-update's partial transcript must not win).
pub fn call_facts(msg: &Value, call: &Value, call_id: &str, full: bool) -> CallFacts {
    let pick = |key: &str| -> Option<&Value> { at(msg, &[key]).or_else(|| at(call, &[key])) };
    let pick_str = |key: &str| -> Option<String> {
        str_at(msg, &[key])
            .or_else(|| str_at(call, &[key]))
            .map(str::to_string)
    };
    let artifact = at(msg, &["artifact"]).or_else(|| at(call, &["artifact"]));
    let art_str = |path: &[&str]| artifact.and_then(|a| str_at(a, path)).map(str::to_string);

    let started_at = parse_time(pick("startedAt"));
    let ended_at = parse_time(pick("endedAt"));
    let duration_seconds = match (started_at, ended_at) {
        (Some(s), Some(e)) if e >= s => i32::try_from((e - s).num_seconds()).ok(),
        _ => legacy_duration(msg).or_else(|| legacy_duration(call)),
    };

    let status = str_at(msg, &["status"])
        .or_else(|| str_at(call, &["status"]))
        .and_then(map_vapi_status);

    let mut f = CallFacts {
        vapi_call_id: call_id.to_string(),
        call_type: str_at(call, &["type"]).map(str::to_string),
        assistant_id: str_at(call, &["assistantId"])
            .or_else(|| str_at(call, &["assistant", "id"]))
            .or_else(|| str_at(msg, &["assistant", "id"]))
            .map(str::to_string),
        phone_number_id: str_at(call, &["phoneNumberId"])
            .or_else(|| str_at(call, &["phoneNumber", "id"]))
            .or_else(|| str_at(msg, &["phoneNumber", "id"]))
            .map(str::to_string),
        customer_phone: str_at(call, &["customer", "number"])
            .or_else(|| str_at(msg, &["customer", "number"]))
            .map(str::to_string),
        status,
        started_at,
        ended_at,
        ended_reason: pick_str("endedReason"),
        duration_seconds,
        outbound_call_id: str_at(
            call,
            &["assistantOverrides", "metadata", "outbound_call_id"],
        )
        .or_else(|| str_at(msg, &["assistant", "metadata", "outbound_call_id"]))
        .map(str::to_string),
        event_time: parse_time(at(msg, &["timestamp"])),
        ..CallFacts::default()
    };
    if full {
        f.cost = total_cost(msg).or_else(|| total_cost(call));
        // Stable URLs only: the presigned ones differ per delivery and expire.
        f.recording_url = art_str(&["recordingUrl"])
            .or_else(|| art_str(&["recording", "mono", "combinedUrl"]))
            .or_else(|| pick_str("recordingUrl"));
        f.stereo_recording_url = art_str(&["stereoRecordingUrl"])
            .or_else(|| art_str(&["recording", "stereoUrl"]))
            .or_else(|| pick_str("stereoRecordingUrl"));
        f.transcript = art_str(&["transcript"]).or_else(|| pick_str("transcript"));
        f.transcript_messages = artifact
            .and_then(|a| at(a, &["messages"]))
            .or_else(|| pick("messages"))
            .filter(|m| m.is_array())
            .cloned();
    }
    f
}

fn legacy_duration(v: &Value) -> Option<i32> {
    if let Some(s) = at(v, &["durationSeconds"]).and_then(Value::as_f64) {
        return (s >= 0.0 && s < i32::MAX as f64).then_some(s.floor() as i32);
    }
    let ms = at(v, &["durationMs"]).and_then(Value::as_f64)?;
    (ms >= 0.0 && ms / 1000.0 < i32::MAX as f64).then_some((ms / 1000.0).floor() as i32)
}

/// Sum of `costs[].cost` when the breakdown is present, else the scalar `cost`.
fn total_cost(v: &Value) -> Option<f64> {
    if let Some(items) = at(v, &["costs"]).and_then(Value::as_array) {
        let amounts: Vec<f64> = items
            .iter()
            .filter_map(|i| {
                i.get("cost")
                    .or_else(|| i.get("amount"))
                    .and_then(Value::as_f64)
            })
            .filter(|c| c.is_finite())
            .collect();
        if !amounts.is_empty() {
            return Some(amounts.iter().sum());
        }
    }
    at(v, &["cost"])
        .and_then(Value::as_f64)
        .filter(|c| c.is_finite())
}

/// The structured-output buckets of behavior.md §1.5: (schema name, signature fields).
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

/// A JSON value as the text VAPI meant (`"8"`, `true`, `"PASS"` all become strings).
pub fn as_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Tolerant boolean: `true`, `"true"`, `"yes"`, `1`.
pub fn as_bool(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Some(true),
            "false" | "no" | "n" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|x| x != 0.0),
        _ => None,
    }
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
    let an = at(msg, &["analysis"]).or_else(|| at(call, &["analysis"]));
    let artifact = at(msg, &["artifact"]).or_else(|| at(call, &["artifact"]));
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

/// behavior.md §6.6: a call too short or too silent to trust its action cards.
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

/// behavior.md §6.6 `sanitizeIncompleteCallStructuredData`.
pub fn sanitize_incomplete(sd: Option<&Value>) -> Option<Value> {
    let mut m = sd?.as_object()?.clone();
    for k in ["card_type", "callback_data", "info_data", "emergency_data"] {
        m.remove(k);
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// Caller details of an inbound call (behavior.md §1.5 precedence: the appointment a tool
/// booked during the call > `callback_data` > `appointment_data`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Caller {
    pub phone: Option<String>,
    pub name: Option<String>,
    pub pet_name: Option<String>,
}

pub fn caller(tool_appointment: Option<&Value>, sd: Option<&Value>) -> Caller {
    let cb = sd.and_then(|s| at(s, &["callback_data"]));
    let ap = sd.and_then(|s| at(s, &["appointment_data"]));
    let first = |sources: [(Option<&Value>, &str); 3]| {
        sources
            .iter()
            .find_map(|(v, k)| v.and_then(|v| str_at(v, &[k])).map(str::to_string))
    };
    Caller {
        phone: first([
            (tool_appointment, "client_phone"),
            (cb, "phone_number"),
            (ap, "client_phone"),
        ]),
        name: first([
            (tool_appointment, "client_name"),
            (cb, "caller_name"),
            (ap, "client_name"),
        ]),
        pet_name: first([
            (tool_appointment, "patient_name"),
            (cb, "pet_name"),
            (ap, "patient_name"),
        ]),
    }
}

/// Inbound `outcome` (behavior.md §1.5 priorities, in the spec's vocabulary).
pub fn inbound_outcome(
    card_type: Option<&str>,
    existing: Option<&str>,
    call_outcome: Option<&str>,
    incomplete: bool,
) -> Option<String> {
    let card = card_type.map(|c| c.trim().to_ascii_lowercase());
    match card.as_deref() {
        Some("rescheduled") => return Some("appointment_rescheduled".into()),
        Some("cancellation" | "canceled" | "cancelled") => {
            return Some("appointment_cancelled".into())
        }
        _ => {}
    }
    if let Some(e) = existing {
        return Some(e.to_string());
    }
    if incomplete {
        return None;
    }
    if let Some(o) = call_outcome {
        return Some(o.to_string());
    }
    Some(
        match card.as_deref()? {
            "scheduled" => "appointment_booked",
            "emergency" => "emergency",
            "callback" => "message_taken",
            "info" => "info_provided",
            _ => return None,
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_duration_cost_and_fallbacks() {
        let msg = json!({
            "startedAt": "2026-11-20T17:00:00.000Z", "endedAt": "2026-11-20T17:02:05.900Z",
            "costs": [{"type": "transport", "cost": 0.01}, {"type": "model", "cost": 0.02}],
            "cost": 99.0,
            "artifact": {"recordingUrl": "https://r/mono.wav", "presignedMonoUrl": "https://x?sig",
                         "transcript": "AI: hi", "messages": [{"role": "bot", "message": "hi"}]}
        });
        let f = call_facts(&msg, &json!({"status": "ended"}), "c1", true);
        assert_eq!(f.duration_seconds, Some(125));
        assert!((f.cost.unwrap() - 0.03).abs() < 1e-9);
        assert_eq!(f.recording_url.as_deref(), Some("https://r/mono.wav"));
        assert_eq!(f.status, Some(CallStatus::Ended));

        let legacy = json!({"durationSeconds": 42.7, "cost": 0.5});
        let f = call_facts(&legacy, &json!({}), "c1", true);
        assert_eq!(f.duration_seconds, Some(42));
        assert_eq!(f.cost, Some(0.5));
        // end before start: no negative durations
        let bad = json!({"startedAt": "2026-11-20T17:00:00Z", "endedAt": "2026-11-20T16:00:00Z"});
        assert_eq!(
            call_facts(&bad, &json!({}), "c1", true).duration_seconds,
            None
        );
    }

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
    fn sanitize_and_outcome() {
        let sd = json!({"card_type": "callback", "callback_data": {}, "appointment_data": {"date": "x"}});
        assert_eq!(
            sanitize_incomplete(Some(&sd)),
            Some(json!({"appointment_data": {"date": "x"}}))
        );
        assert_eq!(
            sanitize_incomplete(Some(&json!({"card_type": "info"}))),
            None
        );
        assert_eq!(
            inbound_outcome(Some("rescheduled"), Some("x"), None, true).as_deref(),
            Some("appointment_rescheduled")
        );
        assert_eq!(
            inbound_outcome(Some("callback"), Some("Scheduled"), None, false).as_deref(),
            Some("Scheduled")
        );
        assert_eq!(
            inbound_outcome(Some("callback"), None, Some("resolved"), false).as_deref(),
            Some("resolved")
        );
        assert_eq!(
            inbound_outcome(Some("callback"), None, None, false).as_deref(),
            Some("message_taken")
        );
        assert_eq!(inbound_outcome(Some("scheduled"), None, None, true), None);
    }

    #[test]
    fn caller_precedence() {
        let tool = json!({"client_name": "Tool Name"});
        let sd = json!({"callback_data": {"caller_name": "CB", "phone_number": "+1555", "pet_name": "Rex"},
                        "appointment_data": {"client_name": "AP", "client_phone": "+1666", "patient_name": "Max"}});
        let c = caller(Some(&tool), Some(&sd));
        assert_eq!(c.name.as_deref(), Some("Tool Name"));
        assert_eq!(c.phone.as_deref(), Some("+1555"));
        assert_eq!(c.pet_name.as_deref(), Some("Rex"));
        let c = caller(
            None,
            Some(&json!({"appointment_data": {"patient_name": "Max"}})),
        );
        assert_eq!(c.pet_name.as_deref(), Some("Max"));
    }
}
