//! Call facts: which field of a call event (`status-update`, `end-of-call-report`, `hang`) we
//! take from where, and how times, durations and costs are read (`docs/behaviour.md#vapi-calls`).
//! Statuses are classified by `domain::vapi_status`. Pure, unit-tested.
//!
//! May import: `domain`, `webhooks::vapi::json`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::json::{at, filled_at, str_at};
use crate::domain::status::CallStatus;
use crate::domain::vapi_status::map_vapi_status;

/// A VAPI time: ISO 8601 text, or epoch milliseconds as a number (integer, float or exponent
/// form such as `1.7221e12`) or as digits in a string. Anything else is absent.
pub fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let millis = match v? {
        Value::String(s) => {
            let s = s.trim();
            if let Ok(d) = DateTime::parse_from_rfc3339(s) {
                return Some(d.with_timezone(&Utc));
            }
            s.parse::<f64>().ok()?
        }
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    // i64 milliseconds cover ±292 million years; reject what cannot be a time at all.
    (millis.is_finite() && millis.abs() < 8.0e15)
        .then(|| DateTime::<Utc>::from_timestamp_millis(millis.floor() as i64))
        .flatten()
}

/// The first conversation list that is a non-empty array. VAPI has sent reports whose
/// `artifact.messages` is `[]` while the conversation sits in the top-level `messages`: an empty
/// list must never win over a filled one.
fn first_filled_list<'a>(candidates: &[Option<&'a Value>]) -> Option<&'a Value> {
    candidates
        .iter()
        .flatten()
        .find(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        .copied()
}

/// Everything a call event can tell us about the call row, already merged from the message
/// level (wins: it is the report's final view) and the `call` object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallFacts {
    pub vapi_call_id: String,
    pub call_type: Option<String>,
    pub assistant_id: Option<String>,
    pub phone_number_id: Option<String>,
    /// `call.squadId`: squad calls carry no assistant id.
    pub squad_id: Option<String>,
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
    let artifact = filled_at(msg, &["artifact"]).or_else(|| at(call, &["artifact"]));
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
        squad_id: str_at(call, &["squadId"])
            .or_else(|| str_at(call, &["squad", "id"]))
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
        f.transcript_messages = first_filled_list(&[
            artifact.and_then(|a| at(a, &["messages"])),
            at(msg, &["messages"]),
            at(call, &["messages"]),
        ])
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
    fn an_empty_artifact_list_never_hides_the_conversation() {
        let convo = json!([{"role": "bot", "message": "Hi"}, {"role": "user", "message": "Hello"}]);
        let msg = json!({"artifact": {"messages": [], "transcript": "AI: Hi"}, "messages": convo});
        let f = call_facts(&msg, &json!({"messages": []}), "c1", true);
        assert_eq!(f.transcript_messages, Some(convo.clone()));
        // the call object's copy is the last resort
        let f = call_facts(
            &json!({"artifact": {"messages": []}}),
            &json!({"messages": convo}),
            "c1",
            true,
        );
        assert_eq!(f.transcript_messages, Some(convo));
        // a message-level `artifact: {}` does not hide the call's artifact
        let f = call_facts(
            &json!({"artifact": {}}),
            &json!({"artifact": {"recordingUrl": "https://r/x.wav"}}),
            "c1",
            true,
        );
        assert_eq!(f.recording_url.as_deref(), Some("https://r/x.wav"));
        assert_eq!(
            call_facts(
                &json!({"artifact": {"messages": []}}),
                &json!({}),
                "c1",
                true
            )
            .transcript_messages,
            None
        );
    }

    #[test]
    fn times_and_numbers_in_every_published_form() {
        let t = |v: Value| parse_time(Some(&v)).map(|d| d.timestamp_millis());
        assert_eq!(
            t(json!("2024-07-27T17:46:40.000Z")),
            Some(1_722_102_400_000)
        );
        assert_eq!(t(json!(1_722_102_400_000_i64)), Some(1_722_102_400_000));
        assert_eq!(t(json!(1.7221e12)), Some(1_722_100_000_000));
        assert_eq!(
            t(serde_json::from_str::<Value>("1.7221e12").unwrap()),
            Some(1_722_100_000_000)
        );
        assert_eq!(t(json!(1_722_102_400_000.75)), Some(1_722_102_400_000));
        assert_eq!(t(json!("1722102400000")), Some(1_722_102_400_000));
        for bad in [json!("soon"), json!(true), json!(1e300), json!(null)] {
            assert_eq!(t(bad.clone()), None, "{bad}");
        }
        let report: Value = serde_json::from_str(
            r#"{"cost": 7.275e-05, "durationSeconds": 58.434, "timestamp": 1.7221e12}"#,
        )
        .unwrap();
        let f = call_facts(&report, &json!({"status": "queued"}), "c1", true);
        assert_eq!(f.cost, Some(7.275e-05));
        assert_eq!(f.duration_seconds, Some(58));
        assert_eq!(
            f.event_time.map(|d| d.timestamp_millis()),
            Some(1_722_100_000_000)
        );
    }
}
