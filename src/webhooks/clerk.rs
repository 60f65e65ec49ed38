//! Clerk events → users / clinics / user_clinic_access / clinic_invitations. (Filled by the webhook issue.)

use sqlx::PgConnection;

use super::inbox::{Outcome, ProcessError, StoredEvent};
use crate::http::AppState;

pub async fn process(
    _conn: &mut PgConnection,
    _state: &AppState,
    event: &StoredEvent,
) -> Result<Outcome, ProcessError> {
    let v = event.json()?;
    let t = v
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or_else(|| ProcessError::invalid("type", "missing"))?;
    Ok(Outcome::skipped(format!("event type {t} not handled")))
}
