//! The durable inbox: every verified delivery is stored before anything else happens, then
//! processed in one transaction together with its status change.
//!
//! * `store` inserts with `ON CONFLICT (source, delivery_id) DO NOTHING`: a redelivery finds the
//!   existing row and has no second effect.
//! * `process` locks the event row (`FOR UPDATE SKIP LOCKED`, so two deliveries or a delivery and
//!   the retry job never process one event at once), runs the source's processor inside the same
//!   transaction, and records the outcome. If the processor fails, the transaction is rolled back
//!   (no half-written rows) and the event is marked `failed` with the error and a backoff for the
//!   retry job. A processor never panics the request, and a poison event cannot loop: attempts are
//!   counted and the retry backoff grows.
//!
//! May import: `domain`, `db`, `state`, and the processors under `webhooks`.

use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::db::webhook_events as events;
use crate::domain::backoff;
pub use crate::domain::status::EventStatus;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Vapi,
    Clerk,
    Qstash,
}

impl Source {
    pub const ALL: [Source; 3] = [Self::Vapi, Self::Clerk, Self::Qstash];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vapi => "vapi",
            Self::Clerk => "clerk",
            Self::Qstash => "qstash",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vapi" => Some(Self::Vapi),
            "clerk" => Some(Self::Clerk),
            "qstash" => Some(Self::Qstash),
            _ => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery about to be stored.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub source: Source,
    pub delivery_id: String,
    pub event_type: Option<String>,
    /// VAPI: the call the message is about (`message.call.id`), for operators' search.
    pub vapi_call_id: Option<String>,
    /// Request headers with credentials removed (see [`safe_headers`]).
    pub headers: serde_json::Value,
    pub payload: Bytes,
}

/// A stored delivery, as processors see it.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub id: Uuid,
    pub source: Source,
    pub delivery_id: String,
    pub event_type: Option<String>,
    pub headers: serde_json::Value,
    pub payload: Bytes,
    pub received_at: DateTime<Utc>,
    pub attempts: i32,
}

impl StoredEvent {
    /// The payload parsed as JSON, or the `Invalid` error naming the body. Every string is made
    /// storable (U+0000 removed), so no processor can write text that PostgreSQL refuses.
    pub fn json(&self) -> Result<serde_json::Value, ProcessError> {
        let mut v = serde_json::from_slice(&self.payload)
            .map_err(|e| ProcessError::invalid("body", format!("not valid JSON: {e}")))?;
        crate::domain::text::make_json_storable(&mut v);
        Ok(v)
    }
}

/// What a processor made of an event.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// `Processed`, `Skipped` or `Unmatched`.
    pub status: EventStatus,
    pub clinic_id: Option<Uuid>,
    /// Why it was skipped / unmatched (stored in `last_error` for operators).
    pub note: Option<String>,
}

impl Outcome {
    pub fn processed(clinic_id: Option<Uuid>) -> Self {
        Self {
            status: EventStatus::Processed,
            clinic_id,
            note: None,
        }
    }

    pub fn skipped(note: impl Into<String>) -> Self {
        Self {
            status: EventStatus::Skipped,
            clinic_id: None,
            note: Some(note.into()),
        }
    }

    /// The clinic the event concerns, for operators filtering the inbox.
    pub fn with_clinic(mut self, clinic_id: Uuid) -> Self {
        self.clinic_id = Some(clinic_id);
        self
    }

    pub fn unmatched(note: impl Into<String>) -> Self {
        Self {
            status: EventStatus::Unmatched,
            clinic_id: None,
            note: Some(note.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The payload is malformed: a 400 naming the field; the event is kept as `invalid`.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// A database error: rolled back, event `failed`, retried later.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Any other transient failure (e.g. the job queue), retried later.
    #[error("{0}")]
    Other(String),
}

impl ProcessError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Result of storing a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    New(Uuid),
    /// Already in the inbox (a redelivery), with its current status.
    Duplicate(Uuid, EventStatus),
}

/// Headers never stored: credentials and signatures.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "x-vapi-secret",
    "x-signature",
    "svix-signature",
    "webhook-signature",
    "upstash-signature",
    "proxy-authorization",
];

pub fn safe_headers(headers: &axum::http::HeaderMap) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        let name = name.as_str();
        if SECRET_HEADERS.contains(&name) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            map.insert(name.to_string(), serde_json::Value::String(v.to_string()));
        }
    }
    serde_json::Value::Object(map)
}

pub async fn store(pool: &PgPool, d: &Delivery) -> Result<Stored, sqlx::Error> {
    store_as(pool, d, None).await
}

/// [`store`], with the outcome already written when `settled` is given (one statement).
async fn store_as(
    pool: &PgPool,
    d: &Delivery,
    settled: Option<&Outcome>,
) -> Result<Stored, sqlx::Error> {
    // A sender-chosen type must not make the insert fail forever (a 503 loop on a verified
    // delivery).
    let event_type = d
        .event_type
        .as_deref()
        .map(|t| crate::domain::text::storable(t).into_owned());
    let new = events::NewEvent {
        source: d.source.as_str(),
        delivery_id: &d.delivery_id,
        event_type: event_type.as_deref(),
        vapi_call_id: d.vapi_call_id.as_deref(),
        headers: &d.headers,
        payload: d.payload.as_ref(),
    };
    let inserted = match settled {
        None => events::insert_new(pool, &new).await?,
        Some(o) => {
            events::insert_settled(pool, &new, o.status, o.clinic_id, o.note.as_deref()).await?
        }
    };
    if let Some(id) = inserted {
        return Ok(Stored::New(id));
    }
    let (id, status) = events::find_delivery(pool, d.source.as_str(), &d.delivery_id).await?;
    Ok(Stored::Duplicate(
        id,
        status.unwrap_or(EventStatus::Pending),
    ))
}

/// What `process` did.
#[derive(Clone, Debug, PartialEq)]
pub enum Processed {
    Done(Outcome),
    Invalid {
        field: String,
        message: String,
    },
    /// Processing failed and the event is `failed` (retried later).
    Failed(String),
    /// Another worker holds the event right now.
    Busy,
    NotFound,
}

/// Processing attempts after which a failing event is left `failed` for an operator instead of
/// being retried again (a poison event must not loop forever).
pub const MAX_ATTEMPTS: i32 = crate::domain::backoff::MAX_EVENT_ATTEMPTS;

/// Processes one stored event (first delivery, replay, or retry), in a span carrying its ids.
pub async fn process(state: &AppState, event_id: Uuid) -> Result<Processed, sqlx::Error> {
    let span = tracing::info_span!(
        "webhook_event",
        event_id = %event_id,
        source = tracing::field::Empty,
        delivery_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
        clinic_id = tracing::field::Empty,
    );
    tracing::Instrument::instrument(process_in_span(state, event_id), span).await
}

async fn process_in_span(state: &AppState, event_id: Uuid) -> Result<Processed, sqlx::Error> {
    let mut tx = state.pool.begin().await?;
    let Some(row) = events::lock_for_processing(&mut tx, event_id).await? else {
        drop(tx);
        return Ok(if events::exists(&state.pool, event_id).await? {
            Processed::Busy
        } else {
            Processed::NotFound
        });
    };
    let Some(event) = into_event(row) else {
        return Ok(Processed::NotFound);
    };
    let span = tracing::Span::current();
    span.record("source", event.source.as_str());
    span.record("delivery_id", event.delivery_id.as_str());
    span.record("event_type", event.event_type.as_deref().unwrap_or("-"));

    events::savepoint_processing(&mut tx).await?;
    let result = run_processor(&mut tx, &event).await;
    let finished = async {
        let outcome = record_outcome(&mut tx, &event, result).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(outcome)
    }
    .await;
    match finished {
        Ok(outcome) => Ok(outcome),
        Err(e) => count_unrecorded_attempt(state, &event, e).await,
    }
}

/// Storing the outcome failed and took the transaction with it: the attempt still counts, on a
/// connection of its own, so an event whose outcome cannot be stored reaches the attempt cap
/// instead of staying `pending` and looping (`docs/behaviour.md#inbox`). If even that fails
/// (the database is down), the original error goes back to the caller.
async fn count_unrecorded_attempt(
    state: &AppState,
    event: &StoredEvent,
    e: sqlx::Error,
) -> Result<Processed, sqlx::Error> {
    let error = format!("storing the outcome failed: {e}");
    let counted = async {
        let mut conn = state.pool.acquire().await?;
        events::mark_failed(
            &mut conn,
            event.id,
            &error,
            next_retry_at(event.attempts + 1),
        )
        .await
    }
    .await;
    match counted {
        Ok(()) => {
            tracing::warn!(event_id = %event.id, source = %event.source, error = %error, "webhook outcome not stored; attempt counted");
            Ok(Processed::Failed(error))
        }
        Err(counting) => {
            tracing::warn!(event_id = %event.id, error = %counting, "cannot count the failed attempt");
            Err(e)
        }
    }
}

/// When a failed event is retried after its `attempt`-th attempt (`None`: never again).
fn next_retry_at(attempt: i32) -> Option<DateTime<Utc>> {
    backoff::event_may_retry(attempt).then(|| {
        Utc::now() + chrono::Duration::from_std(backoff::inbox_retry(attempt)).unwrap_or_default()
    })
}

/// Writes the processor's result onto the event, undoing the processor's writes when it
/// failed (`docs/behaviour.md#inbox`).
async fn record_outcome(
    tx: &mut PgConnection,
    event: &StoredEvent,
    result: Result<Outcome, ProcessError>,
) -> Result<Processed, sqlx::Error> {
    match result {
        Ok(outcome) => {
            events::mark_done(
                tx,
                event.id,
                outcome.status,
                outcome.clinic_id,
                outcome.note.as_deref(),
            )
            .await?;
            if let Some(clinic) = outcome.clinic_id {
                tracing::Span::current().record("clinic_id", tracing::field::display(clinic));
            }
            Ok(Processed::Done(outcome))
        }
        Err(ProcessError::Invalid { field, message }) => {
            events::rollback_processing(tx).await?;
            events::mark_invalid(tx, event.id, &format!("invalid {field}: {message}")).await?;
            Ok(Processed::Invalid { field, message })
        }
        Err(e) => {
            events::rollback_processing(tx).await?;
            let error = e.to_string();
            events::mark_failed(tx, event.id, &error, next_retry_at(event.attempts + 1)).await?;
            tracing::warn!(event_id = %event.id, source = %event.source, error = %error, "webhook processing failed; will retry");
            Ok(Processed::Failed(error))
        }
    }
}

async fn run_processor(
    conn: &mut PgConnection,
    event: &StoredEvent,
) -> Result<Outcome, ProcessError> {
    match event.source {
        Source::Vapi => super::vapi::process(conn, event).await,
        Source::Clerk => super::clerk::process(conn, event).await,
        Source::Qstash => super::qstash::process(conn, event).await,
    }
}

fn into_event(row: events::EventRow) -> Option<StoredEvent> {
    Some(StoredEvent {
        id: row.id,
        source: Source::parse(&row.source)?,
        delivery_id: row.delivery_id,
        event_type: row.event_type,
        headers: row.headers,
        payload: Bytes::from(row.payload),
        received_at: row.received_at,
        attempts: row.attempts,
    })
}

/// Stores then processes a delivery: the one pipeline shared by the HTTP routes and `replay`.
pub async fn ingest(state: &AppState, d: &Delivery) -> Result<Ingested, sqlx::Error> {
    let span = tracing::Span::current();
    span.record("delivery_id", d.delivery_id.as_str());
    let stored = store(&state.pool, d).await?;
    let id = match stored {
        Stored::New(id) | Stored::Duplicate(id, _) => id,
    };
    span.record("event_id", tracing::field::display(id));
    match stored {
        Stored::Duplicate(id, status) => Ok(Ingested {
            event_id: id,
            result: DuplicateOf(status),
        }),
        Stored::New(id) => {
            let result = process(state, id).await;
            match result {
                Ok(p) => Ok(Ingested {
                    event_id: id,
                    result: Fresh(p),
                }),
                // Stored but the processing transaction could not even start: the event stays
                // `pending` and the retry job picks it up; the sender still gets its 2xx.
                Err(e) => {
                    tracing::warn!(event_id = %id, error = %e, "stored webhook could not be processed now");
                    Ok(Ingested {
                        event_id: id,
                        result: Fresh(Processed::Failed(e.to_string())),
                    })
                }
            }
        }
    }
}

/// Stores a delivery whose processing is known in advance to have no effect but `outcome`
/// (the messages VAPI waits on: their answer is computed by the route, and processing them
/// only records `skipped`): the row is inserted with that outcome in one statement and one
/// commit, instead of an insert, then a processing transaction that only sets the status. The
/// row, its outcome and the duplicate answer are the same as through [`ingest`]
/// (`docs/behaviour.md#inbox`).
pub async fn ingest_settled(
    state: &AppState,
    d: &Delivery,
    outcome: Outcome,
) -> Result<Ingested, sqlx::Error> {
    let span = tracing::Span::current();
    span.record("delivery_id", d.delivery_id.as_str());
    let stored = store_as(&state.pool, d, Some(&outcome)).await?;
    let (id, result) = match stored {
        Stored::New(id) => (id, Fresh(Processed::Done(outcome))),
        Stored::Duplicate(id, status) => (id, DuplicateOf(status)),
    };
    span.record("event_id", tracing::field::display(id));
    Ok(Ingested {
        event_id: id,
        result,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub enum IngestResult {
    Fresh(Processed),
    DuplicateOf(EventStatus),
}
use IngestResult::{DuplicateOf, Fresh};

#[derive(Clone, Debug, PartialEq)]
pub struct Ingested {
    pub event_id: Uuid,
    pub result: IngestResult,
}
