//! The HTTP answer for an ingested delivery, the same for every sender
//! (`docs/behaviour.md#inbox`), and its metric.
//!
//! May import: `domain`, `metrics`, `webhooks::inbox`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::inbox::{Delivery, EventStatus, IngestResult, Ingested, Processed};

/// The HTTP answer for an ingested delivery (the same for every source).
pub fn respond(delivery: &Delivery, ingested: &Ingested) -> Response {
    let result = match &ingested.result {
        IngestResult::DuplicateOf(_) => "duplicate",
        IngestResult::Fresh(Processed::Done(o)) => o.status.as_str(),
        IngestResult::Fresh(Processed::Invalid { .. }) => EventStatus::Invalid.as_str(),
        IngestResult::Fresh(_) => EventStatus::Failed.as_str(),
    };
    crate::metrics::webhook(
        delivery.source.as_str(),
        super::labels::event_type(delivery.source, delivery.event_type.as_deref()),
        result,
    );
    let id = ingested.event_id;
    match &ingested.result {
        IngestResult::DuplicateOf(status) => (
            StatusCode::OK,
            Json(json!({"status": "duplicate", "event_status": status, "event_id": id})),
        )
            .into_response(),
        IngestResult::Fresh(Processed::Done(outcome)) => (
            StatusCode::OK,
            Json(json!({"status": outcome.status, "event_id": id})),
        )
            .into_response(),
        IngestResult::Fresh(Processed::Invalid { field, message }) => (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "bad_request", "field": field, "reason": message, "event_id": id}),
            ),
        )
            .into_response(),
        // Stored and to be retried by the worker: the sender must not retry on its own.
        IngestResult::Fresh(Processed::Failed(_)) | IngestResult::Fresh(Processed::Busy) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "event_id": id})),
        )
            .into_response(),
        IngestResult::Fresh(Processed::NotFound) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "event_id": id})),
        )
            .into_response(),
    }
}
