//! Resend send-email client (`POST {RESEND_BASE_URL}/emails`, docs/behaviour.md#dispatch-email).
//!
//! Every send carries an `Idempotency-Key`, so a retry after a timeout or 5xx cannot send the
//! email twice (Resend keeps keys for 24 h); that is why, unlike VAPI, those are retryable.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Secret;

#[derive(Clone, Debug)]
pub struct ResendClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<Secret>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SendEmail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error("RESEND_API_KEY is not configured")]
    NotConfigured,
    /// Safe to send again with the same key: connect/timeout failures, 5xx, 429
    /// `rate_limit_exceeded`, 409 `concurrent_idempotent_requests`.
    #[error("Resend failed transiently: {message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Will not succeed by waiting (validation, auth, quota, idempotency conflict).
    #[error("Resend rejected the email (HTTP {status} {name}): {message}")]
    Rejected {
        status: u16,
        name: String,
        message: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

#[derive(Deserialize)]
struct SendResponse {
    id: String,
}

impl ResendClient {
    pub fn new(
        base_url: &str,
        api_key: Option<Secret>,
        timeout: Duration,
    ) -> Result<Self, ResendError> {
        Ok(Self {
            http: super::http_client(timeout).map_err(|e| ResendError::Client(e.to_string()))?,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
        })
    }

    /// Sends `email`; returns Resend's email id.
    pub async fn send(
        &self,
        email: &SendEmail,
        idempotency_key: &str,
    ) -> Result<String, ResendError> {
        let key = self.api_key.as_ref().ok_or(ResendError::NotConfigured)?;
        let resp = self
            .http
            .post(format!("{}/emails", self.base_url))
            .bearer_auth(key.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(email)
            .send()
            .await
            .map_err(|e| {
                crate::metrics::provider_request("resend", "error");
                ResendError::Transient {
                    message: format!("request failed: {e}"),
                    retry_after: None,
                }
            })?;
        let status = resp.status();
        crate::metrics::provider_request("resend", status.as_str());
        let retry_after = super::retry_after(resp.headers());
        let text = resp.text().await.map_err(|e| ResendError::Transient {
            message: format!("HTTP {status} but the body could not be read: {e}"),
            retry_after: None,
        })?;
        if status.is_success() {
            return serde_json::from_str::<SendResponse>(&text)
                .map(|r| r.id)
                .map_err(|e| ResendError::Transient {
                    message: format!("HTTP {status} with an unreadable body: {e}"),
                    retry_after: None,
                });
        }
        let (name, message) = match serde_json::from_str::<Value>(&text) {
            Ok(v) => (
                v.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                v.get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| super::snippet(&text)),
            ),
            Err(_) => (String::new(), super::snippet(&text)),
        };
        let code = status.as_u16();
        let transient = status.is_server_error()
            || (code == 429 && !name.ends_with("_quota_exceeded"))
            || (code == 409 && name == "concurrent_idempotent_requests");
        if transient {
            return Err(ResendError::Transient {
                message: format!("HTTP {code} {name}: {message}"),
                retry_after,
            });
        }
        Err(ResendError::Rejected {
            status: code,
            name,
            message,
        })
    }
}
