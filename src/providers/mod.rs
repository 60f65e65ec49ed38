//! HTTP clients for the outside services the jobs talk to. Each returns a typed outcome that
//! says whether a retry is safe, because that decision differs per provider (a repeated VAPI
//! `POST /call` can place a second real phone call; a repeated Resend send with the same
//! `Idempotency-Key` cannot send a second email).
//!
//! Slack carries staff alerts.
//!
//! Owns the provider wire protocols; may import `config`, `domain`, `metrics`, `error` (never `db` rows or jobs).

pub mod resend;
pub mod slack;
pub mod vapi;

use std::time::Duration;

use reqwest::header::HeaderMap;

/// Default time allowed for one provider request (connect + send + answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Connecting is bounded separately and tightly: a connect failure means the request never
/// left us, which is always safe to retry.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest `Retry-After` we honour; anything longer is capped at 60 s (docs/behaviour.md#backoff).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// `Retry-After` as seconds (the HTTP-date form is rare for these APIs and treated as absent).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .user_agent(concat!("odis-worker/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The first 500 characters of a response body, for error messages stored on rows.
pub(crate) fn snippet(body: &str) -> String {
    body.chars().take(500).collect()
}
