//! Slack Web API client: `chat.postMessage` with a workspace's bot token
//! (`POST {SLACK_API_BASE_URL}/chat.postMessage`, `docs/behaviour.md#vapi-tools-alerts`).
//! Slack answers HTTP 200 with `{"ok": false, "error": ...}` for most failures, so the body
//! decides; `ratelimited` (HTTP 429) and 5xx are transient.

use std::time::Duration;

use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub struct SlackClient {
    http: reqwest::Client,
    base_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// Worth another attempt (connection, 5xx, 429 with its `Retry-After`).
    #[error("Slack failed transiently: {message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Slack refused the message (`channel_not_found`, `invalid_auth`, `not_in_channel`, ...).
    #[error("Slack rejected the message: {0}")]
    Rejected(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl SlackClient {
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, SlackError> {
        Ok(Self {
            http: super::http_client(timeout).map_err(|e| SlackError::Client(e.to_string()))?,
            base_url: base_url.trim_end_matches('/').to_string(),
        })
    }

    /// Posts `text` (with optional Block Kit `blocks`) to `channel`; returns the message `ts`.
    pub async fn post_message(
        &self,
        token: &str,
        channel: &str,
        text: &str,
        blocks: Option<&Value>,
    ) -> Result<String, SlackError> {
        let mut body = json!({"channel": channel, "text": text, "unfurl_links": false});
        if let Some(b) = blocks {
            body["blocks"] = b.clone();
        }
        let resp = self
            .http
            .post(format!("{}/chat.postMessage", self.base_url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                crate::metrics::provider_request("slack", "error");
                SlackError::Transient {
                    message: format!("request failed: {e}"),
                    retry_after: None,
                }
            })?;
        let status = resp.status();
        crate::metrics::provider_request("slack", status.as_str());
        let retry_after = super::retry_after(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(SlackError::Transient {
                message: format!("HTTP {status}: {}", super::snippet(&text)),
                retry_after,
            });
        }
        let v: Value = serde_json::from_str(&text).map_err(|_| SlackError::Transient {
            message: format!(
                "HTTP {status} with an unreadable body: {}",
                super::snippet(&text)
            ),
            retry_after: None,
        })?;
        if v.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(v
                .get("ts")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string());
        }
        let error = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error");
        if matches!(
            error,
            "ratelimited"
                | "internal_error"
                | "fatal_error"
                | "service_unavailable"
                | "request_timeout"
        ) {
            return Err(SlackError::Transient {
                message: error.to_string(),
                retry_after,
            });
        }
        Err(SlackError::Rejected(error.to_string()))
    }
}
