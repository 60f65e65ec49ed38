//! The inbox pages: the list (filters, search, keyset pages), one event, and replay — of one
//! event in the request (`webhooks::inbox::process`, as `odis-worker replay --from-inbox --id`),
//! or of every event matching a filter, after a count confirmation, as `ReprocessWebhook` jobs
//! (the same processing, durable and outside the request's time limit).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::auth::Principal;
use super::view::{self, masked, ts};
use super::OpsError;
use crate::db::webhook_events::{self as events, InboxQuery, InboxRow};
use crate::domain::status::EventStatus;
use crate::state::AppState;
use crate::webhooks::inbox::{self, Processed, Source};

/// Rows per inbox page.
pub const PAGE_SIZE: i64 = 50;
/// Most events one "replay all matching" may enqueue (narrow the filter beyond it).
pub const MAX_REPLAY_ALL: i64 = 10_000;
/// Strings longer than this are folded out of the pretty-printed payload.
const FOLD_CHARS: usize = 400;

/// The list's query string; every field optional, empty = any.
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub struct Filters {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, rename = "type")]
    pub event_type: String,
    #[serde(default)]
    pub clinic: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub before: String,
    #[serde(default)]
    pub notice: String,
}

impl Filters {
    fn query(&self) -> Result<InboxQuery, OpsError> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let source = opt(&self.source)
            .map(|s| {
                Source::parse(&s)
                    .map(|s| s.as_str().to_string())
                    .ok_or(OpsError::BadRequest {
                        field: "source",
                        message: format!("unknown source {s:?}"),
                    })
            })
            .transpose()?;
        let status = opt(&self.status)
            .map(|s| {
                EventStatus::parse(&s).ok_or(OpsError::BadRequest {
                    field: "status",
                    message: format!("unknown status {s:?}"),
                })
            })
            .transpose()?;
        let clinic_id = opt(&self.clinic)
            .map(|s| {
                Uuid::parse_str(&s).map_err(|_| OpsError::BadRequest {
                    field: "clinic",
                    message: "expected a clinic id (UUID)".into(),
                })
            })
            .transpose()?;
        Ok(InboxQuery {
            source,
            status,
            event_type: opt(&self.event_type),
            clinic_id,
            since: opt(&self.since).map(|s| instant("since", &s)).transpose()?,
            until: opt(&self.until).map(|s| instant("until", &s)).transpose()?,
            search: opt(&self.q),
        })
    }

    /// The filters as a query string (without `before`/`notice`), for links and forms.
    fn query_string(&self, before: Option<&str>) -> String {
        super::query_string(&[
            ("source", &self.source),
            ("status", &self.status),
            ("type", &self.event_type),
            ("clinic", &self.clinic),
            ("since", &self.since),
            ("until", &self.until),
            ("q", &self.q),
            ("before", before.unwrap_or("")),
        ])
    }
}

/// An RFC 3339 instant, or a `datetime-local` value (`2026-11-30T10:00`) read as UTC.
fn instant(field: &'static str, s: &str) -> Result<DateTime<Utc>, OpsError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
                .map(|n| n.and_utc())
        })
        .map_err(|_| OpsError::BadRequest {
            field,
            message: "expected a time like 2026-11-30T10:00 (UTC) or RFC 3339".into(),
        })
}

/// A page cursor: the last row's `received_at` (RFC 3339, microseconds) and id.
fn cursor_of(row: &InboxRow) -> String {
    format!(
        "{}_{}",
        row.received_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        row.id
    )
}

fn parse_cursor(s: &str) -> Result<Option<(DateTime<Utc>, Uuid)>, OpsError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let bad = || OpsError::BadRequest {
        field: "before",
        message: "not a page cursor of this list".into(),
    };
    let (at, id) = s.trim().split_once('_').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(Some((at.with_timezone(&Utc), id)))
}

fn row_json(r: &InboxRow) -> Value {
    json!({
        "id": r.id.to_string(),
        "source": r.source,
        "delivery_id": masked(Some(&r.delivery_id)),
        "event_type": r.event_type,
        "status": r.status,
        "attempts": r.attempts,
        "clinic_id": r.clinic_id.map(|c| c.to_string()),
        "received_at": ts(Some(r.received_at)),
    })
}

fn choices() -> Value {
    json!({
        "sources": Source::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "statuses": EventStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    })
}

pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(filters): Query<Filters>,
) -> Result<Response, OpsError> {
    let query = filters.query()?;
    let before = parse_cursor(&filters.before)?;
    let mut rows = events::inbox_page(&state.pool, &query, before, PAGE_SIZE + 1).await?;
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let next = more
        .then(|| {
            rows.last()
                .map(|r| filters.query_string(Some(&cursor_of(r))))
        })
        .flatten();
    let ctx = json!({
        "f": filters,
        "rows": rows.iter().map(row_json).collect::<Vec<_>>(),
        "next": next,
        "first": before.is_some().then(|| filters.query_string(None)),
        "filter_qs": filters.query_string(None),
        "choices": choices(),
    });
    view::page("inbox.html", "inbox", &principal, ctx)
}

/// Long strings of `v` replaced by a marker; they are returned in `folds` as (path, text).
fn fold(v: &Value, path: &str, folds: &mut Vec<(String, String)>) -> Value {
    match v {
        Value::String(s) if s.chars().count() > FOLD_CHARS => {
            folds.push((path.to_string(), s.clone()));
            json!(format!(
                "… {} characters, folded below as {path}",
                s.chars().count()
            ))
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| fold(x, &format!("{path}[{i}]"), folds))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fold(x, &format!("{path}.{k}"), folds)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// The payload as the event page shows it: masked, pretty-printed, long strings folded; a body
/// that is not JSON is shown as (lossy) text.
fn payload_view(payload: &[u8]) -> (String, Vec<Value>) {
    match serde_json::from_slice::<Value>(payload) {
        Ok(v) => {
            let mut folds = Vec::new();
            let folded = fold(&crate::domain::mask::json(&v), "$", &mut folds);
            let pretty = serde_json::to_string_pretty(&folded).unwrap_or_default();
            let folds = folds
                .into_iter()
                .map(|(path, text)| json!({"path": path, "text": text}))
                .collect();
            (pretty, folds)
        }
        Err(_) => (
            crate::domain::mask::text(&String::from_utf8_lossy(payload)),
            Vec::new(),
        ),
    }
}

/// The VAPI call id a VAPI payload is about (`message.call.id`).
fn vapi_call_id(payload: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    v.pointer("/message/call/id")?.as_str().map(str::to_string)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct EventParams {
    #[serde(default)]
    replayed: String,
}

pub async fn event(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<Uuid>,
    Query(params): Query<EventParams>,
) -> Result<Response, OpsError> {
    let e = events::detail(&state.pool, id)
        .await?
        .ok_or(OpsError::NotFound)?;
    let (payload, folds) = payload_view(&e.payload);
    let produced = match (e.source.as_str(), vapi_call_id(&e.payload)) {
        (s, Some(call)) if s == Source::Vapi.as_str() => {
            events::produced_by_vapi_call(&state.pool, &call).await?
        }
        _ => Vec::new(),
    };
    let ctx = json!({
        "e": {
            "id": e.id.to_string(),
            "source": e.source,
            "delivery_id": masked(Some(&e.delivery_id)),
            "event_type": e.event_type,
            "status": e.status,
            "attempts": e.attempts,
            "last_error": masked(e.last_error.as_deref()),
            "received_at": ts(Some(e.received_at)),
            "processed_at": ts(e.processed_at),
            "next_attempt_at": ts(e.next_attempt_at),
            "clinic_id": e.clinic_id.map(|c| c.to_string()),
            "bytes": e.payload.len(),
        },
        "headers": serde_json::to_string_pretty(&crate::domain::mask::json(&e.headers)).unwrap_or_default(),
        "payload": payload,
        "folds": folds,
        "produced": produced.iter().map(|(kind, id, status)| json!({"kind": kind, "id": id.to_string(), "status": status})).collect::<Vec<_>>(),
        "replayed": Some(params.replayed).filter(|r| !r.is_empty()),
    });
    view::page("event.html", "inbox", &principal, ctx)
}

/// The result of one processing, named like `odis-worker replay` prints it.
fn result_name(p: &Processed) -> String {
    match p {
        Processed::Done(o) => o.status.as_str().to_string(),
        Processed::Invalid { .. } => EventStatus::Invalid.as_str().into(),
        Processed::Failed(_) => EventStatus::Failed.as_str().into(),
        Processed::Busy => "busy".into(),
        Processed::NotFound => "not_found".into(),
    }
}

/// Re-processes one event now, whatever its status, and shows it again.
pub async fn replay_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<Uuid>,
) -> Result<Response, OpsError> {
    let processed = inbox::process(&state, id).await?;
    if matches!(processed, Processed::NotFound) {
        return Err(OpsError::NotFound);
    }
    let result = result_name(&processed);
    tracing::info!(event_id = %id, %result, "ops console: event replayed");
    if matches!(principal, Principal::Bearer) {
        return Ok(Json(json!({"event_id": id, "result": result})).into_response());
    }
    let qs = super::query_string(&[("replayed", &result)]);
    Ok(Redirect::to(&format!("/ops/inbox/{id}?{qs}")).into_response())
}

/// The confirmation page of "replay all matching": the count, and a form that posts it back.
pub async fn confirm_replay_all(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(filters): Query<Filters>,
) -> Result<Response, OpsError> {
    confirm_page(&state, &principal, &filters, None, StatusCode::OK).await
}

async fn confirm_page(
    state: &AppState,
    principal: &Principal,
    filters: &Filters,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response, OpsError> {
    let count = events::count_matching(&state.pool, &filters.query()?).await?;
    let ctx = json!({
        "f": filters,
        "count": count,
        "max": MAX_REPLAY_ALL,
        "filter_qs": filters.query_string(None),
        "notice": notice,
    });
    let mut r = view::page("replay_confirm.html", "inbox", principal, ctx)?;
    *r.status_mut() = status;
    Ok(r)
}

#[derive(Debug, serde::Deserialize)]
pub struct ReplayAllForm {
    #[serde(flatten)]
    filters: Filters,
    /// The count the operator confirmed.
    expected: i64,
}

/// Enqueues a `ReprocessWebhook` job per matching event, if the count is still the one the
/// operator confirmed (else the confirmation again, with the new count: 409).
pub async fn replay_all(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Form(form): Form<ReplayAllForm>,
) -> Result<Response, OpsError> {
    let query = form.filters.query()?;
    let count = events::count_matching(&state.pool, &query).await?;
    if count != form.expected {
        let notice = format!(
            "The filter now matches {count} events, not {}: confirm again.",
            form.expected
        );
        return confirm_page(
            &state,
            &principal,
            &form.filters,
            Some(&notice),
            StatusCode::CONFLICT,
        )
        .await;
    }
    if count > MAX_REPLAY_ALL {
        return Err(OpsError::BadRequest {
            field: "expected",
            message: format!("{count} events: narrow the filter to at most {MAX_REPLAY_ALL}"),
        });
    }
    let ids = events::matching_ids(&state.pool, &query, MAX_REPLAY_ALL).await?;
    for event_id in &ids {
        let job = crate::db::queue::ReprocessWebhook {
            event_id: *event_id,
        };
        crate::db::queue::enqueue(&state.pool, job, None)
            .await
            .map_err(|e| OpsError::Internal(e.to_string()))?;
    }
    tracing::info!(
        count = ids.len(),
        "ops console: replay of matching events enqueued"
    );
    if matches!(principal, Principal::Bearer) {
        return Ok(Json(json!({"enqueued": ids.len()})).into_response());
    }
    let mut f = form.filters.clone();
    f.notice = format!("{} events queued for replay.", ids.len());
    let mut qs = f.query_string(None);
    let notice = super::query_string(&[("notice", &f.notice)]);
    if !qs.is_empty() && !notice.is_empty() {
        qs.push('&');
    }
    qs.push_str(&notice);
    Ok(Redirect::to(&format!("/ops/inbox?{qs}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_to_the_microsecond() {
        let row = InboxRow {
            id: Uuid::new_v4(),
            source: "vapi".into(),
            delivery_id: "d".into(),
            event_type: None,
            status: "processed".into(),
            attempts: 1,
            clinic_id: None,
            received_at: DateTime::parse_from_rfc3339("2026-11-30T10:00:00.123456Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        let c = cursor_of(&row);
        assert_eq!(parse_cursor(&c).unwrap(), Some((row.received_at, row.id)));
        assert_eq!(parse_cursor("").unwrap(), None);
        assert!(parse_cursor("garbage").is_err());
    }

    #[test]
    fn long_strings_are_folded_with_their_path() {
        let long = "x".repeat(FOLD_CHARS + 1);
        let v = json!({"message": {"transcript": long, "type": "end-of-call-report"}});
        let mut folds = Vec::new();
        let f = fold(&v, "$", &mut folds);
        assert_eq!(folds, vec![("$.message.transcript".to_string(), long)]);
        assert_eq!(f["message"]["type"], "end-of-call-report");
        assert!(f["message"]["transcript"]
            .as_str()
            .unwrap()
            .contains("folded"));
    }

    #[test]
    fn filters_name_the_bad_field() {
        let bad = [
            Filters {
                source: "smtp".into(),
                ..Default::default()
            },
            Filters {
                status: "done".into(),
                ..Default::default()
            },
            Filters {
                clinic: "x".into(),
                ..Default::default()
            },
            Filters {
                since: "yesterday".into(),
                ..Default::default()
            },
        ];
        let fields: Vec<&str> = bad
            .iter()
            .map(|f| match f.query() {
                Err(OpsError::BadRequest { field, .. }) => field,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(fields, ["source", "status", "clinic", "since"]);
        let ok = Filters {
            since: "2026-11-30T10:00".into(),
            ..Default::default()
        };
        assert!(ok.query().unwrap().since.is_some());
    }
}
