//! What request handlers and job handlers share: the pool, the configuration and the provider
//! clients (provider limits are shared by every process through the database,
//! `db::provider_limits`). Built once at start-up by `app` (or a test),
//! cheap to clone. Installing the metrics recorder is the binary's start-up job, not this one's.
//!
//! May import: `config`, `providers`.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::config::Config;
use crate::providers::resend::ResendClient;
use crate::providers::slack::SlackClient;
use crate::providers::vapi::VapiClient;

/// The shared state of one process.
#[derive(Clone)]
pub struct AppState {
    /// The service's connection pool (tables owner; RLS does not apply to it).
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub vapi: VapiClient,
    pub resend: ResendClient,
    pub slack: SlackClient,
    /// Names this process in claims (`dispatch_claimed_by`, `job_ticks.claimed_by`).
    pub instance: Arc<str>,
    /// Bytes of request bodies buffered at once (`config::BODY_BUDGET_BYTES`), one permit a byte.
    pub body_budget: Arc<Semaphore>,
    /// How long a sender has to deliver a body once its headers are in (tests shorten it).
    pub body_read_timeout: std::time::Duration,
    /// Where this process's booking tools queue for a calendar before they take a connection.
    pub calendars: Arc<CalendarGate>,
}

/// The in-process queue of the writes that lock a clinic's calendar (the booking tools;
/// `db::bookings::lock_calendar` is the lock that holds across processes). A booking waits here
/// for its calendar *before* it takes a database connection: callers booking one busy clinic at
/// once queue in memory instead of each holding a pooled connection while PostgreSQL makes it
/// wait, which left the other tools (availability, messages) without connections
/// (docs/benchmarks.md, voice tools). Striped: clinics share one of [`CalendarGate::STRIPES`]
/// mutexes by id, so the gate is bounded whatever the number of clinics; two clinics on one
/// stripe only take turns for a few milliseconds.
pub struct CalendarGate {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl CalendarGate {
    pub const STRIPES: usize = 64;

    pub fn new() -> Self {
        Self {
            stripes: (0..Self::STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// Waits for `clinic_id`'s turn (first come, first served); the turn ends when the guard
    /// is dropped.
    pub async fn turn(&self, clinic_id: Uuid) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = (clinic_id.as_u128() % Self::STRIPES as u128) as usize;
        self.stripes[stripe].lock().await
    }
}

impl Default for CalendarGate {
    fn default() -> Self {
        Self::new()
    }
}

/// A provider client could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("cannot build provider client: {0}")]
pub struct StateError(String);

impl AppState {
    pub fn new(pool: PgPool, config: Config) -> Result<Self, StateError> {
        Self::from_parts(pool, Arc::new(config))
    }

    pub fn from_parts(pool: PgPool, config: Arc<Config>) -> Result<Self, StateError> {
        let vapi = VapiClient::new(
            &config.vapi_base_url,
            config.vapi_api_key.clone(),
            crate::providers::DEFAULT_TIMEOUT,
        )
        .map_err(|e| StateError(e.to_string()))?;
        let resend = ResendClient::new(
            &config.resend_base_url,
            config.resend_api_key.clone(),
            crate::providers::DEFAULT_TIMEOUT,
        )
        .map_err(|e| StateError(e.to_string()))?;
        let slack = SlackClient::new(
            &config.slack_api_base_url,
            crate::providers::DEFAULT_TIMEOUT,
        )
        .map_err(|e| StateError(e.to_string()))?;
        Ok(Self {
            instance: instance_name().into(),
            body_budget: Arc::new(Semaphore::new(crate::config::BODY_BUDGET_BYTES)),
            body_read_timeout: crate::config::BODY_READ_TIMEOUT,
            calendars: Arc::new(CalendarGate::new()),
            pool,
            config,
            vapi,
            resend,
            slack,
        })
    }
}

/// A name unique to this process (apalis refuses two live workers with one name).
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("FLY_MACHINE_ID"))
        .unwrap_or_else(|_| "local".into());
    let id = Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &id[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One clinic's turns are taken one at a time; another clinic's are not held up by them.
    #[tokio::test]
    async fn a_calendars_turns_are_exclusive_and_other_calendars_go_on() {
        use futures::FutureExt;
        let gate = CalendarGate::new();
        let a = Uuid::from_u128(7);
        let b = Uuid::from_u128(8);
        let first = gate.turn(a).await;
        assert!(
            gate.turn(a).now_or_never().is_none(),
            "a second turn of one clinic waits"
        );
        assert!(
            gate.turn(b).now_or_never().is_some(),
            "another clinic's turn does not wait"
        );
        drop(first);
        assert!(
            gate.turn(a).now_or_never().is_some(),
            "the turn is free once dropped"
        );
    }
}
