//! The webhook routes: for each sender, the order of `webhooks/mod.rs` (secret configured,
//! signature, inbox, processing) turning its request into a [`Delivery`]
//! (`docs/behaviour.md#verification`, `docs/behaviour.md#inbox`).
//!
//! May import: `config`, `metrics`, `error`, `state`, `webhooks`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::inbox::{self, Delivery, IngestResult, Processed, Source};
use super::ingress::{declared_length, read_body};
use super::response::respond;
use super::{qstash, vapi, verify};
use crate::error::ApiError;
use crate::state::AppState;

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A failed check as the HTTP answer: an empty delivery id is a bad request (the sender's
/// bug, answered 400 naming the header), everything else a 401 naming the check.
fn refused(r: verify::Rejection) -> ApiError {
    match r {
        verify::Rejection::EmptyHeader(field) => ApiError::bad_field(field, "must not be empty"),
        other => ApiError::unauthorized(other.to_string()),
    }
}

pub(super) async fn vapi_webhook(
    state: State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    vapi_inner(state, headers, body)
        .await
        .map_err(|e| rejected(Source::Vapi, e))
}

async fn vapi_inner(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let secret = state
        .config
        .vapi_webhook_secret
        .clone()
        .ok_or(ApiError::NotConfigured {
            what: "VAPI_WEBHOOK_SECRET",
        })?;
    // Before the body (`docs/behaviour.md#ingress-limits`): size, then the credential.
    declared_length(&headers)?;
    verify::vapi_precheck(&headers, secret.expose(), now_unix()).map_err(refused)?;
    let read = read_body(&state, &headers, body).await?;
    let body = read.bytes.clone();
    verify::verify_vapi(&headers, &body, secret.expose(), now_unix()).map_err(refused)?;
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let vapi_call_id = parsed.as_ref().and_then(vapi::call_id).map(str::to_string);
    if let Some(call_id) = &vapi_call_id {
        tracing::Span::current().record("vapi_call_id", call_id.as_str());
    }
    let delivery = Delivery {
        source: Source::Vapi,
        delivery_id: verify::sha256_hex(&body),
        event_type: parsed
            .as_ref()
            .and_then(vapi::message_type)
            .map(str::to_string),
        vapi_call_id,
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
    // A message processing would only mark `skipped` is stored with that outcome at once
    // (one commit instead of two, `docs/behaviour.md#inbox`).
    let settled = parsed.as_ref().and_then(vapi::settled_outcome);
    let ingest = async {
        match settled {
            Some(outcome) => inbox::ingest_settled(&state, &delivery, outcome).await,
            None => inbox::ingest(&state, &delivery).await,
        }
    };
    let (ingested, answer) = tokio::join!(ingest, answer);
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
    body: Body,
) -> Result<Response, ApiError> {
    clerk_inner(state, headers, body)
        .await
        .map_err(|e| rejected(Source::Clerk, e))
}

async fn clerk_inner(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
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
    declared_length(&headers)?;
    verify::svix_precheck(&headers, now_unix()).map_err(refused)?;
    let read = read_body(&state, &headers, body).await?;
    let body = read.bytes.clone();
    let msg_id = verify::verify_svix(&headers, &body, &key, now_unix()).map_err(refused)?;
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let delivery = Delivery {
        source: Source::Clerk,
        delivery_id: msg_id,
        event_type: parsed
            .as_ref()
            .and_then(|v| v.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string),
        vapi_call_id: None,
        headers: inbox::safe_headers(&headers),
        payload: body,
    };
    let ingested = inbox::ingest(&state, &delivery).await?;
    Ok(respond(&delivery, &ingested))
}

pub(super) async fn qstash_webhook(
    state: State<AppState>,
    headers: HeaderMap,
    body: Body,
    route: qstash::Route,
) -> Result<Response, ApiError> {
    qstash_inner(state, headers, body, route)
        .await
        .map_err(|e| rejected(Source::Qstash, e))
}

async fn qstash_inner(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
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
    declared_length(&headers)?;
    let token = headers
        .get("upstash-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refused(verify::Rejection::MissingHeader("upstash-signature")))?;
    let expected_sub = state
        .config
        .public_base_url
        .as_ref()
        .map(|base| format!("{base}{}", route.path()));
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    // The token's signature does not cover the body: all of it is checked before the body is
    // read, the body hash after (`docs/behaviour.md#ingress-limits`).
    let claims = verify::verify_qstash_token(token, &key_refs, expected_sub.as_deref(), now_unix())
        .map_err(refused)?;
    let read = read_body(&state, &headers, body).await?;
    let body = read.bytes.clone();
    verify::check_qstash_body(&claims, &body).map_err(refused)?;
    let delivery_id = qstash::delivery_id(route, claims.jti.as_deref(), &body);
    let delivery = Delivery {
        source: Source::Qstash,
        delivery_id,
        event_type: Some(route.name().to_string()),
        vapi_call_id: None,
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
        ApiError::Busy { .. } => "busy".into(),
        ApiError::BodyTimeout => "body timeout".into(),
        ApiError::Unavailable { .. } => "unavailable".into(),
        other => other.status().as_str().to_string(),
    };
    crate::metrics::webhook_rejected(source.as_str(), &reason);
    e
}
