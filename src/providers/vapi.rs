//! VAPI create-call client (`POST {VAPI_BASE_URL}/call`, docs/behaviour.md#dispatch-call).
//!
//! VAPI documents no idempotency key for `POST /call`, so the outcome separates "the call was
//! certainly not placed" (safe to retry: 429, 503 with `Retry-After`, connect failure) from
//! "we cannot know" (timeout after sending, other 5xx): the caller must never retry the latter.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::config::Secret;

#[derive(Clone, Debug)]
pub struct VapiClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<Secret>,
}

/// A call VAPI accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedCall {
    pub id: String,
    /// VAPI's status (`queued`, `scheduled`, `ringing`, ...), as returned.
    pub status: Option<String>,
    pub started_at: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VapiError {
    #[error("VAPI_API_KEY is not configured")]
    NotConfigured,
    /// The request never reached VAPI (DNS, refused, connect timeout): no call was placed.
    #[error("could not connect to VAPI: {0}")]
    Connect(String),
    /// 429, or 503 with `Retry-After`: VAPI refused before placing a call.
    #[error("VAPI asked us to retry later (HTTP {status})")]
    RetryLater {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Timeout after sending, a 5xx, or a 2xx we cannot read: the call may or may not exist.
    #[error("VAPI outcome unknown: {0}")]
    Ambiguous(String),
    /// 4xx: the request was refused (bad number, unknown assistant, ...). Nothing was placed.
    #[error("VAPI rejected the call (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl VapiError {
    /// True when no call can have been placed, so sending again is safe.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Connect(_) | Self::RetryLater { .. })
    }
}

#[derive(Deserialize)]
struct CallResponse {
    id: String,
    status: Option<String>,
    #[serde(rename = "startedAt")]
    started_at: Option<String>,
}

impl VapiClient {
    pub fn new(
        base_url: &str,
        api_key: Option<Secret>,
        timeout: Duration,
    ) -> Result<Self, VapiError> {
        Ok(Self {
            http: super::http_client(timeout).map_err(|e| VapiError::Client(e.to_string()))?,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
        })
    }

    /// `POST /call` with `body` (a `CreateCallDTO`).
    pub async fn create_call(&self, body: &Value) -> Result<CreatedCall, VapiError> {
        let key = self.api_key.as_ref().ok_or(VapiError::NotConfigured)?;
        let resp = self
            .http
            .post(format!("{}/call", self.base_url))
            .bearer_auth(key.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| {
                crate::metrics::provider_request(
                    "vapi",
                    if e.is_connect() {
                        "connect_error"
                    } else {
                        "error"
                    },
                );
                // A connect error (including a connect timeout) means nothing reached VAPI.
                if e.is_connect() {
                    VapiError::Connect(e.to_string())
                } else {
                    VapiError::Ambiguous(format!("request failed after sending: {e}"))
                }
            })?;
        let status = resp.status();
        crate::metrics::provider_request("vapi", status.as_str());
        let retry_after = super::retry_after(resp.headers());
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) if status.is_success() => {
                return Err(VapiError::Ambiguous(format!(
                    "HTTP {status} but the body could not be read: {e}"
                )))
            }
            Err(_) => String::new(),
        };
        if status.is_success() {
            return serde_json::from_str::<CallResponse>(&text)
                .map(|r| CreatedCall {
                    id: r.id,
                    status: r.status,
                    started_at: r.started_at,
                })
                .map_err(|e| {
                    VapiError::Ambiguous(format!("HTTP {status} with an unreadable body: {e}"))
                });
        }
        let code = status.as_u16();
        if code == 429 || (code == 503 && retry_after.is_some()) {
            return Err(VapiError::RetryLater {
                status: code,
                retry_after,
            });
        }
        if status.is_server_error() {
            return Err(VapiError::Ambiguous(format!(
                "HTTP {code}: {}",
                super::snippet(&text)
            )));
        }
        Err(VapiError::Rejected {
            status: code,
            message: error_message(&text),
        })
    }
}

/// VAPI's NestJS error body: `{"message": string | [string], "error": ..., "statusCode": ...}`.
fn error_message(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => match v.get("message") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            _ => super::snippet(body),
        },
        Err(_) => super::snippet(body),
    }
}
