//! Recorded deliveries (`fixtures/**.json`) and how they become inbox deliveries.
//!
//! File format (one delivery per file):
//! ```json
//! {
//!   "description": "what this delivery is",
//!   "source": "vapi" | "clerk" | "qstash",
//!   "route": "/webhooks/vapi",                      // the route it was sent to
//!   "headers": {"svix-id": "msg_...", ...},          // as recorded, credentials removed
//!   "body": { ... }                                  // the JSON body, or:
//!   "raw_body": "...",                               // the body as an exact string
//!   "origin": { ... },                               // optional: where a published body comes from
//!   "signing": { ... },                              // optional: how tests sign it (fixtures/README.md)
//!   "expect": {"http": 200, "status": "processed"}  // optional: the expected outcome
//! }
//! ```
//! `expect.status` is the inbox status the delivery ends in (a replay of a file with an `expect`
//! reports any difference); `expect.http` and `expect.answer` (a subset of the synchronous
//! answer) are checked by the tests that send the file through the signed route.
//! With `body`, the raw bytes are its compact JSON serialization; with `raw_body`, the string's
//! bytes exactly. Tests sign those bytes; `odis-worker replay` pushes them through the same
//! pipeline as the HTTP routes without signatures (the operator is trusted), honouring dedupe:
//! the delivery id is `svix-id` (Clerk), `upstash-message-id` (QStash), SHA-256 of the body (VAPI).
//!
//! May import: `webhooks` (inbox, qstash routes, vapi message type, verify).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::inbox::{Delivery, Source};
use super::qstash::Route;
use super::{vapi, verify};

#[derive(Debug, Clone, Deserialize)]
pub struct Fixture {
    #[serde(default)]
    pub description: String,
    pub source: String,
    #[serde(default)]
    pub route: Option<String>,
    #[serde(default)]
    pub headers: serde_json::Map<String, Value>,
    /// `"body": null` is a body (`null`), not a missing one.
    #[serde(default, deserialize_with = "present")]
    pub body: Option<Value>,
    #[serde(default)]
    pub raw_body: Option<String>,
    #[serde(default)]
    pub origin: Option<Value>,
    #[serde(default)]
    pub signing: Option<Value>,
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// The outcome a recorded delivery must have (`fixtures/real/`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Expect {
    /// HTTP status of the signed route.
    pub http: u16,
    /// Inbox status the delivery ends in; absent when it is refused before the inbox.
    #[serde(default)]
    pub status: Option<String>,
    /// A subset the route's JSON answer must contain.
    #[serde(default)]
    pub answer: Option<Value>,
    /// Why this is the right outcome.
    #[serde(default)]
    pub why: Option<String>,
}

/// A field that is present, whatever its value (serde reads a `null` `Option` as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl Fixture {
    pub fn load(path: &Path) -> Result<Self, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| FixtureError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// The exact bytes that were (or would be) sent.
    pub fn raw_body(&self) -> Bytes {
        match (&self.raw_body, &self.body) {
            (Some(raw), _) => Bytes::from(raw.clone().into_bytes()),
            (None, Some(v)) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            (None, None) => Bytes::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }

    /// The QStash route this fixture targets (from `route`).
    pub fn qstash_route(&self) -> Option<Route> {
        let route = self.route.as_deref()?;
        Route::parse(route.rsplit('/').next()?)
    }

    /// The inbox delivery this fixture replays as.
    pub fn to_delivery(&self, path: &Path) -> Result<Delivery, FixtureError> {
        let invalid = |message: String| FixtureError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let source = Source::parse(&self.source)
            .ok_or_else(|| invalid(format!("unknown source {:?}", self.source)))?;
        let payload = self.raw_body();
        let parsed: Option<Value> = serde_json::from_slice(&payload).ok();
        let (delivery_id, event_type) = match source {
            Source::Vapi => (
                verify::sha256_hex(&payload),
                parsed
                    .as_ref()
                    .and_then(vapi::message_type)
                    .map(str::to_string),
            ),
            Source::Clerk => (
                self.header("svix-id")
                    .or_else(|| self.header("webhook-id"))
                    .ok_or_else(|| invalid("clerk fixture without svix-id header".into()))?
                    .to_string(),
                parsed
                    .as_ref()
                    .and_then(|v| v.get("type"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
            Source::Qstash => {
                let route = self.qstash_route().ok_or_else(|| {
                    invalid("qstash fixture needs route /webhooks/qstash/<name>".into())
                })?;
                let jti = self
                    .header("upstash-signature")
                    .and_then(verify::qstash_claims_unverified)
                    .and_then(|claims| claims.jti);
                (
                    super::qstash::delivery_id(route, jti.as_deref(), &payload),
                    Some(route.name().to_string()),
                )
            }
        };
        let vapi_call_id = match source {
            Source::Vapi => parsed.as_ref().and_then(vapi::call_id).map(str::to_string),
            _ => None,
        };
        Ok(Delivery {
            source,
            delivery_id,
            event_type,
            vapi_call_id,
            headers: Value::Object(self.headers.clone()),
            payload,
        })
    }
}

/// Every `*.json` file under the given files/directories, sorted by path (so a directory replays
/// in a stable, documented order: name files `01-…`, `02-…` where order matters).
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FixtureError> {
    let mut out = Vec::new();
    for p in paths {
        collect_into(p, &mut out)?;
    }
    out.sort();
    Ok(out)
}

fn collect_into(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), FixtureError> {
    let io = |source| FixtureError::Io {
        path: p.display().to_string(),
        source,
    };
    if p.is_dir() {
        for entry in std::fs::read_dir(p).map_err(io)? {
            let entry = entry.map_err(io)?;
            collect_into(&entry.path(), out)?;
        }
    } else if p.extension().and_then(|e| e.to_str()) == Some("json") {
        out.push(p.to_path_buf());
    } else if !p.exists() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file or directory",
        )));
    }
    Ok(())
}
