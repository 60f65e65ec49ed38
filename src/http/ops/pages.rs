//! The console's other pages — queue, periodic jobs, auto-scheduling runs, discharge batches,
//! outbound traffic, the live counts fragment — and their actions.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

use super::auth::Principal;
use super::view::{self, age, masked, ts};
use super::OpsError;
use crate::db;
use crate::domain::status::{CallStatus, EmailStatus, EventStatus};
use crate::jobs::catalogue::{self, Catalogue};
use crate::state::AppState;

/// Rows shown per list (dead jobs, runs, batches, outbound rows).
const LIST_LIMIT: i64 = 100;
/// Ticks shown per catalogue entry.
const TICKS_PER_ENTRY: i64 = 5;

#[derive(Debug, Default, serde::Deserialize)]
pub struct Notice {
    #[serde(default)]
    notice: String,
}

impl Notice {
    fn get(&self) -> Option<&str> {
        Some(self.notice.as_str()).filter(|n| !n.is_empty())
    }
}

/// Where an action goes back to, with a notice (or JSON for a Bearer client).
fn done(principal: &Principal, to: &str, notice: &str, ok: bool) -> Response {
    if matches!(principal, Principal::Bearer) {
        return Json(json!({"ok": ok, "notice": notice})).into_response();
    }
    let qs = super::query_string(&[("notice", notice)]);
    Redirect::to(&format!("{to}?{qs}")).into_response()
}

pub async fn queue(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(n): Query<Notice>,
) -> Result<Response, OpsError> {
    let kinds = db::queue::counts_by_kind(&state.pool).await?;
    let health = db::queue::health(&state.pool).await?;
    let dead = db::queue::dead_jobs(&state.pool, LIST_LIMIT).await?;
    let ctx = json!({
        "kinds": kinds.iter().map(|k| json!({
            "queue": k.queue, "pending": k.pending, "running": k.running,
            "retrying": k.retrying, "dead": k.dead, "done_last_hour": k.done_last_hour,
            "oldest_due": age(k.oldest_due_seconds),
        })).collect::<Vec<_>>(),
        "live_workers": health.map(|h| h.live_workers),
        "dead": dead.iter().map(|d| json!({
            "id": d.id, "queue": d.queue, "payload": d.payload,
            "attempts": d.attempts, "max_attempts": d.max_attempts,
            "error": masked(last_error(d.last_result.as_ref()).as_deref()),
            "done_at": ts(d.done_at),
        })).collect::<Vec<_>>(),
        "notice": n.get(),
    });
    view::page("queue.html", "queue", &principal, ctx)
}

/// The error text of apalis's `last_result` (`{"Err": "..."}`), else the JSON itself.
fn last_error(result: Option<&Value>) -> Option<String> {
    let r = result?;
    Some(match r.get("Err") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => r.to_string(),
    })
}

pub async fn retry_job(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, OpsError> {
    let ok = db::queue::retry_dead(&state.pool, &id).await?;
    tracing::info!(job_id = %id, ok, "ops console: dead job retried");
    let notice = if ok {
        format!("Job {id} is pending again.")
    } else {
        format!("Job {id} is not dead (already retried or discarded?).")
    };
    Ok(done(&principal, "/ops/queue", &notice, ok))
}

pub async fn discard_job(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, OpsError> {
    let ok = db::queue::discard_dead(&state.pool, &id).await?;
    tracing::info!(job_id = %id, ok, "ops console: dead job discarded");
    let notice = if ok {
        format!("Job {id} discarded.")
    } else {
        format!("Job {id} is not dead (already retried or discarded?).")
    };
    Ok(done(&principal, "/ops/queue", &notice, ok))
}

fn load_catalogue() -> Result<Catalogue, OpsError> {
    Catalogue::load_default().map_err(|e| OpsError::Internal(e.to_string()))
}

pub async fn periodic(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(n): Query<Notice>,
) -> Result<Response, OpsError> {
    let cat = load_catalogue()?;
    let ticks = db::job_ticks::recent(&state.pool, TICKS_PER_ENTRY).await?;
    let now = Utc::now();
    let entries: Vec<Value> = cat
        .entries
        .iter()
        .map(|e| {
            let next = e.next_after(now);
            json!({
                "name": e.name, "cron": e.cron, "timezone": e.timezone.name(),
                "enabled": e.enabled,
                "next_local": next.map(|t| t.with_timezone(&e.timezone).format("%Y-%m-%d %H:%M:%S %Z").to_string()),
                "next_utc": ts(next),
                "ticks": ticks.iter().filter(|t| t.name == e.name).map(|t| json!({
                    "tick_at": ts(Some(t.tick_at)), "claimed_by": t.claimed_by,
                    "finished_at": ts(t.finished_at),
                    "result": t.result.as_ref().map(|r| crate::domain::mask::json(r).to_string()),
                    "error": masked(t.error.as_deref()),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let ctx = json!({"entries": entries, "source": cat.source, "notice": n.get()});
    view::page("periodic.html", "periodic", &principal, ctx)
}

/// Runs a catalogue entry now, as a tick of its own (claimed and recorded like the scheduled
/// ones, so the page lists it with its result).
pub async fn run_periodic(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Response, OpsError> {
    let cat = load_catalogue()?;
    let entry = cat.get(&name).ok_or(OpsError::NotFound)?;
    let tick = Utc::now();
    let claimer = format!("ops:{}", state.instance);
    db::job_ticks::claim(&state.pool, &entry.name, tick, &claimer).await?;
    let outcome = catalogue::fire_and_record(&state, entry, tick, "run now").await;
    let (ok, notice) = match outcome {
        Ok(v) => (true, format!("{name}: {v}")),
        Err(e) => (false, format!("{name} failed: {e}")),
    };
    Ok(done(&principal, "/ops/periodic", &notice, ok))
}

pub async fn runs(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, OpsError> {
    let runs = db::auto_scheduling::recent_runs(&state.pool, LIST_LIMIT).await?;
    let rows: Vec<Value> = runs
        .iter()
        .map(|r| {
            let clinics = match &r.results {
                Some(Value::Array(a)) => a.iter().map(clinic_result).collect(),
                _ => Vec::new(),
            };
            json!({
                "id": r.id.to_string(), "status": r.status,
                "started_at": ts(r.started_at), "completed_at": ts(r.completed_at),
                "cases": r.total_cases_processed, "emails": r.total_emails_scheduled,
                "calls": r.total_calls_scheduled, "errors": r.total_errors,
                "error_message": masked(r.error_message.as_deref()),
                "clinics": clinics,
            })
        })
        .collect();
    view::page("runs.html", "runs", &principal, json!({"runs": rows}))
}

/// One clinic's entry of a run's `results`: its name/id, counts and skips by reason.
fn clinic_result(v: &Value) -> Value {
    let text = |k: &str| {
        v.get(k)
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
    };
    let by_reason: Vec<Value> = v
        .get("skippedByReason")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, n)| json!({"reason": k, "count": n}))
                .collect()
        })
        .unwrap_or_default();
    let errors = v
        .get("errors")
        .map(|e| crate::domain::mask::json(e).to_string());
    json!({
        "clinic": text("clinicName").or_else(|| text("clinicId")),
        "cases": text("casesProcessed"),
        "emails": text("emailsScheduled"),
        "calls": text("callsScheduled"),
        "skipped": text("skippedCount"),
        "by_reason": by_reason,
        "errors": errors,
    })
}

pub async fn batches(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(n): Query<Notice>,
) -> Result<Response, OpsError> {
    use crate::domain::status::BatchStatus;
    let batches = db::discharge_batches::recent(&state.pool, LIST_LIMIT).await?;
    let rows: Vec<Value> = batches
        .iter()
        .map(|b| {
            let cancellable = b
                .status
                .as_deref()
                .and_then(BatchStatus::parse)
                .is_some_and(|s| matches!(s, BatchStatus::Pending | BatchStatus::Processing));
            json!({
                "id": b.id.to_string(), "clinic": b.clinic_name, "status": b.status,
                "items_done": b.items_done, "items_total": b.items_total,
                "percent": (b.items_done * 100).checked_div(b.items_total).unwrap_or(0),
                "processed": b.processed_cases, "successful": b.successful_cases,
                "failed": b.failed_cases, "total": b.total_cases,
                "created_at": ts(b.created_at), "started_at": ts(b.started_at),
                "completed_at": ts(b.completed_at), "cancelled_at": ts(b.cancelled_at),
                "cancellable": cancellable,
            })
        })
        .collect();
    view::page(
        "batches.html",
        "batches",
        &principal,
        json!({"batches": rows, "notice": n.get()}),
    )
}

pub async fn cancel_batch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<Uuid>,
) -> Result<Response, OpsError> {
    use crate::scheduling::SchedulingError;
    let outcome = crate::scheduling::discharge_batch::cancel(&state.pool, id)
        .await
        .map_err(|e| match e {
            SchedulingError::BatchNotFound(_) => OpsError::NotFound,
            other => OpsError::Internal(other.to_string()),
        })?;
    tracing::info!(batch_id = %id, status = %outcome.status, "ops console: batch cancelled");
    let notice = format!(
        "Batch {id} is {} ({} processed, {} succeeded, {} failed).",
        outcome.status, outcome.processed, outcome.succeeded, outcome.failed
    );
    Ok(done(&principal, "/ops/batches", &notice, true))
}

pub async fn outbound(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, OpsError> {
    let call_statuses = [
        CallStatus::Queued.as_str(),
        CallStatus::Ringing.as_str(),
        CallStatus::InProgress.as_str(),
        CallStatus::Failed.as_str(),
    ];
    let email_statuses = [EmailStatus::Queued.as_str(), EmailStatus::Failed.as_str()];
    let calls = db::outbound_calls::recent_for_ops(&state.pool, &call_statuses, LIST_LIMIT).await?;
    let emails =
        db::outbound_emails::recent_for_ops(&state.pool, &email_statuses, LIST_LIMIT).await?;
    let ctx = json!({
        "calls": calls.iter().map(|c| json!({
            "id": c.id.to_string(), "clinic_id": c.clinic_id.to_string(), "status": c.status,
            "in_flight": c.in_flight,
            "phone": c.customer_phone.as_deref().map(|p| crate::domain::mask::phone(p).unwrap_or_else(|| crate::domain::mask::text(p))),
            "scheduled_for": ts(c.scheduled_for), "updated_at": ts(c.updated_at),
            "vapi_call_id": c.vapi_call_id, "ended_reason": c.ended_reason,
            "error": masked(c.error.as_deref()),
        })).collect::<Vec<_>>(),
        "emails": emails.iter().map(|e| json!({
            "id": e.id.to_string(), "clinic_id": e.clinic_id.to_string(), "status": e.status,
            "in_flight": e.in_flight,
            "to": crate::domain::mask::email(&e.recipient_email).unwrap_or_else(|| crate::domain::mask::text(&e.recipient_email)),
            "scheduled_for": ts(e.scheduled_for), "updated_at": ts(e.updated_at),
            "resend_email_id": e.resend_email_id,
            "error": masked(e.error.as_deref()),
        })).collect::<Vec<_>>(),
    });
    view::page("outbound.html", "outbound", &principal, ctx)
}

/// The live counts (inbox by status, queue health): an HTML fragment htmx swaps in every few
/// seconds, or JSON for `Accept: application/json`.
pub async fn live(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, OpsError> {
    let inbox = db::webhook_events::count_by_status(&state.pool).await?;
    let queue = db::queue::health(&state.pool).await?;
    let counts: serde_json::Map<String, Value> = inbox
        .iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let data = json!({
        "inbox": counts,
        "queue": queue,
        "attention": inbox.iter().filter(|(s, _)| matches!(s, EventStatus::Failed | EventStatus::Unmatched)).map(|(_, n)| n).sum::<i64>(),
    });
    let wants_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(Json(data).into_response());
    }
    let body = view::render_string("live.html", &data)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response())
}
