//! Shared helpers for integration tests: an `AppState` on the test database, signed requests for
//! each sender, and a one-shot driver for the real axum router.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use odis_worker::config::Config;
use odis_worker::http::{router, AppState};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tower::ServiceExt;

pub const VAPI_SECRET: &str = "test-vapi-secret";
pub const QSTASH_CURRENT: &str = "sig_current_test_key";
pub const QSTASH_NEXT: &str = "sig_next_test_key";
pub const CLERK_SECRET: &str = "whsec_dGVzdC1jbGVyay1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==";
pub const PUBLIC_BASE_URL: &str = "https://odis.test";

/// Config with every secret set and every provider on `provider_base` (a loopback fake).
pub fn config(provider_base: &str) -> Config {
    let mut c = Config::for_tests("postgres://unused@127.0.0.1/unused", provider_base);
    c.public_base_url = Some(PUBLIC_BASE_URL.into());
    c
}

pub fn state(pool: &PgPool) -> AppState {
    let _ = odis_worker::metrics::handle();
    AppState::new(pool.clone(), config("http://127.0.0.1:9")).unwrap()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Sends one request through the real router; returns status and the body parsed as JSON
/// (`Value::Null` when it is not JSON).
pub async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router(state.clone())
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub fn vapi_request(body: &[u8]) -> Request<Body> {
    Request::post("/webhooks/vapi")
        .header("content-type", "application/json")
        .header("x-vapi-secret", VAPI_SECRET)
        .body(Body::from(body.to_vec()))
        .unwrap()
}

pub fn svix_signature(secret: &str, id: &str, ts: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

pub fn clerk_request(id: &str, body: &[u8]) -> Request<Body> {
    let ts = now();
    Request::post("/webhooks/clerk")
        .header("content-type", "application/json")
        .header("svix-id", id)
        .header("svix-timestamp", ts.to_string())
        .header("svix-signature", svix_signature(CLERK_SECRET, id, ts, body))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

/// An Upstash-Signature JWT for `body` sent to `path`, signed with `key`, valid from `iat`.
pub fn qstash_token(key: &str, path: &str, body: &[u8], iat: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": "Upstash",
        "sub": format!("{PUBLIC_BASE_URL}{path}"),
        "exp": iat + 300,
        "nbf": iat,
        "iat": iat,
        "jti": format!("jwt_{}", uuid::Uuid::new_v4().simple()),
        "body": URL_SAFE_NO_PAD.encode(Sha256::digest(body)),
    });
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

pub fn qstash_request(path: &str, message_id: &str, body: &[u8]) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .header("upstash-message-id", message_id)
        .header(
            "upstash-signature",
            qstash_token(QSTASH_CURRENT, path, body, now()),
        )
        .body(Body::from(body.to_vec()))
        .unwrap()
}

/// A fixture turned into a signed request for its route.
pub fn fixture_request(path: &std::path::Path) -> Request<Body> {
    let f = odis_worker::webhooks::fixtures::Fixture::load(path).expect("fixture");
    let body = f.raw_body();
    match f.source.as_str() {
        "vapi" => vapi_request(&body),
        "clerk" => clerk_request(f.header("svix-id").expect("svix-id"), &body),
        "qstash" => qstash_request(
            f.route.as_deref().expect("route"),
            f.header("upstash-message-id").expect("upstash-message-id"),
            &body,
        ),
        other => panic!("unknown fixture source {other}"),
    }
}

/// Inserts a clinic and returns its id.
pub async fn clinic(pool: &PgPool, name: &str, tz: &str) -> uuid::Uuid {
    sqlx::query_scalar(
        "INSERT INTO clinics (name, slug, timezone, phone) VALUES ($1, $2, $3, '+14155550100') RETURNING id",
    )
    .bind(name)
    .bind(name.to_lowercase().replace(' ', "-"))
    .bind(tz)
    .fetch_one(pool)
    .await
    .expect("insert clinic")
}
