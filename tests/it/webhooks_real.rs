//! Deliveries as the senders really send them (`fixtures/real/`: published payloads, each citing
//! its source) through the real router and through `replay`, each ending as its file says; and
//! regression tests for the shapes those deliveries exposed: an empty `artifact.messages` next to
//! the filled top-level conversation, a report whose `call` is a creation snapshot, exponent
//! numbers and epoch-ms timestamps, a very large transcript and a raw SIP INVITE, an empty
//! `x-vapi-secret` beside a valid bearer, calls matched by phone number or squad,
//! `assistant-request` answered from the phone number's mapping, `transfer-update` recorded, the
//! answers to `knowledge-base-request` / `handoff-destination-request`, and Clerk's generated
//! avatars and legacy roles.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use odis_worker::replay::replay_files;
use odis_worker::webhooks::fixtures::{collect, Fixture};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::app::{send, state, AppState};
use crate::helpers::seed::{self, AssistantMappingOpts, ClinicOpts};
use crate::helpers::sign::{fixture_request, vapi_request, VAPI_SECRET};

fn real_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/real")
}

fn real_files() -> Vec<PathBuf> {
    collect(&[real_root()]).unwrap()
}

fn real(rel: &str) -> Fixture {
    Fixture::load(&real_root().join(rel)).unwrap()
}

/// `want` is contained in `got`: every key of an object, every element of an array by position.
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| contains(gv, v))),
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(a, b)| contains(a, b))
        }
        _ => got == want,
    }
}

async fn inbox_status(pool: &PgPool, path: &Path) -> Option<String> {
    let f = Fixture::load(path).unwrap();
    if let Some(message_id) = f.header("upstash-message-id") {
        // A QStash delivery's id is its token's `jti`, signed at send time here (the file keeps
        // no token): find it by the message id the route keeps in the stored headers.
        return sqlx::query_scalar(
            "SELECT status FROM webhook_events
             WHERE source = 'qstash' AND headers->>'upstash-message-id' = $1",
        )
        .bind(message_id)
        .fetch_optional(pool)
        .await
        .unwrap();
    }
    let d = f.to_delivery(path).unwrap();
    sqlx::query_scalar("SELECT status FROM webhook_events WHERE source = $1 AND delivery_id = $2")
        .bind(d.source.as_str())
        .bind(&d.delivery_id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn every_real_delivery_ends_as_its_file_says(pool: PgPool) {
    // the QStash delivery enqueues a job
    odis_worker::jobs::setup(&pool).await.unwrap();
    let st = state(&pool);
    let files = real_files();
    assert!(files.len() >= 60, "the real corpus shrank: {}", files.len());
    let mut wrong = Vec::new();
    for path in &files {
        let f = Fixture::load(path).unwrap();
        let origin = f.origin.clone().unwrap_or_default();
        assert!(
            origin.get("commit").is_some() || origin.get("index_file_id").is_some(),
            "{}: no source",
            path.display()
        );
        let expect = f
            .expect
            .clone()
            .expect("every real fixture states its outcome");
        let (status, answer) = send(&st, fixture_request(path)).await;
        let name = path
            .strip_prefix(real_root())
            .unwrap()
            .display()
            .to_string();
        assert!(status.as_u16() < 500, "{name}: {status} {answer}");
        if status.as_u16() != expect.http {
            wrong.push(format!("{name}: http {status}, expected {}", expect.http));
        }
        let got = inbox_status(&pool, path).await;
        if got != expect.status {
            wrong.push(format!(
                "{name}: inbox {got:?}, expected {:?}",
                expect.status
            ));
        }
        if let Some(want) = &expect.answer {
            if !contains(&answer, want) {
                wrong.push(format!(
                    "{name}: answer {answer}, expected to contain {want}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // A second delivery of each is a duplicate: nothing changes.
    for path in &files {
        let (status, answer) = send(&st, fixture_request(path)).await;
        assert!(
            status.is_success() || status == StatusCode::BAD_REQUEST,
            "{answer}"
        );
        if status.is_success() && answer.get("status").is_some() {
            assert!(
                answer["status"] == "duplicate"
                    || Fixture::load(path)
                        .unwrap()
                        .expect
                        .unwrap()
                        .answer
                        .is_some(),
                "{}: {answer}",
                path.display()
            );
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn replaying_the_real_corpus_matches_every_expectation(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let st = state(&pool);
    let first = replay_files(&st, &[real_root()]).await.unwrap();
    assert_eq!(first.total, real_files().len());
    assert!(first.unexpected.is_empty(), "{:#?}", first.unexpected);
    let again = replay_files(&st, &[real_root()]).await.unwrap();
    assert!(again.unexpected.is_empty());
    assert!(
        again.results.keys().all(|k| k.starts_with("duplicate")),
        "{:?}",
        again.results
    );
}

// ---------------------------------------------------------------------------------------------
// VAPI shapes

const RECORDED: &str = "vapi/recorded-chatbotAI-end-of-call-report.json";
const RECORDED_ASSISTANT: &str = "55a4eaba-766d-41fa-85b3-971168655969";

async fn clinic(pool: &PgPool) -> Uuid {
    seed::clinic(
        pool,
        ClinicOpts::named("Real Deliveries Vet", "America/Chicago"),
    )
    .await
}

async fn mapping(pool: &PgPool, o: AssistantMappingOpts) {
    seed::assistant_mapping(pool, o).await;
}

/// The recorded report as an inbound phone call of a mapped clinic, with `edit` applied.
fn recorded_inbound(call_id: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = real(RECORDED).body.unwrap();
    v["message"]["call"]["id"] = json!(call_id);
    v["message"]["call"]["type"] = json!("inboundPhoneCall");
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

async fn inbound_row(pool: &PgPool, call_id: &str) -> Value {
    sqlx::query_scalar("SELECT to_jsonb(c) FROM inbound_calls c WHERE vapi_call_id = $1")
        .bind(call_id)
        .fetch_optional(pool)
        .await
        .unwrap()
        .unwrap_or(Value::Null)
}

#[sqlx::test(migrations = "./migrations")]
async fn an_empty_artifact_list_does_not_hide_the_callers_speech(pool: PgPool) {
    let clinic_id = clinic(&pool).await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: RECORDED_ASSISTANT.into(),
            ..Default::default()
        },
    )
    .await;
    let st = state(&pool);
    // As published: the conversation only in the top-level `messages`, `artifact.messages: []`,
    // the caller's details in the structured data.
    let body = recorded_inbound("call-empty-artifact", |v| {
        let m = &mut v["message"];
        m["artifact"] = json!({"messages": [], "messagesOpenAIFormatted": []});
        m.as_object_mut().unwrap().remove("transcript");
        m["analysis"] = json!({"structuredData": {"card_type": "callback",
            "callback_data": {"caller_name": "Dana Ortiz", "phone_number": "+15125550187", "pet_name": "Biscuit"}}});
    });
    let (status, answer) = send(&st, vapi_request(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "processed");
    let row = inbound_row(&pool, "call-empty-artifact").await;
    assert_eq!(row["extracted_caller_name"], "Dana Ortiz");
    assert_eq!(row["extracted_caller_phone"], "+15125550187");
    assert_eq!(row["extracted_pet_name"], "Biscuit");
    assert_eq!(row["outcome"], "message_taken");
    assert_eq!(row["metadata"]["incomplete_call"], false);
    assert_eq!(row["transcript_messages"].as_array().map(Vec::len), Some(9));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_report_with_a_creation_snapshot_and_exponent_numbers(pool: PgPool) {
    let clinic_id = clinic(&pool).await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: RECORDED_ASSISTANT.into(),
            ..Default::default()
        },
    )
    .await;
    let st = state(&pool);
    // The recorded `call` says `queued` (a snapshot from creation); the report's own fields win.
    let body = recorded_inbound("call-snapshot", |v| {
        assert_eq!(v["message"]["call"]["status"], "queued");
    });
    // Numbers as some senders write them: exponent form, float seconds, epoch-ms timestamps.
    let text = String::from_utf8(body)
        .unwrap()
        .replacen("\"cost\":0.1034", "\"cost\":1.034e-1", 1)
        .replacen(
            "\"timestamp\":1770377651312",
            "\"timestamp\":1.770377651312e12",
            1,
        );
    let (status, answer) = send(&st, vapi_request(text.as_bytes())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let row = inbound_row(&pool, "call-snapshot").await;
    assert_eq!(row["status"], "ended");
    assert_eq!(row["ended_reason"], "customer-ended-call");
    assert_eq!(row["duration_seconds"], 58);
    assert_eq!(row["started_at"], "2026-02-06T11:33:09.529+00:00");
    assert!(row["transcript"]
        .as_str()
        .unwrap()
        .contains("Vital science at home"));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_very_large_transcript_and_a_raw_sip_invite(pool: PgPool) {
    let clinic_id = clinic(&pool).await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: RECORDED_ASSISTANT.into(),
            ..Default::default()
        },
    )
    .await;
    let st = state(&pool);
    let long: String =
        "User: my dog ate a sock, what should I do?\nAI: Please bring him in.\n".repeat(80_000);
    let invite = "INVITE sip:+15125550100@sip.vapi.ai SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\nFrom: <sip:+15125550187@carrier.example>;tag=1928301774\r\nTo: <sip:+15125550100@sip.vapi.ai>\r\nCall-ID: a84b4c76e66710@carrier.example\r\nCSeq: 314159 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\r\n";
    let body = recorded_inbound("call-large", |v| {
        v["message"]["artifact"]["transcript"] = json!(long);
        v["message"]["call"]["phoneCallProviderDetails"] = json!({"sip": {"invite": invite}});
    });
    assert!(body.len() > 5_000_000);
    let (status, answer) = send(&st, vapi_request(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let row = inbound_row(&pool, "call-large").await;
    assert_eq!(row["transcript"].as_str().map(str::len), Some(long.len()));
    let raw: Vec<u8> = sqlx::query_scalar("SELECT payload FROM webhook_events WHERE source = 'vapi' AND event_type = 'end-of-call-report'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("INVITE sip:+15125550100"));
}

#[sqlx::test(migrations = "./migrations")]
async fn an_empty_vapi_secret_header_does_not_shadow_the_bearer(pool: PgPool) {
    let st = state(&pool);
    let req = |bearer: &str| {
        Request::post("/webhooks/vapi")
            .header("content-type", "application/json")
            .header("x-vapi-secret", "")
            .header("authorization", format!("Bearer {bearer}"))
            .body(Body::from(
                r#"{"message":{"type":"speech-update","status":"started","role":"user"}}"#,
            ))
            .unwrap()
    };
    let (status, answer) = send(&st, req(VAPI_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = send(&st, req("not-the-secret")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["reason"], "secret mismatch");
}

fn squad_or_number_report(call_id: &str, keys: Value) -> Vec<u8> {
    let mut call = json!({"id": call_id, "type": "inboundPhoneCall", "status": "ended",
        "customer": {"number": "+15125550187"}});
    for (k, v) in keys.as_object().unwrap() {
        call[k] = v.clone();
    }
    serde_json::to_vec(&json!({"message": {
        "type": "end-of-call-report", "endedReason": "customer-ended-call",
        "startedAt": "2026-11-20T17:00:00Z", "endedAt": "2026-11-20T17:02:00Z",
        "artifact": {"messages": [{"role": "user", "message": "Hi, I need to book a recheck for my cat please, she is doing fine"}]},
        "analysis": {}, "call": call}}))
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn calls_without_an_assistant_id_match_by_phone_number_then_squad(pool: PgPool) {
    let by_number = clinic(&pool).await;
    let by_squad = seed::clinic(&pool, ClinicOpts::named("Squad Vet", "America/Denver")).await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id: by_number,
            assistant_id: "asst_front_desk".into(),
            phone_number_id: Some("pn_main_line".into()),
            ..Default::default()
        },
    )
    .await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id: by_squad,
            assistant_id: "asst_squad_lead".into(),
            squad_id: Some("squad_after_hours".into()),
            ..Default::default()
        },
    )
    .await;
    let st = state(&pool);
    let cases = [
        (
            "call-by-number",
            json!({"phoneNumberId": "pn_main_line"}),
            Some(by_number),
        ),
        (
            "call-by-squad",
            json!({"squadId": "squad_after_hours"}),
            Some(by_squad),
        ),
        // the phone number wins over the squad
        (
            "call-both",
            json!({"phoneNumberId": "pn_main_line", "squadId": "squad_after_hours"}),
            Some(by_number),
        ),
        // a transient assistant on an unknown number stays unmatched (replayable)
        (
            "call-unknown",
            json!({"phoneNumberId": "pn_other", "assistant": {"name": "inline"}}),
            None,
        ),
    ];
    for (call_id, keys, want) in cases {
        let (status, answer) =
            send(&st, vapi_request(&squad_or_number_report(call_id, keys))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let row = inbound_row(&pool, call_id).await;
        match want {
            Some(clinic) => {
                assert_eq!(answer["status"], "processed", "{call_id}");
                assert_eq!(row["clinic_id"], json!(clinic), "{call_id}");
                assert_eq!(row["status"], "ended");
            }
            None => {
                assert_eq!(answer["status"], "unmatched", "{call_id}");
                assert!(row.is_null());
            }
        }
    }
}

async fn answer_of(st: &AppState, body: Value) -> Value {
    let (status, answer) = send(st, vapi_request(&serde_json::to_vec(&body).unwrap())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

#[sqlx::test(migrations = "./migrations")]
async fn assistant_request_is_answered_from_the_phone_numbers_mapping(pool: PgPool) {
    let clinic_id = clinic(&pool).await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: "asst_front_desk".into(),
            phone_number_id: Some("pn_main_line".into()),
            ..Default::default()
        },
    )
    .await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: "asst_old_line".into(),
            phone_number_id: Some("pn_retired".into()),
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: "asst_squad_member".into(),
            phone_number_id: Some("pn_squad_line".into()),
            squad_id: Some("squad_1".into()),
            ..Default::default()
        },
    )
    .await;
    let st = state(&pool);
    let request = |number: &str| {
        json!({"message": {"type": "assistant-request",
        "phoneNumber": {"id": number, "number": "+15125550100"},
        "call": {"id": format!("c-{number}"), "type": "inboundPhoneCall", "phoneNumberId": number}}})
    };
    assert_eq!(
        answer_of(&st, request("pn_main_line")).await,
        json!({"assistantId": "asst_front_desk"})
    );
    assert_eq!(
        answer_of(&st, request("pn_squad_line")).await,
        json!({"squadId": "squad_1"})
    );
    for number in ["pn_retired", "pn_unknown"] {
        let a = answer_of(&st, request(number)).await;
        assert!(
            a["error"]
                .as_str()
                .is_some_and(|e| e.contains("not set up")),
            "{a}"
        );
        assert!(a.get("assistantId").is_none());
    }
    // The number only on the call object is enough.
    let only_call = json!({"message": {"type": "assistant-request",
        "call": {"id": "c-x", "phoneNumberId": "pn_main_line"}}});
    assert_eq!(
        answer_of(&st, only_call).await,
        json!({"assistantId": "asst_front_desk"})
    );
    // Answered messages are kept as `skipped`.
    let statuses: Vec<String> = sqlx::query_scalar("SELECT DISTINCT status FROM webhook_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(statuses, ["skipped"]);
}

#[sqlx::test(migrations = "./migrations")]
async fn knowledge_base_and_handoff_requests_get_a_valid_answer(pool: PgPool) {
    let st = state(&pool);
    let kb = real("vapi/docs-custom-knowledge-base-L164-knowledge-base-request.json");
    let (status, a) = send(&st, vapi_request(&kb.raw_body())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a, json!({"documents": []}));
    let handoff = json!({"message": {"type": "handoff-destination-request",
        "parameters": {"destination": "billing"}, "call": {"id": "c-handoff"}}});
    let a = answer_of(&st, handoff).await;
    assert!(a["error"].as_str().is_some_and(|e| !e.is_empty()), "{a}");
    assert!(a.get("status").is_none(), "not the inbox's answer: {a}");
}

#[sqlx::test(migrations = "./migrations")]
async fn transfer_update_is_recorded_on_the_call(pool: PgPool) {
    let clinic_id = clinic(&pool).await;
    mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: "asst_front_desk".into(),
            ..Default::default()
        },
    )
    .await;
    let st = state(&pool);
    let update = |ts: i64, number: &str| {
        json!({"message": {"type": "transfer-update", "timestamp": ts,
        "destination": {"type": "number", "number": number},
        "call": {"id": "call-transfer", "type": "inboundPhoneCall", "status": "in-progress", "assistantId": "asst_front_desk"}}})
    };
    let a = answer_of(&st, update(1_795_190_400_000, "+15125550199")).await;
    assert_eq!(a["status"], "processed");
    // an older transfer delivered late does not become the last one
    answer_of(&st, update(1_795_190_300_000, "+15125550111")).await;
    let row = inbound_row(&pool, "call-transfer").await;
    assert_eq!(row["status"], "in-progress");
    let transfers = row["metadata"]["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 2);
    assert_eq!(
        row["metadata"]["last_transfer"]["destination"]["number"],
        "+15125550199"
    );
    assert_eq!(
        row["metadata"]["last_transfer"]["at"],
        "2026-11-20T16:00:00+00:00"
    );
    // the same transfer again (another delivery id: a new timestamp field order) adds nothing
    let mut again = update(1_795_190_400_000, "+15125550199");
    again["message"]["note"] = json!("redelivered");
    answer_of(&st, again).await;
    let row = inbound_row(&pool, "call-transfer").await;
    assert_eq!(row["metadata"]["transfers"].as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Clerk shapes

#[sqlx::test(migrations = "./migrations")]
async fn a_generated_avatar_is_not_stored_and_legacy_roles_map(pool: PgPool) {
    let st = state(&pool);
    for rel in [
        "clerk/recorded-user.created-has-image-false.json",
        "clerk/samples-01-organization.created.json",
        "clerk/samples-04-organizationMembership.created.json",
    ] {
        let (status, answer) = send(&st, fixture_request(&real_root().join(rel))).await;
        assert_eq!(status, StatusCode::OK, "{rel}: {answer}");
        assert_eq!(answer["status"], "processed", "{rel}: {answer}");
    }
    let avatar: Option<String> = sqlx::query_scalar(
        "SELECT avatar_url FROM users WHERE clerk_user_id = 'user_2vX11zP5ojq7cTRY58xT6oJqmRG'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        avatar, None,
        "has_image: false → the generated avatar is not a picture"
    );
    // legacy `admin` role of 2022 deliveries
    let role: String = sqlx::query_scalar(
        "SELECT a.role FROM user_clinic_access a JOIN users u ON u.id = a.user_id
         WHERE u.clerk_user_id = 'user_29w83sxmDNGwOuEthce5gg56FcC'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(role, "admin");
}
