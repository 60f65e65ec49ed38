//! QStash deliveries → due calls/emails and auto-scheduling runs.
//!
//! QStash is an optional trigger now: our own queue and sweeper dispatch every due row anyway.
//! A delivery enqueues the matching job at once (delayed to the row's `scheduled_for` if it
//! arrives early) and answers; the dispatch itself stays idempotent on the row's state, so a
//! redelivered or duplicated message, or a race with the sweeper, still places one call.
//!
//! May import: `domain`, `db`, `webhooks::inbox`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::inbox::{Outcome, ProcessError, StoredEvent};
use crate::db::{self, queue};
use crate::domain::status::{CallStatus, EmailStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    ExecuteCall,
    ExecuteEmail,
    AutoSchedule,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Self::ExecuteCall => "execute-call",
            Self::ExecuteEmail => "execute-email",
            Self::AutoSchedule => "auto-schedule",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::ExecuteCall => "/webhooks/qstash/execute-call",
            Self::ExecuteEmail => "/webhooks/qstash/execute-email",
            Self::AutoSchedule => "/webhooks/qstash/auto-schedule",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::ExecuteCall, Self::ExecuteEmail, Self::AutoSchedule]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// The inbox delivery id of a QStash delivery: what is signed, never the unsigned
/// `Upstash-Message-Id` header (a replayed token with a new header value must stay one
/// delivery; the header is kept in the stored headers for operators). The token's `jti`, else
/// the SHA-256 of the route and the body (`docs/behaviour.md#qstash`).
pub fn delivery_id(route: Route, jti: Option<&str>, body: &[u8]) -> String {
    match jti.map(str::trim).filter(|j| !j.is_empty()) {
        Some(jti) => format!("jti:{jti}"),
        None => {
            let signed = [route.path().as_bytes(), b"\n", body].concat();
            format!("body:{}", super::verify::sha256_hex(&signed))
        }
    }
}

fn uuid_field(v: &Value, field: &'static str) -> Result<Uuid, ProcessError> {
    let s = v
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ProcessError::invalid(field, "missing (expected a UUID string)"))?;
    Uuid::parse_str(s).map_err(|_| ProcessError::invalid(field, "not a UUID"))
}

/// Delay until `scheduled_for` when a trigger arrives early; none when due.
fn delay_until(scheduled_for: Option<DateTime<Utc>>) -> Option<std::time::Duration> {
    let at = scheduled_for?;
    (at - Utc::now()).to_std().ok().filter(|d| !d.is_zero())
}

/// Enqueues the job a delivery asks for, on the inbox's transaction: the job exists exactly
/// when the event is recorded `processed` (`docs/behaviour.md#qstash`).
pub async fn process(
    conn: &mut PgConnection,
    event: &StoredEvent,
) -> Result<Outcome, ProcessError> {
    let route = event
        .event_type
        .as_deref()
        .and_then(Route::parse)
        .ok_or_else(|| ProcessError::invalid("route", "unknown QStash route"))?;
    // An empty body is fine for auto-schedule (a plain schedule trigger).
    let v: Value =
        if event.payload.iter().all(u8::is_ascii_whitespace) && route == Route::AutoSchedule {
            Value::Object(Default::default())
        } else {
            event.json()?
        };
    match route {
        Route::ExecuteCall => {
            let id = uuid_field(&v, "callId")?;
            let row = db::outbound_calls::trigger_target(conn, id).await?;
            let what = format!("call {id}");
            let Some(target) = due_target(row, &what, CallStatus::Queued.as_str()) else {
                return Ok(Outcome::unmatched(format!("no outbound {what}")));
            };
            let (clinic_id, delay) = match target {
                Ok(due) => due,
                Err(skipped) => return Ok(skipped),
            };
            let job = queue::DispatchCall {
                outbound_call_id: id,
            };
            queue::enqueue_in_tx(conn, &job, delay)
                .await
                .map_err(enqueue_failed)?;
            Ok(Outcome::processed(Some(clinic_id)))
        }
        Route::ExecuteEmail => {
            let id = uuid_field(&v, "emailId")?;
            let row = db::outbound_emails::trigger_target(conn, id).await?;
            let what = format!("email {id}");
            let Some(target) = due_target(row, &what, EmailStatus::Queued.as_str()) else {
                return Ok(Outcome::unmatched(format!("no outbound {what}")));
            };
            let (clinic_id, delay) = match target {
                Ok(due) => due,
                Err(skipped) => return Ok(skipped),
            };
            let job = queue::DispatchEmail {
                outbound_email_id: id,
            };
            queue::enqueue_in_tx(conn, &job, delay)
                .await
                .map_err(enqueue_failed)?;
            Ok(Outcome::processed(Some(clinic_id)))
        }
        Route::AutoSchedule => {
            let job = auto_schedule_job(&v)?;
            queue::enqueue_in_tx(conn, &job, None)
                .await
                .map_err(enqueue_failed)?;
            Ok(Outcome::processed(None))
        }
    }
}

fn enqueue_failed(e: queue::EnqueueError) -> ProcessError {
    ProcessError::Other(format!("enqueue failed: {e}"))
}

/// A call or email row still waiting is due now or after its delay; any other row is skipped.
type Target = Result<(Uuid, Option<std::time::Duration>), Outcome>;

/// `None` when the row does not exist; `queued` is the row's waiting status.
fn due_target(
    row: Option<(Uuid, String, Option<DateTime<Utc>>)>,
    what: &str,
    queued: &str,
) -> Option<Target> {
    let (clinic_id, status, scheduled_for) = row?;
    if status != queued {
        return Some(Err(
            Outcome::skipped(format!("{what} is already {status}")).with_clinic(clinic_id)
        ));
    }
    Some(Ok((clinic_id, delay_until(scheduled_for))))
}

/// The run an auto-schedule trigger asks for: `clinicIds` (all clinics when absent) and
/// `dryRun` (false when absent).
fn auto_schedule_job(v: &Value) -> Result<queue::AutoScheduleRun, ProcessError> {
    let bad_ids = || ProcessError::invalid("clinicIds", "expected an array of UUID strings");
    let clinic_ids = match v.get("clinicIds") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|i| i.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                .collect::<Option<Vec<Uuid>>>()
                .ok_or_else(bad_ids)?,
        ),
        Some(_) => return Err(bad_ids()),
    };
    let dry_run = match v.get("dryRun") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ProcessError::invalid("dryRun", "expected a boolean")),
    };
    Ok(queue::AutoScheduleRun {
        clinic_ids,
        dry_run,
    })
}
