//! The operator console at `/ops` (`docs/behaviour.md#ops-console`): server-rendered pages of
//! the inbox, the queue, the periodic jobs, auto-scheduling runs, discharge batches and outbound
//! traffic, with the few actions an operator needs (replay, retry/discard a dead job, run a
//! periodic job now, cancel a batch).
//!
//! * `auth`: `OPS_TOKEN` → login form → signed session cookie, or `Authorization: Bearer`;
//!   a throttle on wrong tokens; CSRF tokens on every POST;
//! * `view`: the templates (minijinja, autoescaped) and value formatting (masking);
//! * `inbox`, `pages`: the handlers. Every read and write goes through `db::*`, replays through
//!   `webhooks::inbox::process` / the `ReprocessWebhook` job, like `odis-worker replay`.

mod auth;
mod inbox;
mod pages;
mod view;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::error::ApiError;
use crate::state::AppState;

/// A URL-encoded query string of `pairs` (empty values skipped), for the console's links and
/// redirects: one place that encodes, built on the URL parser's form encoder.
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    let Ok(mut url) = reqwest::Url::parse("http://ops.invalid/") else {
        return String::new();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs.iter().filter(|(_, v)| !v.trim().is_empty()) {
            q.append_pair(k, v.trim());
        }
    }
    url.query().unwrap_or("").to_string()
}

/// The version of the vendored `static/htmx.min.js` (see `static/README.md`).
pub const HTMX_VERSION: &str = "2.0.11";
const HTMX_JS: &[u8] = include_bytes!("static/htmx.min.js");
const OPS_CSS: &[u8] = include_bytes!("static/ops.css");

/// The `/ops` routes: without `OPS_TOKEN` every one answers 503 (never an open console).
pub fn router(state: &AppState) -> Router<AppState> {
    let Some(token) = state.config.ops_token.clone() else {
        let off = || async { ApiError::NotConfigured { what: "OPS_TOKEN" } };
        return Router::new()
            .route("/ops", axum::routing::any(off))
            .route("/ops/{*rest}", axum::routing::any(off));
    };
    let rt = Arc::new(auth::Runtime::new(&token));
    let protected = Router::new()
        .route(
            "/ops",
            get(|| async { axum::response::Redirect::to("/ops/inbox") }),
        )
        .route("/ops/inbox", get(inbox::list))
        .route(
            "/ops/inbox/replay",
            get(inbox::confirm_replay_all).post(inbox::replay_all),
        )
        .route("/ops/inbox/{id}", get(inbox::event))
        .route("/ops/inbox/{id}/replay", post(inbox::replay_one))
        .route("/ops/queue", get(pages::queue))
        .route("/ops/queue/{id}/retry", post(pages::retry_job))
        .route("/ops/queue/{id}/discard", post(pages::discard_job))
        .route("/ops/periodic", get(pages::periodic))
        .route("/ops/periodic/{name}/run", post(pages::run_periodic))
        .route("/ops/runs", get(pages::runs))
        .route("/ops/batches", get(pages::batches))
        .route("/ops/batches/{id}/cancel", post(pages::cancel_batch))
        .route("/ops/outbound", get(pages::outbound))
        .route("/ops/live", get(pages::live))
        .route("/ops/logout", post(auth::logout))
        .layer(axum::middleware::from_fn(auth::guard));
    Router::new()
        .route("/ops/login", get(auth::login_form).post(auth::login))
        .route("/ops/static/htmx.min.js", get(htmx))
        .route("/ops/static/ops.css", get(css))
        .merge(protected)
        .layer(Extension(rt))
}

async fn htmx() -> Response {
    static_file("text/javascript; charset=utf-8", HTMX_JS)
}

async fn css() -> Response {
    static_file("text/css; charset=utf-8", OPS_CSS)
}

fn static_file(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
        .into_response()
}

/// What a console handler can fail with; answered as a small HTML page.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("not found")]
    NotFound,
    #[error("{field}: {message}")]
    BadRequest {
        field: &'static str,
        message: String,
    },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for OpsError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Db(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "ops console request failed");
        }
        view::error_page(status, &self.to_string())
    }
}
