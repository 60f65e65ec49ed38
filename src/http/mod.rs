//! The HTTP surface: one router built by a pure function of [`AppState`], used by `serve`, by
//! in-process tests (`tower::ServiceExt::oneshot`) and by real-socket tests alike.
//!
//! May import: anything but `app` and `bench` (it is the top of the request side).

pub mod health;
pub mod metrics;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
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
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
