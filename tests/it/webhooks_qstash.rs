//! QStash deliveries enqueue the matching job (once per message), and the inbox's failed
//! events are retried by the `inbox-retry` tick through `ReprocessWebhook`.

use axum::http::StatusCode;
use odis_worker::jobs::JobKind;
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

    let body = serde_json::to_vec(&serde_json::json!({"callId": call})).unwrap();
    for _ in 0..3 {
        let (status, json) = send(
            &st,
            qstash_request("/webhooks/qstash/execute-call", "msg_call_1", &body),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{json}");
    }
    assert_eq!(
        app::pending_jobs(&pool, odis_worker::jobs::DispatchCall::QUEUE)
            .await
            .len(),
        1
    );

    let body = serde_json::to_vec(&serde_json::json!({"emailId": email})).unwrap();
    let (status, json) = send(
        &st,
        qstash_request("/webhooks/qstash/execute-email", "msg_email_1", &body),
    )
    .await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("processed"))
    );
    assert_eq!(
        app::pending_jobs(&pool, odis_worker::jobs::DispatchEmail::QUEUE)
            .await
            .len(),
        1
    );

    let (status, _) = send(
        &st,
        qstash_request("/webhooks/qstash/auto-schedule", "msg_auto_1", b""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app::pending_jobs(&pool, odis_worker::jobs::AutoScheduleRun::QUEUE)
            .await
            .len(),
        1
    );

    // The stored event knows its clinic.
    let clinic: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT clinic_id FROM webhook_events WHERE delivery_id = 'msg_call_1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(clinic, Some(dc.clinic_id));
}

#[sqlx::test(migrations = "./migrations")]
async fn unknown_and_malformed_targets(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let st = state(&pool);
    let body = br#"{"callId":"6f1c2a9e-3b7d-4e52-9a1f-8c0d4b2e7a13"}"#;
    let (status, json) = send(
        &st,
        qstash_request("/webhooks/qstash/execute-call", "msg_unknown", body),
    )
    .await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("unmatched"))
    );

    let (status, json) = send(
        &st,
        qstash_request(
            "/webhooks/qstash/execute-call",
            "msg_bad",
            br#"{"callId":"nope"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["field"], "callId");
    let (status, json) = send(
        &st,
        qstash_request("/webhooks/qstash/execute-email", "msg_missing", b"{}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["field"], "emailId");
    let (status, json) = send(
        &st,
        qstash_request(
            "/webhooks/qstash/auto-schedule",
            "msg_bad_ids",
            br#"{"clinicIds":[1]}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["field"], "clinicIds");
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
        },
    )
    .await;
    let ctx = app::context(&pool, NO_PROVIDERS);

    assert_eq!(odis_worker::jobs::inbox_retry::tick(&ctx).await.unwrap(), 1);
    assert_eq!(
        odis_worker::jobs::inbox_retry::tick(&ctx).await.unwrap(),
        0,
        "claimed: not enqueued twice"
    );
    assert_eq!(
        app::pending_jobs(&pool, odis_worker::jobs::ReprocessWebhook::QUEUE)
            .await
            .len(),
        1
    );

    let result = odis_worker::jobs::ReprocessWebhook { event_id: event }
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
        app::pending_jobs(&pool, odis_worker::jobs::DispatchCall::QUEUE)
            .await
            .len(),
        1
    );
    assert_eq!(odis_worker::jobs::inbox_retry::tick(&ctx).await.unwrap(), 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_poison_event_stops_being_retried(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
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
