//! QStash deliveries → due calls/emails and auto-scheduling runs.

use sqlx::PgConnection;

use super::inbox::{Outcome, ProcessError, StoredEvent};
use crate::http::AppState;

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

pub async fn process(
    _conn: &mut PgConnection,
    _state: &AppState,
    event: &StoredEvent,
) -> Result<Outcome, ProcessError> {
    let _v = event.json()?;
    Ok(Outcome::skipped("not wired yet"))
}
