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
    let vapi_body =
        br#"{"message":{"type":"status-update","status":"ringing","call":{"id":"c1"}}}"#;
    let vapi = |secret: Option<&str>| {
        let req = Request::post("/webhooks/vapi");
        let req = match secret {
            Some(secret) => req.header("x-vapi-secret", secret),
            None => req,
        };
        req.body(Body::from(vapi_body.to_vec())).unwrap()
    };
    let clerk_body = br#"{"type":"user.created","data":{}}"#;
    let mut other_body = clerk_request("msg_1", clerk_body);
    *other_body.body_mut() = Body::from(r#"{"type":"user.deleted","data":{}}"#);
    let stale = now() - 301;
    let stale_ts = Request::post("/webhooks/clerk")
        .header("svix-id", "msg_2")
        .header("svix-timestamp", stale.to_string())
        .header(
            "svix-signature",
            svix_signature(CLERK_SECRET, "msg_2", stale, clerk_body),
        )
        .body(Body::from(clerk_body.to_vec()))
        .unwrap();
    let call_route = "/webhooks/qstash/execute-call";
    let qstash_body = br#"{"callId":"00000000-0000-0000-0000-000000000000"}"#;
    // A delivery to the execute-call route with a token signed by `key` for `sub_route`.
    let qstash = |key: &str, sub_route: &str, iat: i64| {
        Request::post(call_route)
            .header(
                "upstash-signature",
                qstash_token(key, sub_route, qstash_body, iat),
            )
            .body(Body::from(qstash_body.to_vec()))
            .unwrap()
    };

    let cases = [
        ("VAPI: wrong secret", vapi(Some("wrong")), "secret mismatch"),
        (
            "VAPI: no secret header",
            vapi(None),
            "missing x-vapi-secret header",
        ),
        (
            "Clerk: signature over a different body",
            other_body,
            "signature mismatch",
        ),
        ("Clerk: stale timestamp", stale_ts, "timestamp too old"),
        (
            "QStash: token for another route (wrong sub)",
            qstash(QSTASH_CURRENT, "/webhooks/qstash/execute-email", now()),
            "wrong subject (destination URL)",
        ),
        (
            "QStash: signed with an unknown key",
            qstash("sig_unknown", call_route, now()),
            "signature mismatch",
        ),
        (
            "QStash: expired token",
            qstash(QSTASH_CURRENT, call_route, now() - 1000),
            "token expired",
        ),
    ];
    for (case, req, reason) in cases {
        let (status, json) = send(&st, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {json}");
        assert_eq!(json["reason"], reason, "{case}: {json}");
        assert_eq!(inbox_count(&pool).await, 0, "{case}: nothing is written");
    }
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
