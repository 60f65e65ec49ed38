//! Dispatch of calls and emails against fake VAPI/Resend servers on loopback (wiremock), on a
//! fresh database per test. Each test checks the exact request and what the row became.

use odis_worker::jobs::dispatch_call::{self, CallOutcome};
use odis_worker::jobs::dispatch_email::{self, EmailOutcome};
use odis_worker::jobs::{DispatchCall, DispatchEmail, Job, JobKind};
use serde_json::json;
use sqlx::PgPool;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::app;
use crate::helpers::seed::{self, ClinicOpts, DischargeCaseOpts};

fn created(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(201)
        .set_body_json(json!({"id": id, "status": "queued", "type": "outboundPhoneCall"}))
}

#[sqlx::test(migrations = "./migrations")]
async fn racing_dispatchers_place_exactly_one_call(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, "America/Los_Angeles").await;
    let id = seed::due_call(&pool, &s, "(408) 555-0199").await;
    Mock::given(method("POST"))
        .and(path("/call"))
        .and(header("authorization", "Bearer test-vapi-key"))
        .and(body_partial_json(json!({
            "assistantId": "asst-outbound-1",
            "phoneNumberId": "test-phone-number-id",
            "customer": {"number": "+14085550199"},
            "assistantOverrides": {
                "metadata": {
                    "outbound_call_id": id,
                    "clinic_id": s.clinic_id,
                    "case_id": s.case_id,
                },
                "variableValues": {
                    "pet_name": "Biscuit",
                    "owner_name": "Dana",
                    "clinic_name": "Happy Paws",
                    "clinic_phone": "(408) 555-0100",
                    "agent_name": "Sarah",
                    "medications": "Carprofen 25mg twice daily",
                    "discharge_summary": "Spay surgery went well. Rest for 10 days.",
                },
                "voicemailDetection": {"provider": "vapi", "enabled": true},
                "voicemailMessage": "Hi {{owner_name}}, call us back",
            },
        })))
        .respond_with(created("vapi-call-1"))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            dispatch_call::dispatch(&ctx, id).await.unwrap()
        }));
    }
    let mut placed = 0;
    for t in tasks {
        match t.await.unwrap() {
            CallOutcome::Placed {
                vapi_call_id,
                status,
            } => {
                assert_eq!(vapi_call_id, "vapi-call-1");
                assert_eq!(status, "queued");
                placed += 1;
            }
            CallOutcome::Skipped { .. } => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(placed, 1);
    let (status, vapi_id, meta) = app::call_row(&pool, id).await;
    assert_eq!(status, "queued");
    assert_eq!(vapi_id.as_deref(), Some("vapi-call-1"));
    assert_eq!(meta["voicemail_detection_enabled"], json!(true));
    let item: String =
        sqlx::query_scalar("SELECT status FROM auto_scheduled_items WHERE outbound_call_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(item, "completed");
    // A late QStash delivery of the same call does nothing.
    let again = DispatchCall {
        outbound_call_id: id,
    }
    .run(ctx.clone())
    .await
    .unwrap();
    assert_eq!(again["outcome"], "skipped");
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn rate_limited_call_is_retried_after_the_advised_delay(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, "America/New_York").await;
    let id = seed::due_call(&pool, &s, "+14085550199").await;
    Mock::given(method("POST"))
        .and(path("/call"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/call"))
        .and(body_partial_json(
            json!({"customer": {"number": "+14085550199"}}),
        ))
        .respond_with(created("vapi-call-2"))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());

    let first = dispatch_call::dispatch(&ctx, id).await.unwrap();
    assert!(
        matches!(first, CallOutcome::RetryScheduled { after_secs: 7, .. }),
        "{first:?}"
    );
    let (status, vapi_id, meta) = app::call_row(&pool, id).await;
    assert_eq!(status, "queued");
    assert!(vapi_id.is_none());
    assert!(meta.get("dispatch_claimed_at").is_none());
    assert_eq!(meta["dispatch_retries"], json!(1));
    // A fresh job waits for the advised delay; until then the row cannot be claimed.
    let jobs = app::pending_jobs(&pool, DispatchCall::QUEUE).await;
    assert_eq!(jobs.len(), 1);
    assert!(
        jobs[0] > 3.0,
        "job runs after the Retry-After delay, got {}",
        jobs[0]
    );
    assert!(matches!(
        dispatch_call::dispatch(&ctx, id).await.unwrap(),
        CallOutcome::Skipped { .. }
    ));

    // Time passes (simulated): the retry goes through.
    sqlx::query("UPDATE outbound_calls SET metadata = metadata || jsonb_build_object('dispatch_retry_at', now() - interval '1 second') WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let second = dispatch_call::dispatch(&ctx, id).await.unwrap();
    assert!(matches!(second, CallOutcome::Placed { .. }), "{second:?}");
    assert_eq!(
        app::call_row(&pool, id).await.1.as_deref(),
        Some("vapi-call-2")
    );
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn timeout_after_sending_marks_the_call_ambiguous_and_never_retries(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, "America/Chicago").await;
    let id = seed::due_call(&pool, &s, "+14085550199").await;
    Mock::given(method("POST"))
        .and(path("/call"))
        // Longer than the client's 500 ms timeout: VAPI may have placed the call.
        .respond_with(created("vapi-late").set_delay(std::time::Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());

    let out = dispatch_call::dispatch(&ctx, id).await.unwrap();
    assert!(
        matches!(
            out,
            CallOutcome::Failed {
                ambiguous: true,
                ..
            }
        ),
        "{out:?}"
    );
    let (status, vapi_id, meta) = app::call_row(&pool, id).await;
    assert_eq!(status, "failed");
    assert!(vapi_id.is_none());
    assert_eq!(meta["dispatch_ambiguous"], json!(true));
    assert!(app::pending_jobs(&pool, DispatchCall::QUEUE)
        .await
        .is_empty());
    // Another delivery of the job does not call VAPI again.
    assert!(matches!(
        dispatch_call::dispatch(&ctx, id).await.unwrap(),
        CallOutcome::Skipped { .. }
    ));
    let item: (String, Option<String>) = sqlx::query_as(
        "SELECT status, cancellation_reason FROM auto_scheduled_items WHERE outbound_call_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(item.0, "failed");
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn resend_500_then_success_reuses_the_idempotency_key(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    let id = seed::due_email(&pool, &s).await;
    let expected_body = json!({
        "from": "Test Clinic <care@example.com>",
        "to": ["dana@example.com"],
        "subject": "Discharge Instructions for Biscuit",
        "html": "<p>Hello</p>",
        "text": "Hello",
    });
    Mock::given(method("POST"))
        .and(path("/emails"))
        .and(header("authorization", "Bearer test-resend-key"))
        .and(header("idempotency-key", id.to_string().as_str()))
        .and(body_partial_json(expected_body.clone()))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "statusCode": 500, "name": "internal_server_error", "message": "boom"})))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .and(header("authorization", "Bearer test-resend-key"))
        .and(header("idempotency-key", id.to_string().as_str()))
        .and(body_partial_json(expected_body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_123"})))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());

    let first = dispatch_email::dispatch(&ctx, id).await.unwrap();
    assert!(
        matches!(first, EmailOutcome::RetryScheduled { .. }),
        "{first:?}"
    );
    assert_eq!(
        app::pending_jobs(&pool, DispatchEmail::QUEUE).await.len(),
        1
    );
    sqlx::query(
        "UPDATE outbound_emails SET metadata = metadata - 'dispatch_retry_at' WHERE id = $1",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    let second = dispatch_email::dispatch(&ctx, id).await.unwrap();
    assert_eq!(
        second,
        EmailOutcome::Sent {
            resend_email_id: "re_123".into()
        }
    );
    let (status, resend_id, _) = app::email_row(&pool, id).await;
    assert_eq!(status, "sent");
    assert_eq!(resend_id.as_deref(), Some("re_123"));
    let sent_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT sent_at FROM outbound_emails WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(sent_at.is_some());
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn test_mode_redirects_calls_and_emails_to_the_test_contact(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, &seed::awake_zone()).await;
    sqlx::query(
        "UPDATE clinic_settings SET test_mode_enabled = true, test_contact_phone = '650-555-0142', \
         test_contact_email = 'qa@example.com' WHERE clinic_id = $1",
    )
    .bind(s.clinic_id)
    .execute(&pool)
    .await
    .unwrap();
    let call = seed::due_call(&pool, &s, "(408) 555-0199").await;
    let email = seed::due_email(&pool, &s).await;
    Mock::given(method("POST"))
        .and(path("/call"))
        .and(body_partial_json(
            json!({"customer": {"number": "+16505550142"}}),
        ))
        .respond_with(created("vapi-test"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .and(body_partial_json(json!({"to": ["qa@example.com"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_test"})))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());

    assert!(matches!(
        dispatch_call::dispatch(&ctx, call).await.unwrap(),
        CallOutcome::Placed { .. }
    ));
    let (_, _, meta) = app::call_row(&pool, call).await;
    assert_eq!(meta["test_mode"], json!(true));
    assert_eq!(meta["original_customer_phone"], json!("(408) 555-0199"));
    assert!(matches!(
        dispatch_email::dispatch(&ctx, email).await.unwrap(),
        EmailOutcome::Sent { .. }
    ));
    let (_, _, meta) = app::email_row(&pool, email).await;
    assert_eq!(meta["original_recipient_email"], json!("dana@example.com"));
    server.verify().await;
}

/// What a row expects of dispatching its call or its email.
enum Dispatch {
    Call {
        phone: &'static str,
        outcome: fn(&CallOutcome) -> bool,
        status: &'static str,
        /// A `metadata` key of the row and its value.
        metadata: Option<(&'static str, &'static str)>,
        /// The status of the call's auto-scheduled item.
        item: Option<&'static str>,
    },
    Email {
        outcome: fn(&EmailOutcome) -> bool,
        status: &'static str,
    },
}

/// What is wrong with a row's case.
enum Setup {
    TestModeWithoutTestContact,
    EuthanasiaInTheSummary,
    DeceasedPatient,
    Nothing,
}

const NO_TEST_CONTACT: &str = "Test mode is enabled but test contact phone is not configured";
const EUTHANASIA: &str = "Content contains: \"euthanasia\"";

/// Rows that must end failed or cancelled without any request to VAPI or Resend. Each row has
/// a clinic and a case of its own.
#[sqlx::test(migrations = "./migrations")]
async fn rows_that_cannot_be_sent_fail_or_are_cancelled_without_a_request(pool: PgPool) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(created("never"))
        .expect(0)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());
    let cases = [
        (
            "test mode without a test contact: call",
            Setup::TestModeWithoutTestContact,
            Dispatch::Call {
                phone: "(408) 555-0199",
                outcome: |o| {
                    *o == CallOutcome::Failed {
                        error: NO_TEST_CONTACT.into(),
                        ambiguous: false,
                    }
                },
                status: "failed",
                metadata: Some(("error", NO_TEST_CONTACT)),
                item: None,
            },
        ),
        (
            "test mode without a test contact: email",
            Setup::TestModeWithoutTestContact,
            Dispatch::Email {
                outcome: |o| matches!(o, EmailOutcome::Failed { .. }),
                status: "failed",
            },
        ),
        (
            "euthanasia in the discharge summary: call",
            Setup::EuthanasiaInTheSummary,
            Dispatch::Call {
                phone: "+14085550199",
                outcome: |o| {
                    *o == CallOutcome::Cancelled {
                        reason: EUTHANASIA.into(),
                    }
                },
                status: "cancelled",
                metadata: Some(("blocked_reason", EUTHANASIA)),
                item: Some("cancelled"),
            },
        ),
        (
            "deceased patient: email",
            Setup::DeceasedPatient,
            Dispatch::Email {
                outcome: |o| {
                    *o == EmailOutcome::Cancelled {
                        reason: "Patient is deceased".into(),
                    }
                },
                status: "cancelled",
            },
        ),
        (
            "unparseable phone: call",
            Setup::Nothing,
            Dispatch::Call {
                phone: "call the front desk",
                outcome: |o| {
                    matches!(o, CallOutcome::Failed { error, ambiguous: false }
                        if error.starts_with("Invalid phone number format"))
                },
                status: "failed",
                metadata: None,
                item: None,
            },
        ),
    ];
    for (i, (case, setup, dispatch)) in cases.into_iter().enumerate() {
        let s = seed::discharge_case_with(
            &pool,
            DischargeCaseOpts {
                clinic: ClinicOpts::named(&format!("Clinic {i}"), &seed::awake_zone()),
                assistant_id: format!("asst-outbound-{i}"),
            },
        )
        .await;
        let update = match setup {
            Setup::TestModeWithoutTestContact => Some((
                "UPDATE clinic_settings SET test_mode_enabled = true WHERE clinic_id = $1",
                s.clinic_id,
            )),
            Setup::EuthanasiaInTheSummary => Some((
                "UPDATE discharge_summaries SET content = 'Owner elected humane euthanasia today.' \
                 WHERE case_id = $1",
                s.case_id,
            )),
            Setup::DeceasedPatient => Some((
                "UPDATE patients SET is_deceased = true WHERE id = $1",
                s.patient_id,
            )),
            Setup::Nothing => None,
        };
        if let Some((sql, id)) = update {
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
        }
        match dispatch {
            Dispatch::Call {
                phone,
                outcome,
                status,
                metadata,
                item,
            } => {
                let call = seed::due_call(&pool, &s, phone).await;
                let out = dispatch_call::dispatch(&ctx, call).await.unwrap();
                assert!(outcome(&out), "{case}: {out:?}");
                let (got, _, meta) = app::call_row(&pool, call).await;
                assert_eq!(got, status, "{case}");
                if let Some((key, value)) = metadata {
                    assert_eq!(meta[key], json!(value), "{case}: {meta}");
                }
                if let Some(item_status) = item {
                    let got: String = sqlx::query_scalar(
                        "SELECT status FROM auto_scheduled_items WHERE outbound_call_id = $1",
                    )
                    .bind(call)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                    assert_eq!(got, item_status, "{case}: auto-scheduled item");
                }
            }
            Dispatch::Email { outcome, status } => {
                let email = seed::due_email(&pool, &s).await;
                let out = dispatch_email::dispatch(&ctx, email).await.unwrap();
                assert!(outcome(&out), "{case}: {out:?}");
                assert_eq!(app::email_row(&pool, email).await.0, status, "{case}");
            }
        }
    }
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn vapi_5xx_is_ambiguous_and_4xx_is_a_plain_failure(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, "America/Los_Angeles").await;
    let ctx = app::context(&pool, &server.uri());
    let cases = [
        (
            "502: VAPI may have placed the call",
            "+14085550101",
            ResponseTemplate::new(502),
            (|o| {
                matches!(
                    o,
                    CallOutcome::Failed {
                        ambiguous: true,
                        ..
                    }
                )
            }) as fn(&CallOutcome) -> bool,
        ),
        (
            "400: refused",
            "+14085550102",
            ResponseTemplate::new(400).set_body_json(json!({
                "message": ["customer.number must be a valid phone number"],
                "error": "Bad Request", "statusCode": 400})),
            |o| {
                matches!(o, CallOutcome::Failed { ambiguous: false, error }
                    if error.contains("valid phone number"))
            },
        ),
    ];
    for (case, phone, response, outcome) in cases {
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"customer": {"number": phone}})))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let call = seed::due_call(&pool, &s, phone).await;
        let out = dispatch_call::dispatch(&ctx, call).await.unwrap();
        assert!(outcome(&out), "{case}: {out:?}");
    }
    assert!(app::pending_jobs(&pool, DispatchCall::QUEUE)
        .await
        .is_empty());
    server.verify().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn due_call_outside_the_window_moves_to_the_next_opening(pool: PgPool) {
    use chrono::{Duration, Timelike, Utc};
    let server = MockServer::start().await;
    // A half-hour zone; the window opens two hours from now (local) and lasts one hour.
    let tz: chrono_tz::Tz = "Asia/Kolkata".parse().unwrap();
    let s = seed::discharge_case(&pool, "Asia/Kolkata").await;
    let now_local = Utc::now().with_timezone(&tz);
    // A same-day window that does not contain now: two hours ahead, or 03:00-04:00 late in
    // the evening (so the window never wraps midnight).
    let (start, end) = if now_local.hour() < 20 {
        let start = (now_local + Duration::hours(2))
            .time()
            .with_second(0)
            .unwrap()
            .with_nanosecond(0)
            .unwrap();
        (start, (now_local + Duration::hours(3)).time())
    } else {
        let at = |h| chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        (at(3), at(4))
    };
    sqlx::query("UPDATE clinic_settings SET preferred_call_start_time = $2, preferred_call_end_time = $3 WHERE clinic_id = $1")
        .bind(s.clinic_id)
        .bind(start)
        .bind(end)
        .execute(&pool)
        .await
        .unwrap();
    let id = seed::due_call(&pool, &s, "+14085550199").await;
    Mock::given(method("POST"))
        .respond_with(created("never"))
        .expect(0)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());

    let before = Utc::now();
    let out = dispatch_call::dispatch(&ctx, id).await.unwrap();
    let CallOutcome::Postponed { until } = out else {
        panic!("expected postponement, got {out:?}")
    };
    assert_eq!(
        until,
        odis_worker::domain::clock::next_in_window(tz, start, end, before)
    );
    assert_eq!(until.with_timezone(&tz).time(), start);
    let (status, vapi_id, meta): (String, Option<String>, serde_json::Value) =
        app::call_row(&pool, id).await;
    assert_eq!(status, "queued");
    assert!(vapi_id.is_none());
    assert!(meta.get("dispatch_claimed_at").is_none());
    let scheduled_for: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT scheduled_for FROM outbound_calls WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(scheduled_for, until);
    let jobs = app::pending_jobs(&pool, DispatchCall::QUEUE).await;
    assert_eq!(jobs.len(), 1);
    assert!(
        jobs[0] > 3600.0,
        "re-enqueued for the opening, got {}",
        jobs[0]
    );
    server.verify().await;
}

/// The placed call carries the whole script: the case's entity values and call intelligence as
/// they are at dispatch, the latest SOAP note's client instructions, and `clinic_is_open` from the
/// clinic's own hours (closed every day here, so `"false"` whatever the test's clock says).
#[sqlx::test(migrations = "./migrations")]
async fn the_call_carries_the_whole_script(pool: PgPool) {
    let server = MockServer::start().await;
    let s = seed::discharge_case(&pool, "America/Chicago").await;
    let id = seed::due_call(&pool, &s, "+14085550199").await;
    let closed = json!({"0": {"enabled": false}, "1": {"enabled": false}, "2": {"enabled": false},
        "3": {"enabled": false}, "4": {"enabled": false}, "5": {"enabled": false}, "6": {"enabled": false}});
    sqlx::query("UPDATE clinics SET business_hours = $2 WHERE id = $1")
        .bind(s.clinic_id)
        .bind(&closed)
        .execute(&pool)
        .await
        .unwrap();
    let entities = json!({"caseType": "surgery", "patient": {"name": "Biscuit Jones", "age": "4 years", "weight": "22 lbs"},
        "clinical": {"vitalSigns": {"temperature": 101.2}, "vaccinations": [{"name": "Rabies", "manufacturer": "Zoetis"}],
                     "medications": [{"name": "Carprofen", "dosage": "25mg", "frequency": "BID", "route": "oral"}],
                     "recheckRequired": true}});
    let metadata = json!({"callIntelligence": {"assessmentQuestions": [{"question": "Is she eating?", "expectedPositiveResponse": "yes"}],
        "emergencyCriteria": ["Bleeding from the incision"], "callApproach": "gentle"}});
    sqlx::query("UPDATE cases SET entity_extraction = $2, metadata = $3 WHERE id = $1")
        .bind(s.case_id)
        .bind(&entities)
        .bind(&metadata)
        .execute(&pool)
        .await
        .unwrap();
    for (instructions, age) in [
        ("Old instructions", "2 days"),
        ("Keep the cone on for 10 days", "1 hour"),
    ] {
        sqlx::query(
            "INSERT INTO soap_notes (case_id, clinic_id, client_instructions, plan, created_at)
             VALUES ($1, $2, $3, 'Recheck', now() - $4::interval)",
        )
        .bind(s.case_id)
        .bind(s.clinic_id)
        .bind(instructions)
        .bind(age)
        .execute(&pool)
        .await
        .unwrap();
    }
    Mock::given(method("POST"))
        .and(path("/call"))
        .and(body_partial_json(json!({"assistantOverrides": {"variableValues": {
            "owner_name": "Dana",
            "pet_name": "Biscuit",
            "clinic_is_open": "false",
            "follow_up_instructions": "Keep the cone on for 10 days",
            "vital_temperature": "101.2",
            "vaccinations_detailed": "Rabies (Zoetis)",
            "medications_detailed": "Carprofen 25mg BID by oral",
            "recheck_required": "yes",
            "has_vaccinations": "true",
            "assessment_questions": [{"question": "Is she eating?", "expected_positive_response": "yes"}],
            "emergency_criteria": ["Bleeding from the incision"],
            "call_approach": "gentle",
            "case_type": "surgery",
            // the summary's structured medications still win over the entities' line
            "medications": "Carprofen 25mg twice daily",
        }}})))
        .respond_with(created("vapi-call-script"))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = app::context(&pool, &server.uri());
    let out = dispatch_call::dispatch(&ctx, id).await.unwrap();
    assert!(matches!(out, CallOutcome::Placed { .. }), "{out:?}");
    server.verify().await;
}
