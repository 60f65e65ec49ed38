//! Webhook ingress: VAPI server messages, Clerk (via Svix) and QStash deliveries.
//!
//! Every route follows the same order, and the order is the contract:
//! 1. the secret must be configured (else 503: never accept unverified);
//! 2. the raw body is verified exactly as received (else 401 naming the failed check, nothing written);
//! 3. the delivery is stored in the inbox (`webhook_events`; database down → 503 so the sender retries);
//! 4. it is processed in the same request; a malformed body is kept as `invalid` and answered 400
//!    naming the field; a processing failure is kept as `failed`, answered 2xx, and retried by the worker.

pub mod clerk;
pub mod fixtures;
pub mod inbox;
pub mod qstash;
pub mod vapi;
pub mod verify;

use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::config::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::state::AppState;
use inbox::{Delivery, IngestResult, Ingested, Processed, Source};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/vapi", post(vapi_webhook))
        .route("/webhooks/clerk", post(clerk_webhook))
        .route(
            "/webhooks/qstash/execute-call",
            post(
                |s: State<AppState>, h: HeaderMap, b: Result<Bytes, BytesRejection>| {
                    qstash_webhook(s, h, b, qstash::Route::ExecuteCall)
                },
            ),
        )
        .route(
            "/webhooks/qstash/execute-email",
            post(
                |s: State<AppState>, h: HeaderMap, b: Result<Bytes, BytesRejection>| {
                    qstash_webhook(s, h, b, qstash::Route::ExecuteEmail)
                },
            ),
        )
        .route(
            "/webhooks/qstash/auto-schedule",
            post(
                |s: State<AppState>, h: HeaderMap, b: Result<Bytes, BytesRejection>| {
                    qstash_webhook(s, h, b, qstash::Route::AutoSchedule)
                },
            ),
        )
}

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

async fn vapi_webhook(
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
    let ingested = inbox::ingest(&state, &delivery).await?;
    // Messages VAPI waits on (tool-calls, assistant-request, transfer-destination-request) get
    // their answer whatever the inbox said: a redelivered tool call still needs its result.
    if let Some(answer) = match &parsed {
        Some(v) => vapi::respond(&state, v).await,
        None => None,
    } {
        if !matches!(
            ingested.result,
            IngestResult::Fresh(Processed::Invalid { .. })
        ) {
            return Ok((StatusCode::OK, Json(answer)).into_response());
        }
    }
    Ok(respond(&delivery, &ingested))
}

async fn clerk_webhook(
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

async fn qstash_webhook(
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

/// The HTTP answer for an ingested delivery (the same for every source).
pub fn respond(delivery: &Delivery, ingested: &Ingested) -> Response {
    let result = match &ingested.result {
        IngestResult::DuplicateOf(_) => "duplicate",
        IngestResult::Fresh(Processed::Done(o)) => o.status.as_str(),
        IngestResult::Fresh(Processed::Invalid { .. }) => "invalid",
        IngestResult::Fresh(_) => "failed",
    };
    crate::metrics::webhook(
        delivery.source.as_str(),
        delivery.event_type.as_deref(),
        result,
    );
    let id = ingested.event_id;
    match &ingested.result {
        IngestResult::DuplicateOf(status) => (
            StatusCode::OK,
            Json(json!({"status": "duplicate", "event_status": status, "event_id": id})),
        )
            .into_response(),
        IngestResult::Fresh(Processed::Done(outcome)) => (
            StatusCode::OK,
            Json(json!({"status": outcome.status, "event_id": id})),
        )
            .into_response(),
        IngestResult::Fresh(Processed::Invalid { field, message }) => (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "bad_request", "field": field, "reason": message, "event_id": id}),
            ),
        )
            .into_response(),
        // Stored and to be retried by the worker: the sender must not retry on its own.
        IngestResult::Fresh(Processed::Failed(_)) | IngestResult::Fresh(Processed::Busy) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "event_id": id})),
        )
            .into_response(),
        IngestResult::Fresh(Processed::NotFound) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "event_id": id})),
        )
            .into_response(),
    }
}
