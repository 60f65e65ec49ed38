//! QStash deliveries enqueue the matching job (once per message), and the inbox's failed
//! events are retried by the `inbox-retry` tick through `ReprocessWebhook`.

use axum::http::StatusCode;
use odis_worker::jobs::{self, Job, JobKind};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::app::{self, send, state, NO_PROVIDERS};
use crate::helpers::seed::{self, AssistantMappingOpts, ClinicOpts, WebhookEventOpts};
use crate::helpers::sign::{qstash_request, vapi_request};

#[sqlx::test(migrations = "./migrations")]
async fn qstash_routes_enqueue_the_matching_job_once(pool: PgPool) {
    let dc = seed::discharge_case(&pool, "America/Los_Angeles").await;
    let call = seed::due_call(&pool, &dc, "+14155550123").await;
    let email = seed::due_email(&pool, &dc).await;
    let st = state(&pool);

    // (route, message id, body, deliveries of the message, queue of the job it enqueues)
    let cases = [
        (
            "/webhooks/qstash/execute-call",
            "msg_call_1",
            json!({"callId": call}).to_string(),
            3,
            jobs::DispatchCall::QUEUE,
        ),
        (
            "/webhooks/qstash/execute-email",
            "msg_email_1",
            json!({"emailId": email}).to_string(),
            1,
            jobs::DispatchEmail::QUEUE,
        ),
        (
            "/webhooks/qstash/auto-schedule",
            "msg_auto_1",
            String::new(),
            1,
            jobs::AutoScheduleRun::QUEUE,
        ),
    ];
    for (route, message, body, deliveries, queue) in cases {
        for n in 0..deliveries {
            let (status, json) = send(&st, qstash_request(route, message, body.as_bytes())).await;
            assert_eq!(status, StatusCode::OK, "{route} delivery {n}: {json}");
            let expected = if n == 0 { "processed" } else { "duplicate" };
            assert_eq!(json["status"], expected, "{route} delivery {n}: {json}");
        }
        assert_eq!(
            app::pending_jobs(&pool, queue).await.len(),
            1,
            "{route}: one {queue} job"
        );
    }

    // The stored event knows its clinic.
    let clinic: Option<uuid::Uuid> = sqlx::query_scalar(
        "SELECT clinic_id FROM webhook_events WHERE delivery_id = 'jti:msg_call_1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(clinic, Some(dc.clinic_id));
}

#[sqlx::test(migrations = "./migrations")]
async fn unknown_and_malformed_targets(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    let st = state(&pool);
    /// A delivery, and the answer's status and one field of its JSON body.
    struct Case {
        name: &'static str,
        route: &'static str,
        message: &'static str,
        body: &'static [u8],
        status: StatusCode,
        field: (&'static str, &'static str),
    }
    let cases = [
        Case {
            name: "a call that does not exist",
            route: "/webhooks/qstash/execute-call",
            message: "msg_unknown",
            body: br#"{"callId":"6f1c2a9e-3b7d-4e52-9a1f-8c0d4b2e7a13"}"#,
            status: StatusCode::OK,
            field: ("status", "unmatched"),
        },
        Case {
            name: "a call id that is no UUID",
            route: "/webhooks/qstash/execute-call",
            message: "msg_bad",
            body: br#"{"callId":"nope"}"#,
            status: StatusCode::BAD_REQUEST,
            field: ("field", "callId"),
        },
        Case {
            name: "no email id",
            route: "/webhooks/qstash/execute-email",
            message: "msg_missing",
            body: b"{}",
            status: StatusCode::BAD_REQUEST,
            field: ("field", "emailId"),
        },
        Case {
            name: "clinic ids that are no UUIDs",
            route: "/webhooks/qstash/auto-schedule",
            message: "msg_bad_ids",
            body: br#"{"clinicIds":[1]}"#,
            status: StatusCode::BAD_REQUEST,
            field: ("field", "clinicIds"),
        },
    ];
    for case in cases {
        let (status, json) = send(&st, qstash_request(case.route, case.message, case.body)).await;
        assert_eq!(status, case.status, "{}: {json}", case.name);
        let (key, value) = case.field;
        assert_eq!(json[key], value, "{}: {json}", case.name);
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn failed_inbox_events_are_retried_once_per_tick_until_processed(pool: PgPool) {
    let dc = seed::discharge_case(&pool, "America/Los_Angeles").await;
    let call = seed::due_call(&pool, &dc, "+14155550123").await;
    // An execute-call delivery whose first processing failed (say, the queue was unreachable).
    let event = seed::webhook_event(
        &pool,
        WebhookEventOpts {
            source: "qstash".into(),
            delivery_id: "msg_failed".into(),
            event_type: Some("execute-call".into()),
            payload: format!(r#"{{"callId":"{call}"}}"#).into_bytes(),
            status: "failed".into(),
            attempts: 1,
            last_error: Some("enqueue failed".into()),
            next_attempt_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
            ..Default::default()
        },
    )
    .await;
    let ctx = app::context(&pool, NO_PROVIDERS);

    assert_eq!(jobs::inbox_retry::tick(&ctx).await.unwrap(), 1);
    assert_eq!(
        jobs::inbox_retry::tick(&ctx).await.unwrap(),
        0,
        "claimed: not enqueued twice"
    );
    assert_eq!(
        app::pending_jobs(&pool, jobs::ReprocessWebhook::QUEUE)
            .await
            .len(),
        1
    );

    let result = jobs::ReprocessWebhook { event_id: event }
        .run(ctx.clone())
        .await
        .unwrap();
    assert_eq!(result["status"], "processed");
    let (status, attempts, next): (String, i32, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as(
            "SELECT status, attempts, next_attempt_at FROM webhook_events WHERE id = $1",
        )
        .bind(event)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((status.as_str(), attempts, next), ("processed", 2, None));
    assert_eq!(
        app::pending_jobs(&pool, jobs::DispatchCall::QUEUE)
            .await
            .len(),
        1
    );
    assert_eq!(jobs::inbox_retry::tick(&ctx).await.unwrap(), 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_poison_event_stops_being_retried(pool: PgPool) {
    jobs::setup(&pool).await.unwrap();
    let st = state(&pool);
    // A delivery whose processing always fails (a trigger that raises on the row it writes),
    // with its attempts already at the cap minus one.
    sqlx::raw_sql(
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$;
         CREATE TRIGGER boom BEFORE INSERT ON inbound_calls FOR EACH ROW EXECUTE FUNCTION boom();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let clinic_id = seed::clinic(&pool, ClinicOpts::named("Poison Clinic", "UTC")).await;
    seed::assistant_mapping(
        &pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: "asst_poison".into(),
            ..Default::default()
        },
    )
    .await;
    let body = br#"{"message":{"type":"status-update","status":"ringing","call":{"id":"call-poison","type":"inboundPhoneCall","assistantId":"asst_poison"}}}"#;
    let (status, _) = send(&st, vapi_request(body)).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "stored, failed, retried later: the sender must not loop"
    );
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE webhook_events SET attempts = $2 - 1 WHERE id = $1")
        .bind(id)
        .bind(odis_worker::webhooks::inbox::MAX_ATTEMPTS)
        .execute(&pool)
        .await
        .unwrap();
    odis_worker::webhooks::inbox::process(&st, id)
        .await
        .unwrap();
    let (status, next, error): (
        String,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT status, next_attempt_at, last_error FROM webhook_events WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "failed");
    assert!(
        next.is_none(),
        "no more automatic retries after MAX_ATTEMPTS"
    );
    assert!(error.unwrap_or_default().contains("boom"));
}
