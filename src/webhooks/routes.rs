//! The webhook routes: for each sender, the order of `webhooks/mod.rs` (secret configured,
//! signature, inbox, processing) turning its request into a [`Delivery`]
//! (`docs/behaviour.md#verification`, `docs/behaviour.md#inbox`).
//!
//! May import: `config`, `metrics`, `error`, `state`, `webhooks`.

use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::Value;

use super::inbox::{self, Delivery, IngestResult, Processed, Source};
use super::response::respond;
use super::{qstash, vapi, verify};
use crate::config::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::state::AppState;

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Maps a body that could not be read: over the limit → 413, anything else → 400.
fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            }
        } else {
            ApiError::bad_field("body", rejection.body_text())
        }
    })
}

pub(super) async fn vapi_webhook(
    state: State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    vapi_inner(state, headers, body)
        .await
        .map_err(|e| rejected(Source::Vapi, e))
}

async fn vapi_inner(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let secret = state
        .config
        .vapi_webhook_secret
        .clone()
        .ok_or(ApiError::NotConfigured {
            what: "VAPI_WEBHOOK_SECRET",
        })?;
    let body = body_or_error(body)?;
    verify::verify_vapi(&headers, &body, secret.expose(), now_unix())
        .map_err(|r| ApiError::unauthorized(r.to_string()))?;
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    if let Some(call_id) = parsed
        .as_ref()
        .and_then(|v| v.pointer("/message/call/id"))
        .and_then(Value::as_str)
    {
        tracing::Span::current().record("vapi_call_id", call_id);
    }
    let delivery = Delivery {
        source: Source::Vapi,
        delivery_id: verify::sha256_hex(&body),
        event_type: parsed
            .as_ref()
            .and_then(vapi::message_type)
            .map(str::to_string),
        headers: inbox::safe_headers(&headers),
        payload: body,
    };
    // Messages VAPI waits on (tool-calls, assistant-request, transfer-destination-request) get
    // their answer whatever the inbox said: a redelivered tool call still needs its result. The
    // answer is computed while the delivery is stored (a caller waits on it); the delivery is
    // still stored before anything is answered, and a failure to store is still the answer.
    let answer = async {
        match &parsed {
            Some(v) => vapi::respond(&state, v).await,
            None => None,
        }
    };
    let (ingested, answer) = tokio::join!(inbox::ingest(&state, &delivery), answer);
    let ingested = ingested?;
    if let Some(answer) = answer {
        if !matches!(
            ingested.result,
            IngestResult::Fresh(Processed::Invalid { .. })
        ) {
            return Ok((StatusCode::OK, Json(answer)).into_response());
        }
    }
    Ok(respond(&delivery, &ingested))
}

pub(super) async fn clerk_webhook(
    state: State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    clerk_inner(state, headers, body)
        .await
        .map_err(|e| rejected(Source::Clerk, e))
}

async fn clerk_inner(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let secret = state
        .config
        .clerk_webhook_secret
        .clone()
        .ok_or(ApiError::NotConfigured {
            what: "CLERK_WEBHOOK_SECRET",
        })?;
    let key = verify::svix_key(secret.expose()).ok_or(ApiError::NotConfigured {
        what: "a valid CLERK_WEBHOOK_SECRET (whsec_<base64>)",
    })?;
    let body = body_or_error(body)?;
    let msg_id = verify::verify_svix(&headers, &body, &key, now_unix())
        .map_err(|r| ApiError::unauthorized(r.to_string()))?;
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let delivery = Delivery {
        source: Source::Clerk,
        delivery_id: msg_id,
        event_type: parsed
            .as_ref()
            .and_then(|v| v.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string),
        headers: inbox::safe_headers(&headers),
        payload: body,
    };
    let ingested = inbox::ingest(&state, &delivery).await?;
    Ok(respond(&delivery, &ingested))
}

pub(super) async fn qstash_webhook(
    state: State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    route: qstash::Route,
) -> Result<Response, ApiError> {
    qstash_inner(state, headers, body, route)
        .await
        .map_err(|e| rejected(Source::Qstash, e))
}

async fn qstash_inner(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    route: qstash::Route,
) -> Result<Response, ApiError> {
    let keys: Vec<String> = [
        &state.config.qstash_current_signing_key,
        &state.config.qstash_next_signing_key,
    ]
    .into_iter()
    .flatten()
    .map(|k| k.expose().to_string())
    .collect();
    if keys.is_empty() {
        return Err(ApiError::NotConfigured {
            what: "QSTASH_CURRENT_SIGNING_KEY / QSTASH_NEXT_SIGNING_KEY",
        });
    }
    let body = body_or_error(body)?;
    let token = headers
        .get("upstash-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::unauthorized(
                verify::Rejection::MissingHeader("upstash-signature").to_string(),
            )
        })?;
    let expected_sub = state
        .config
        .public_base_url
        .as_ref()
        .map(|base| format!("{base}{}", route.path()));
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let claims =
        verify::verify_qstash(token, &body, &key_refs, expected_sub.as_deref(), now_unix())
            .map_err(|r| ApiError::unauthorized(r.to_string()))?;
    let delivery_id = headers
        .get("upstash-message-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(claims.jti)
        .unwrap_or_else(|| verify::sha256_hex(&body));
    let delivery = Delivery {
        source: Source::Qstash,
        delivery_id,
        event_type: Some(route.name().to_string()),
        headers: inbox::safe_headers(&headers),
        payload: body,
    };
    let ingested = inbox::ingest(&state, &delivery).await?;
    Ok(respond(&delivery, &ingested))
}

/// Counts a rejection (by its reason) and passes the error through.
fn rejected(source: Source, e: ApiError) -> ApiError {
    let reason = match &e {
        ApiError::Unauthorized { reason } => reason.clone(),
        ApiError::NotConfigured { .. } => "not configured".into(),
        ApiError::PayloadTooLarge { .. } => "payload too large".into(),
        ApiError::Unavailable { .. } => "unavailable".into(),
        other => other.status().as_str().to_string(),
    };
    crate::metrics::webhook_rejected(source.as_str(), &reason);
    e
}
