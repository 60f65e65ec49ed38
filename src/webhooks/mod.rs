//! Webhook ingress: VAPI server messages, Clerk (via Svix) and QStash deliveries.
//!
//! Every route follows the same order, and the order is the contract:
//! 1. the secret must be configured (else 503: never accept unverified);
//! 2. what the headers alone can tell is checked before the body is read, and the body is read
//!    within the process's body budget ([`ingress`], `docs/behaviour.md#ingress-limits`);
//! 3. the raw body is verified exactly as received (else 401 naming the failed check, nothing written);
//! 4. the delivery is stored in the inbox (`webhook_events`; database down → 503 so the sender retries);
//! 5. it is processed in the same request; a malformed body is kept as `invalid` and answered 400
//!    naming the field; a processing failure is kept as `failed`, answered 2xx, and retried by the worker
//!    (`docs/behaviour.md#inbox`).
//!
//! [`routes`] turns each sender's request into a [`inbox::Delivery`]; [`response`] answers it.
//!
//! May import: `domain`, `config`, `metrics`, `error`, `db`, `state`.

pub mod clerk;
pub mod fixtures;
pub mod inbox;
mod ingress;
mod labels;
pub mod qstash;
mod response;
mod routes;
pub mod vapi;
pub mod verify;

pub use response::respond;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;

use crate::state::AppState;
use routes::{clerk_webhook, qstash_webhook, vapi_webhook};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/vapi", post(vapi_webhook))
        .route("/webhooks/clerk", post(clerk_webhook))
        .route(
            "/webhooks/qstash/execute-call",
            post(|s: State<AppState>, h: HeaderMap, b: Body| {
                qstash_webhook(s, h, b, qstash::Route::ExecuteCall)
            }),
        )
        .route(
            "/webhooks/qstash/execute-email",
            post(|s: State<AppState>, h: HeaderMap, b: Body| {
                qstash_webhook(s, h, b, qstash::Route::ExecuteEmail)
            }),
        )
        .route(
            "/webhooks/qstash/auto-schedule",
            post(|s: State<AppState>, h: HeaderMap, b: Body| {
                qstash_webhook(s, h, b, qstash::Route::AutoSchedule)
            }),
        )
}
