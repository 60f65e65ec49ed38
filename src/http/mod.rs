//! The HTTP surface: one router built by a pure function of [`AppState`], used by `serve`, by
//! in-process tests (`tower::ServiceExt::oneshot`) and by real-socket tests alike.
//!
//! May import: anything but `app` and `bench` (it is the top of the request side).

pub mod health;
pub mod metrics;
pub mod ops;
pub mod server;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::MAX_BODY_BYTES;
pub use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Upper bound on one request; also bounds how long graceful shutdown waits for in-flight work.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(ops::router(&state))
        .merge(crate::webhooks::router())
        .route("/metrics", axum::routing::get(metrics::render))
        // Router::layer runs after routing, so the middleware sees the MatchedPath.
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
        // Layers wrap inside-out: the request id must be set before TraceLayer opens the span
        // that records it, and propagated on the way out.
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                        let request_id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        // Webhook handlers fill the empty fields once known, so every log line
                        // of a delivery carries its ids.
                        tracing::info_span!(
                            "http_request",
                            method = %req.method(),
                            path = %req.uri().path(),
                            request_id = %request_id,
                            delivery_id = tracing::field::Empty,
                            event_id = tracing::field::Empty,
                            vapi_call_id = tracing::field::Empty,
                            clinic_id = tracing::field::Empty,
                        )
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                )),
        )
        // Outermost: every error answered below (no route, wrong method, timeout) gets a body.
        .layer(axum::middleware::from_fn(json_errors))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Error answers made below the handlers (the router's 404 and 405, the timeout's 408) have an
/// empty body: give them the JSON body every other error has (`docs/behaviour.md#ingress-limits`).
async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let failed = status.is_client_error() || status.is_server_error();
    let empty = axum::body::HttpBody::size_hint(response.body()).exact() == Some(0);
    if !failed || !empty || response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    (parts, axum::Json(crate::error::status_body(status))).into_response()
}
