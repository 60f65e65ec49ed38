//! What every webhook route does before and while it reads a body
//! (`docs/behaviour.md#ingress-limits`): a declared `Content-Length` over the limit is a 413 at
//! once; the body is read only within the process's body budget (else 503 + `Retry-After`) and
//! within the body-read timeout (`config::BODY_READ_TIMEOUT`, else 408). The budget permit lives as long as the bytes do.
//!
//! May import: `config`, `error`, `state`.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::OwnedSemaphorePermit;

use crate::config::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::state::AppState;

/// Seconds a sender is told to wait when the body budget is exhausted.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// A body read within the budget; the budget is given back when this is dropped.
pub struct ReadBody {
    pub bytes: Bytes,
    _permit: OwnedSemaphorePermit,
}

/// The declared body length; over [`MAX_BODY_BYTES`] → 413 before anything is read.
pub fn declared_length(headers: &HeaderMap) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    let length: u64 = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ApiError::bad_field("content-length", "not a number"))?;
    match usize::try_from(length) {
        Ok(n) if n <= MAX_BODY_BYTES => Ok(Some(n)),
        _ => Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }),
    }
}

/// Reads the body within the budget and the timeout. A body of unknown size (chunked) reserves
/// the maximum, since its size is unknown until the end.
pub async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<ReadBody, ApiError> {
    // The exact size when the body knows it (a `Content-Length` request), else the maximum.
    let declared = declared_length(headers)?;
    let exact = axum::body::HttpBody::size_hint(&body).exact();
    let known = exact.and_then(|n| usize::try_from(n).ok()).or(declared);
    let reserve = known.unwrap_or(MAX_BODY_BYTES).clamp(1, MAX_BODY_BYTES);
    let permits = u32::try_from(reserve).unwrap_or(u32::MAX);
    let permit = state
        .body_budget
        .clone()
        .try_acquire_many_owned(permits)
        .map_err(|_| ApiError::Busy {
            reason: "too many request bodies are being received; retry later",
            retry_after_secs: BUSY_RETRY_AFTER_SECS,
        })?;
    let collected = tokio::time::timeout(
        state.body_read_timeout,
        Limited::new(body, MAX_BODY_BYTES).collect(),
    )
    .await
    .map_err(|_| ApiError::BodyTimeout)?;
    match collected {
        Ok(c) => Ok(ReadBody {
            bytes: c.to_bytes(),
            _permit: permit,
        }),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            })
        }
        Err(e) => Err(ApiError::bad_field("body", format!("cannot be read: {e}"))),
    }
}
