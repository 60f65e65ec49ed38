//! Requests signed the way each sender signs them: VAPI's shared secret header, Svix (Clerk)
//! HMAC signatures, and QStash's `Upstash-Signature` JWT; and recorded fixtures turned into
//! signed requests for their route.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::Request;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub use odis_worker::webhooks::fixtures::Fixture;

use super::app::PUBLIC_BASE_URL;

// The secrets `Config::for_tests` configures.
pub const VAPI_SECRET: &str = "test-vapi-secret";
pub const QSTASH_CURRENT: &str = "sig_current_test_key";
pub const QSTASH_NEXT: &str = "sig_next_test_key";
pub const CLERK_SECRET: &str = "whsec_dGVzdC1jbGVyay1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==";

/// Unix seconds now, for signature timestamps.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
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

/// An Upstash-Signature JWT for `body` sent to `path`, signed with `key`, valid from `iat`,
/// with a fresh `jti`.
pub fn qstash_token(key: &str, path: &str, body: &[u8], iat: i64) -> String {
    let jti = format!("jwt_{}", uuid::Uuid::new_v4().simple());
    qstash_token_with_jti(key, path, body, iat, &jti)
}

/// [`qstash_token`] with a given `jti` (the inbox's delivery id for QStash).
pub fn qstash_token_with_jti(key: &str, path: &str, body: &[u8], iat: i64, jti: &str) -> String {
    let mut overrides = serde_json::Map::new();
    overrides.insert("jti".into(), jti.into());
    qstash_token_with(key, path, body, iat, &overrides)
}

/// [`qstash_token`] with some claims replaced (e.g. a numeric `jti`, as Upstash's Python SDK
/// test signs).
pub fn qstash_token_with(
    key: &str,
    path: &str,
    body: &[u8],
    iat: i64,
    overrides: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let mut claims = serde_json::json!({
        "iss": "Upstash",
        "sub": format!("{PUBLIC_BASE_URL}{path}"),
        "exp": iat + 300,
        "nbf": iat,
        "iat": iat,
        "jti": format!("jwt_{}", uuid::Uuid::new_v4().simple()),
        "body": URL_SAFE_NO_PAD.encode(Sha256::digest(body)),
    });
    for (k, v) in overrides {
        claims[k] = v.clone();
    }
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// A QStash delivery of message `message_id`: sending it again is a redelivery of the same
/// signed request (its token's `jti` is the message id, so the inbox's delivery id is
/// `jti:<message_id>`).
pub fn qstash_request(path: &str, message_id: &str, body: &[u8]) -> Request<Body> {
    let token = qstash_token_with_jti(QSTASH_CURRENT, path, body, now(), message_id);
    Request::post(path)
        .header("content-type", "application/json")
        .header("upstash-message-id", message_id)
        .header("upstash-signature", token)
        .body(Body::from(body.to_vec()))
        .unwrap()
}

/// The recorded fixtures of `fixtures/<dir>/*.json`, sorted by name.
pub fn fixture_paths(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

/// A fixture turned into a signed request for its route, signed the way its `signing` says
/// (fixtures/README.md): `svix_timestamp: "fractional"` sends `<now>.482` (signed over the whole
/// seconds, as Svix's libraries do), `svix_headers: "webhook"` uses the unbranded `webhook-*`
/// names, `qstash_claims` replaces claims of the token (`"float"` = an epoch time as a float,
/// as `time.time()` gives; fixed, so sending the file again is the same signed delivery).
pub fn fixture_request(path: &Path) -> Request<Body> {
    let f = Fixture::load(path).expect("fixture");
    let body = f.raw_body();
    let signing = f.signing.clone().unwrap_or_default();
    match f.source.as_str() {
        "vapi" => vapi_request(&body),
        "clerk" if !signing.is_null() => {
            let id = f
                .header("svix-id")
                .or_else(|| f.header("webhook-id"))
                .expect("svix-id or webhook-id");
            let ts = now();
            let prefix = signing["svix_headers"].as_str().unwrap_or("svix");
            let ts_header = if signing["svix_timestamp"] == "fractional" {
                format!("{ts}.482")
            } else {
                ts.to_string()
            };
            Request::post("/webhooks/clerk")
                .header("content-type", "application/json")
                .header(format!("{prefix}-id"), id)
                .header(format!("{prefix}-timestamp"), ts_header)
                .header(
                    format!("{prefix}-signature"),
                    svix_signature(CLERK_SECRET, id, ts, &body),
                )
                .body(Body::from(body.to_vec()))
                .unwrap()
        }
        "qstash" if !signing.is_null() => {
            let route = f.route.as_deref().expect("route");
            let mut claims = signing["qstash_claims"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for v in claims.values_mut() {
                if v == "float" {
                    *v = serde_json::json!(1_764_489_600.482_913_f64);
                }
            }
            Request::post(route)
                .header("content-type", "application/json")
                .header(
                    "upstash-message-id",
                    f.header("upstash-message-id").expect("upstash-message-id"),
                )
                .header(
                    "upstash-signature",
                    qstash_token_with(QSTASH_CURRENT, route, &body, now(), &claims),
                )
                .body(Body::from(body.to_vec()))
                .unwrap()
        }
        "clerk" => clerk_request(f.header("svix-id").expect("svix-id"), &body),
        "qstash" => qstash_request(
            f.route.as_deref().expect("route"),
            f.header("upstash-message-id").expect("upstash-message-id"),
            &body,
        ),
        other => panic!("unknown fixture source {other}"),
    }
}
