//! The ingress contract shared by every webhook route: verification before anything is written,
//! 401/503/413/400 with JSON reasons, the inbox with dedupe, and never a 5xx for bad input.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sqlx::PgPool;

use crate::helpers::app::{config, send, state, state_with, NO_PROVIDERS};
use crate::helpers::sign::{
    clerk_request, now, qstash_token, svix_signature, vapi_request, CLERK_SECRET, QSTASH_CURRENT,
    QSTASH_NEXT,
};

async fn inbox_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn forged_and_missing_signatures_get_401_and_write_nothing(pool: PgPool) {
    let st = state(&pool);
    let body = br#"{"message":{"type":"status-update","status":"ringing","call":{"id":"c1"}}}"#;
    let forged = Request::post("/webhooks/vapi")
        .header("x-vapi-secret", "wrong")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let (status, json) = send(&st, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["reason"], "secret mismatch");

    let (status, json) = send(
        &st,
        Request::post("/webhooks/vapi")
            .body(Body::from(body.to_vec()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["reason"], "missing x-vapi-secret header");

    // Clerk: signature over a different body
    let mut req = clerk_request("msg_1", br#"{"type":"user.created","data":{}}"#);
    *req.body_mut() = Body::from(r#"{"type":"user.deleted","data":{}}"#);
    let (status, json) = send(&st, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["reason"], "signature mismatch");

    // Clerk: stale timestamp
    let ts = now() - 301;
    let b = br#"{"type":"user.created","data":{}}"#;
    let req = Request::post("/webhooks/clerk")
        .header("svix-id", "msg_2")
        .header("svix-timestamp", ts.to_string())
        .header(
            "svix-signature",
            svix_signature(CLERK_SECRET, "msg_2", ts, b),
        )
        .body(Body::from(b.to_vec()))
        .unwrap();
    let (status, json) = send(&st, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["reason"], "timestamp too old");

    // QStash: token for another route (wrong sub), and one signed with an unknown key
    let b = br#"{"callId":"00000000-0000-0000-0000-000000000000"}"#;
    let req = Request::post("/webhooks/qstash/execute-call")
        .header(
            "upstash-signature",
            qstash_token(QSTASH_CURRENT, "/webhooks/qstash/execute-email", b, now()),
        )
        .body(Body::from(b.to_vec()))
        .unwrap();
    let (status, json) = send(&st, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["reason"], "wrong subject (destination URL)");
    let req = Request::post("/webhooks/qstash/execute-call")
        .header(
            "upstash-signature",
            qstash_token("sig_unknown", "/webhooks/qstash/execute-call", b, now()),
        )
        .body(Body::from(b.to_vec()))
        .unwrap();
    let (status, json) = send(&st, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["reason"], "signature mismatch");
    // expired token
    let req = Request::post("/webhooks/qstash/execute-call")
        .header(
            "upstash-signature",
            qstash_token(
                QSTASH_CURRENT,
                "/webhooks/qstash/execute-call",
                b,
                now() - 1000,
            ),
        )
        .body(Body::from(b.to_vec()))
        .unwrap();
    let (status, json) = send(&st, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["reason"], "token expired");

    assert_eq!(inbox_count(&pool).await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_next_qstash_key_is_accepted(pool: PgPool) {
    let st = state(&pool);
    let b = br#"{"emailId":"00000000-0000-0000-0000-000000000000"}"#;
    let req = Request::post("/webhooks/qstash/execute-email")
        .header("upstash-message-id", "msg_next")
        .header(
            "upstash-signature",
            qstash_token(QSTASH_NEXT, "/webhooks/qstash/execute-email", b, now()),
        )
        .body(Body::from(b.to_vec()))
        .unwrap();
    let (status, _) = send(&st, req).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(inbox_count(&pool).await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn unconfigured_secret_is_503_not_accepted(pool: PgPool) {
    let mut cfg = config(NO_PROVIDERS);
    cfg.vapi_webhook_secret = None;
    cfg.clerk_webhook_secret = None;
    cfg.qstash_current_signing_key = None;
    cfg.qstash_next_signing_key = None;
    let st = state_with(&pool, cfg);
    for path in [
        "/webhooks/vapi",
        "/webhooks/clerk",
        "/webhooks/qstash/execute-call",
    ] {
        let (status, json) = send(&st, Request::post(path).body(Body::from("{}")).unwrap()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(json["error"], "not_configured", "{path}");
    }
    assert_eq!(inbox_count(&pool).await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn verified_garbage_is_kept_as_invalid_and_answered_400(pool: PgPool) {
    let st = state(&pool);
    let (status, json) = send(&st, vapi_request(b"this is not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["field"], "body");
    let (status, payload): (String, Vec<u8>) =
        sqlx::query_as("SELECT status, payload FROM webhook_events")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "invalid");
    assert_eq!(payload, b"this is not json");
}

#[sqlx::test(migrations = "./migrations")]
async fn redelivery_is_stored_once(pool: PgPool) {
    let st = state(&pool);
    let body = br#"{"message":{"type":"speech-update","status":"started","role":"user"}}"#;
    let (s1, j1) = send(&st, vapi_request(body)).await;
    let (s2, j2) = send(&st, vapi_request(body)).await;
    assert_eq!(s1, StatusCode::OK);
    assert_eq!(s2, StatusCode::OK);
    assert_eq!(j1["status"], "skipped");
    assert_eq!(j2["status"], "duplicate");
    assert_eq!(j1["event_id"], j2["event_id"]);
    assert_eq!(inbox_count(&pool).await, 1);
    // no credentials in the stored headers
    let headers: serde_json::Value = sqlx::query_scalar("SELECT headers FROM webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(headers.get("x-vapi-secret").is_none());
    assert_eq!(headers["content-type"], "application/json");
}

#[sqlx::test(migrations = "./migrations")]
async fn oversized_body_is_413(pool: PgPool) {
    let st = state(&pool);
    // 6 MiB end-of-call report is accepted (limit is 8 MiB); 9 MiB is refused.
    let transcript = "a".repeat(6 * 1024 * 1024);
    let ok = serde_json::to_vec(
        &serde_json::json!({"message": {"type": "transcript", "transcript": transcript}}),
    )
    .unwrap();
    let (status, _) = send(&st, vapi_request(&ok)).await;
    assert_eq!(status, StatusCode::OK);
    let big = vec![b' '; 9 * 1024 * 1024];
    let (status, json) = send(&st, vapi_request(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"], "payload_too_large");
}

#[sqlx::test(migrations = "./migrations")]
async fn database_outage_is_503(pool: PgPool) {
    let st = state(&pool);
    pool.close().await;
    let (status, json) = send(&st, vapi_request(br#"{"message":{"type":"hang"}}"#)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json["error"], "unavailable");
}
