//! QStash deliveries → due calls/emails and auto-scheduling runs.
//!
//! QStash is an optional trigger now: our own queue and sweeper dispatch every due row anyway.
//! A delivery enqueues the matching job at once (delayed to the row's `scheduled_for` if it
//! arrives early) and answers; the dispatch itself stays idempotent on the row's state, so a
//! redelivered or duplicated message, or a race with the sweeper, still places one call.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::inbox::{Outcome, ProcessError, StoredEvent};
use crate::state::AppState;

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

pub async fn process(
    conn: &mut PgConnection,
    state: &AppState,
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
    let enqueue_failed =
        |e: crate::db::queue::EnqueueError| ProcessError::Other(format!("enqueue failed: {e}"));
    match route {
        Route::ExecuteCall => {
            let id = uuid_field(&v, "callId")?;
            let row: Option<(Uuid, String, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT clinic_id, status, scheduled_for FROM outbound_calls WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            let Some((clinic_id, status, scheduled_for)) = row else {
                return Ok(Outcome::unmatched(format!("no outbound call {id}")));
            };
            if status != "queued" {
                return Ok(Outcome::skipped(format!("call {id} is already {status}"))
                    .with_clinic(clinic_id));
            }
            crate::db::queue::enqueue_dispatch_call(&state.pool, id, delay_until(scheduled_for))
                .await
                .map_err(enqueue_failed)?;
            Ok(Outcome::processed(Some(clinic_id)))
        }
        Route::ExecuteEmail => {
            let id = uuid_field(&v, "emailId")?;
            let row: Option<(Uuid, String, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT clinic_id, status, scheduled_for FROM outbound_emails WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            let Some((clinic_id, status, scheduled_for)) = row else {
                return Ok(Outcome::unmatched(format!("no outbound email {id}")));
            };
            if status != "queued" {
                return Ok(Outcome::skipped(format!("email {id} is already {status}"))
                    .with_clinic(clinic_id));
            }
            crate::db::queue::enqueue_dispatch_email(&state.pool, id, delay_until(scheduled_for))
                .await
                .map_err(enqueue_failed)?;
            Ok(Outcome::processed(Some(clinic_id)))
        }
        Route::AutoSchedule => {
            let clinic_ids = match v.get("clinicIds") {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|i| i.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                        .collect::<Option<Vec<Uuid>>>()
                        .ok_or_else(|| {
                            ProcessError::invalid("clinicIds", "expected an array of UUID strings")
                        })?,
                ),
                Some(_) => {
                    return Err(ProcessError::invalid(
                        "clinicIds",
                        "expected an array of UUID strings",
                    ))
                }
            };
            let dry_run = match v.get("dryRun") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(ProcessError::invalid("dryRun", "expected a boolean")),
            };
            crate::db::queue::enqueue_auto_schedule_run(&state.pool, clinic_ids, dry_run)
                .await
                .map_err(enqueue_failed)?;
            Ok(Outcome::processed(None))
        }
    }
}
