//! `DispatchCall`: place one `outbound_calls` row through VAPI, at most once
//! (`docs/behaviour.md#dispatch-call`).
//!
//! The row is claimed by one conditional `UPDATE` (see [`super::claim`]); of any number of
//! racing dispatchers (workers, a QStash delivery, the sweeper) exactly one gets the row and
//! sends `POST /call`. `dispatch_sending_at` is written just before the request, so a claim
//! left by a crashed worker can be told apart: not sent → released, maybe sent → failed as
//! ambiguous. What to do at each step is decided by the pure functions below; the handler only
//! loads, asks them and writes (`db::outbound_calls`).
//!
//! May import: `db`, `domain`, `providers`, `state`, `metrics`, `jobs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::claim;
use super::variables::{self, non_blank, CaseInfo};
use crate::db::clinics::ClinicForCall;
pub use crate::db::queue::DispatchCall;
use crate::db::{cases, clinics, outbound_calls, provider_limits, vapi_assistants};
use crate::domain::blocked::blocked_reason;
use crate::domain::clinic_policy::CallPolicy;
use crate::domain::provider_limits::{self as limits, SlotAfterCreate};
use crate::domain::status::CallStatus;
use crate::domain::{clock, dispatch_meta};
use crate::jobs::items::{self, Channel, Final};
use crate::jobs::{AppState, JobError, JobKind};
use crate::providers::vapi::{CreatedCall, VapiError};

impl JobKind for DispatchCall {
    fn concurrency(ctx: &AppState) -> usize {
        ctx.config.vapi_max_concurrent_calls
    }

    async fn run(self, ctx: AppState) -> Result<Value, JobError> {
        let outcome = dispatch(&ctx, self.outbound_call_id).await?;
        serde_json::to_value(outcome).map_err(|e| JobError::Transient(e.to_string()))
    }
}

/// Retries of a call VAPI certainly did not receive (429, 503 + Retry-After, connect error).
pub const MAX_DISPATCH_RETRIES: i64 = crate::domain::backoff::MAX_CALL_DISPATCH_RETRIES;
const DEFAULT_VOICEMAIL: &str = "Hi {{owner_name}}, this is {{agent_name}} from {{clinic_name}}. I'm calling to check in on {{pet_name}} after the recent visit. Everything looked great from our end. If you have any questions or concerns about {{pet_name}}, please give us a call at {{clinic_phone}}. Take care!";

#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallOutcome {
    Placed {
        vapi_call_id: String,
        status: String,
    },
    /// Nothing done: the row is gone, not `queued`, not due, or claimed by someone else.
    Skipped {
        reason: String,
    },
    /// Outside the clinic's call window: moved to the next opening and re-enqueued.
    Postponed {
        until: DateTime<Utc>,
    },
    /// VAPI certainly did not place it; put back and re-enqueued after `after_secs`.
    RetryScheduled {
        after_secs: u64,
        error: String,
    },
    Cancelled {
        reason: String,
    },
    Failed {
        error: String,
        ambiguous: bool,
    },
    /// Every call slot of the account stayed taken: given back, tried again after `after_secs`.
    WaitingForSlot {
        after_secs: u64,
    },
}

/// A call that must not be attempted: the row is failed with `error`, `extra` merged into its
/// metadata.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub error: String,
    pub extra: Value,
}

impl Refusal {
    fn new(error: &str, extra: Value) -> Self {
        Self {
            error: error.to_string(),
            extra,
        }
    }
}

/// Everything the request needs once the rules allow the call.
#[derive(Debug, PartialEq)]
pub struct CallTarget {
    /// E.164.
    pub number: String,
    pub assistant_id: String,
    pub phone_number_id: String,
    /// Merged into the row's metadata whatever the outcome (test-mode facts).
    pub extra: Map<String, Value>,
}

/// What a VAPI failure leads to.
#[derive(Debug, PartialEq)]
pub enum ProviderStep {
    /// Certainly not placed: put back and try again after this long.
    Retry(Duration),
    Fail {
        error: String,
        ambiguous: bool,
    },
    /// A deployment problem, not the row's: give the row back and stop the job.
    NotConfigured,
}

/// The next opening of the clinic's call window when `now` is outside it (never call at night).
pub fn postpone_until(policy: &CallPolicy, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let opening = clock::next_in_window(policy.tz, policy.window_start, policy.window_end, now);
    (opening > now).then_some(opening)
}

/// Who is dialled: the test contact in test mode (never the real client), else the client.
pub fn recipient(
    clinic: &ClinicForCall,
    customer_phone: Option<&str>,
) -> Result<(String, Map<String, Value>), Refusal> {
    let trimmed = |p: Option<&str>| {
        p.map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
    };
    let mut extra = Map::new();
    if clinic.test_mode {
        let Some(p) = trimmed(clinic.test_phone.as_deref()) else {
            let error = "Test mode is enabled but test contact phone is not configured";
            return Err(Refusal::new(error, json!({"test_mode": true})));
        };
        extra.insert("test_mode".into(), json!(true));
        extra.insert("original_customer_phone".into(), json!(customer_phone));
        return Ok((p, extra));
    }
    match trimmed(customer_phone) {
        Some(p) => Ok((p, extra)),
        None => Err(Refusal::new("Missing customer phone number", json!({}))),
    }
}

/// The recipient's number, the assistant and the VAPI phone number, or why the call cannot go.
pub fn plan_call(
    clinic: &ClinicForCall,
    customer_phone: Option<&str>,
    assistant_id: Option<String>,
    phone_number_id: Option<String>,
) -> Result<CallTarget, Refusal> {
    let (raw, extra) = recipient(clinic, customer_phone)?;
    let refuse = |error: &str| Refusal::new(error, Value::Object(extra.clone()));
    let number = crate::domain::phone::normalize_e164(&raw).map_err(|e| refuse(&e))?;
    let assistant_id = assistant_id.ok_or_else(|| refuse("Missing assistant_id configuration"))?;
    let phone_number_id =
        phone_number_id.ok_or_else(|| refuse("Missing outbound_phone_number_id configuration"))?;
    Ok(CallTarget {
        number,
        assistant_id,
        phone_number_id,
        extra,
    })
}

/// The `POST /call` body.
pub fn request_body(
    id: Uuid,
    row: &outbound_calls::ClaimedCall,
    clinic: &ClinicForCall,
    case: &CaseInfo,
    target: &CallTarget,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let metadata = row.metadata.clone().unwrap_or(Value::Null);
    let mut overrides = Map::new();
    let variables = variables::variable_values(clinic, case, &metadata, now);
    overrides.insert("variableValues".into(), Value::Object(variables));
    overrides.insert(
        "metadata".into(),
        json!({"outbound_call_id": id, "clinic_id": row.clinic_id, "case_id": row.case_id}),
    );
    if clinic.voicemail_enabled {
        let detection = json!({"provider": "vapi", "enabled": true});
        overrides.insert("voicemailDetection".into(), detection);
        let message = if clinic.voicemail_hangup {
            String::new()
        } else {
            non_blank(clinic.voicemail_message.clone()).unwrap_or_else(|| DEFAULT_VOICEMAIL.into())
        };
        overrides.insert("voicemailMessage".into(), json!(message));
    } else {
        overrides.insert("voicemailDetection".into(), json!("off"));
    }
    let mut customer = Map::new();
    customer.insert("number".into(), json!(target.number));
    if let (Some(owner), false) = (&case.owner_name, clinic.test_mode) {
        customer.insert("name".into(), json!(owner));
    }
    json!({
        "assistantId": target.assistant_id,
        "phoneNumberId": target.phone_number_id,
        "customer": customer,
        "assistantOverrides": overrides,
    })
}

/// After VAPI failed, with `retries` provider retries already made.
pub fn after_vapi_error(e: &VapiError, retries: i64, jitter: f64) -> ProviderStep {
    if e.is_retryable() {
        let advised = match e {
            VapiError::RetryLater {
                retry_after: Some(d),
                ..
            } => Some(*d),
            _ => None,
        };
        let fallback = || crate::domain::backoff::call_dispatch_retry(retries, jitter);
        return match claim::retry_delay(retries, MAX_DISPATCH_RETRIES, advised, fallback) {
            Some(after) => ProviderStep::Retry(after),
            None => ProviderStep::Fail {
                error: format!("{e} (gave up after {retries} retries)"),
                ambiguous: false,
            },
        };
    }
    match e {
        VapiError::NotConfigured => ProviderStep::NotConfigured,
        e => ProviderStep::Fail {
            error: e.to_string(),
            ambiguous: matches!(e, VapiError::Ambiguous(_)),
        },
    }
}

/// VAPI's status of a call it just created; absent or unknown means it is still `queued`.
pub fn placed_status(s: Option<&str>) -> CallStatus {
    s.and_then(crate::domain::vapi_status::map_vapi_status)
        .unwrap_or(CallStatus::Queued)
}

pub async fn dispatch(ctx: &AppState, id: Uuid) -> Result<CallOutcome, JobError> {
    let Some(row) = outbound_calls::claim_for_dispatch(&ctx.pool, id, &ctx.instance).await? else {
        let state = outbound_calls::dispatch_state(&ctx.pool, id).await?;
        let reason = claim::call_skip_reason(state.as_ref());
        return Ok(CallOutcome::Skipped { reason });
    };
    let result = dispatch_claimed(ctx, id, row).await;
    if result.is_err() {
        // An error (e.g. the database) before the request went out: give the row back so the
        // retried job can claim it again. Once `dispatch_sending_at` is set the claim stays.
        if let Err(e) = outbound_calls::release_unsent_claim(&ctx.pool, id).await {
            tracing::warn!(outbound_call_id = %id, error = %e, "cannot release call claim");
        }
    }
    result
}

async fn dispatch_claimed(
    ctx: &AppState,
    id: Uuid,
    row: outbound_calls::ClaimedCall,
) -> Result<CallOutcome, JobError> {
    let pool = &ctx.pool;
    let clinic = clinics::load_for_call(pool, row.clinic_id).await?;
    let Some(case) = cases::load_for_dispatch(pool, row.case_id, row.clinic_id).await? else {
        return fail(
            ctx,
            id,
            claim::CASE_NOT_IN_CLINIC.into(),
            false,
            Value::Null,
        )
        .await;
    };
    let case = variables::case_info(case);
    if let Some(reason) = blocked_reason(&case.facts) {
        outbound_calls::cancel_blocked(pool, id, &reason).await?;
        items::follow(pool, Channel::Call, id, &Final::Cancelled(reason.clone())).await?;
        return Ok(CallOutcome::Cancelled { reason });
    }
    let now = Utc::now();
    if let Some(until) = postpone_until(&clinic.policy, now) {
        outbound_calls::postpone_to_window(pool, id, until, row.scheduled_for).await?;
        let delay = (until - now).to_std().unwrap_or_default();
        crate::jobs::enqueue_dispatch_call(pool, id, Some(delay)).await?;
        return Ok(CallOutcome::Postponed { until });
    }
    let assistant_id = match non_blank(row.assistant_id.clone()) {
        Some(a) => Some(a),
        None => vapi_assistants::outbound_assistant(pool, row.clinic_id).await?,
    };
    let phone_number_id = non_blank(row.phone_number_id.clone())
        .or_else(|| non_blank(ctx.config.vapi_outbound_phone_number_id.clone()));
    let target = match plan_call(
        &clinic,
        row.customer_phone.as_deref(),
        assistant_id,
        phone_number_id,
    ) {
        Ok(t) => t,
        Err(r) => return fail(ctx, id, r.error, false, r.extra).await,
    };
    let body = request_body(id, &row, &clinic, &case, &target, chrono::Utc::now());
    let mut extra = target.extra;
    if !take_slot(ctx, id).await? {
        return wait_for_slot(ctx, id).await;
    }
    let result = send(ctx, id, &body).await?;
    extra.insert(
        "voicemail_detection_enabled".into(),
        json!(clinic.voicemail_enabled),
    );
    let retries = claim::count_in(
        row.metadata.as_ref().unwrap_or(&Value::Null),
        dispatch_meta::RETRIES,
    );
    match result {
        Ok(created) => placed(ctx, id, created, extra).await,
        Err(e) => {
            free_slot(ctx, id).await;
            failed(ctx, id, e, retries, extra).await
        }
    }
}

/// Takes one of the account's call slots (shared by every process,
/// `docs/behaviour.md#provider-limits`), waiting up to `SLOT_WAIT` for one to come free.
async fn take_slot(ctx: &AppState, id: Uuid) -> Result<bool, JobError> {
    let limit = ctx.config.vapi_max_concurrent_calls.max(1);
    let deadline = tokio::time::Instant::now() + limits::SLOT_WAIT;
    loop {
        let slot = provider_limits::acquire_call_slot(
            &ctx.pool,
            id,
            &ctx.instance,
            limit,
            limits::REQUEST_LEASE,
        )
        .await?;
        if slot.is_some() {
            return Ok(true);
        }
        if tokio::time::Instant::now() + limits::SLOT_POLL > deadline {
            return Ok(false);
        }
        tokio::time::sleep(limits::SLOT_POLL).await;
    }
}

/// Every slot stayed taken: the row is given back (nothing was sent) and tried again shortly.
async fn wait_for_slot(ctx: &AppState, id: Uuid) -> Result<CallOutcome, JobError> {
    outbound_calls::release_claim(&ctx.pool, id).await?;
    let after = limits::SLOT_RETRY_AFTER;
    crate::jobs::enqueue_dispatch_call(&ctx.pool, id, Some(after)).await?;
    Ok(CallOutcome::WaitingForSlot {
        after_secs: after.as_secs(),
    })
}

/// Marks the row in flight and sends; the caller holds a call slot.
async fn send(
    ctx: &AppState,
    id: Uuid,
    body: &Value,
) -> Result<Result<CreatedCall, VapiError>, JobError> {
    if let Err(e) = outbound_calls::mark_sending(&ctx.pool, id).await {
        free_slot(ctx, id).await;
        return Err(e.into());
    }
    metrics::gauge!("odis_calls_in_flight").increment(1.0);
    let result = ctx.vapi.create_call(body).await;
    metrics::gauge!("odis_calls_in_flight").decrement(1.0);
    Ok(result)
}

/// Gives the call's slot back (its request failed or never went out). A failure to do so is
/// only logged: the slot's lease frees it anyway.
async fn free_slot(ctx: &AppState, id: Uuid) {
    if let Err(e) = provider_limits::release_call_slot(&ctx.pool, id).await {
        tracing::warn!(outbound_call_id = %id, error = %e, "cannot free call slot");
    }
}

async fn placed(
    ctx: &AppState,
    id: Uuid,
    created: CreatedCall,
    extra: Map<String, Value>,
) -> Result<CallOutcome, JobError> {
    let status = placed_status(created.status.as_deref());
    let started_at = created
        .started_at
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc));
    let record = outbound_calls::PlacedCall {
        vapi_call_id: &created.id,
        status,
        started_at,
        extra: Value::Object(extra),
    };
    outbound_calls::record_placed(&ctx.pool, id, record).await?;
    let webhooks = ctx.config.vapi_webhook_secret.is_some();
    match limits::slot_after_create(webhooks, status) {
        SlotAfterCreate::Release => free_slot(ctx, id).await,
        SlotAfterCreate::HoldFor(timeout) => {
            provider_limits::hold_call_slot(&ctx.pool, id, timeout).await?;
        }
    }
    items::follow(&ctx.pool, Channel::Call, id, &Final::Completed).await?;
    Ok(CallOutcome::Placed {
        vapi_call_id: created.id,
        status: status.as_str().to_string(),
    })
}

async fn failed(
    ctx: &AppState,
    id: Uuid,
    e: VapiError,
    retries: i64,
    extra: Map<String, Value>,
) -> Result<CallOutcome, JobError> {
    match after_vapi_error(&e, retries, crate::domain::backoff::jitter()) {
        ProviderStep::Retry(after) => {
            let error = e.to_string();
            outbound_calls::release_for_retry(&ctx.pool, id, after.as_secs_f64(), &error).await?;
            crate::jobs::enqueue_dispatch_call(&ctx.pool, id, Some(after)).await?;
            Ok(CallOutcome::RetryScheduled {
                after_secs: after.as_secs(),
                error,
            })
        }
        ProviderStep::NotConfigured => {
            outbound_calls::release_claim(&ctx.pool, id).await?;
            Err(JobError::NotConfigured("VAPI_API_KEY"))
        }
        ProviderStep::Fail { error, ambiguous } => {
            fail(ctx, id, error, ambiguous, Value::Object(extra)).await
        }
    }
}

async fn fail(
    ctx: &AppState,
    id: Uuid,
    error: String,
    ambiguous: bool,
    extra: Value,
) -> Result<CallOutcome, JobError> {
    let metadata = claim::failure_metadata(extra, &error, ambiguous);
    outbound_calls::mark_failed(&ctx.pool, id, metadata).await?;
    items::follow(&ctx.pool, Channel::Call, id, &Final::Failed(error.clone())).await?;
    Ok(CallOutcome::Failed { error, ambiguous })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::dispatch::variables::tests::{case, clinic};
    use chrono::TimeZone;

    fn row(phone: Option<&str>) -> outbound_calls::ClaimedCall {
        outbound_calls::ClaimedCall {
            clinic_id: Uuid::nil(),
            case_id: Uuid::nil(),
            assistant_id: None,
            phone_number_id: None,
            customer_phone: phone.map(str::to_string),
            scheduled_for: None,
            metadata: None,
        }
    }

    fn ids() -> (Option<String>, Option<String>) {
        (Some("asst".into()), Some("pn".into()))
    }

    #[test]
    fn postponed_outside_the_window_only() {
        let policy = clinic().policy;
        // 23:00 UTC is in the afternoon on the US west coast (the default zone and window).
        let inside = Utc.with_ymd_and_hms(2024, 12, 12, 0, 30, 0).unwrap();
        assert_eq!(postpone_until(&policy, inside), None);
        let night = Utc.with_ymd_and_hms(2024, 12, 12, 10, 0, 0).unwrap();
        let until = postpone_until(&policy, night).unwrap();
        assert!(until > night);
        assert_eq!(postpone_until(&policy, until), None);
    }

    #[test]
    fn test_mode_dials_the_test_contact_and_keeps_the_original() {
        let mut c = clinic();
        c.test_mode = true;
        c.test_phone = Some(" (408) 555-0199 ".into());
        let (a, p) = ids();
        let t = plan_call(&c, Some("+14085550111"), a, p).unwrap();
        assert_eq!(t.number, "+14085550199");
        assert_eq!(t.extra["test_mode"], true);
        assert_eq!(t.extra["original_customer_phone"], "+14085550111");
        c.test_phone = Some("  ".into());
        let (a, p) = ids();
        let r = plan_call(&c, Some("+14085550111"), a, p).unwrap_err();
        assert!(r.error.starts_with("Test mode is enabled"));
        assert_eq!(r.extra, json!({"test_mode": true}));
    }

    #[test]
    fn refusals_for_missing_or_invalid_facts() {
        let c = clinic();
        let (a, p) = ids();
        let r = plan_call(&c, Some(" "), a, p).unwrap_err();
        assert_eq!(r, Refusal::new("Missing customer phone number", json!({})));
        let (a, p) = ids();
        assert!(plan_call(&c, Some("12"), a, p).is_err());
        let r = plan_call(&c, Some("+14085550111"), None, Some("pn".into())).unwrap_err();
        assert_eq!(r.error, "Missing assistant_id configuration");
        let r = plan_call(&c, Some("+14085550111"), Some("a".into()), None).unwrap_err();
        assert_eq!(r.error, "Missing outbound_phone_number_id configuration");
        let (a, p) = ids();
        let t = plan_call(&c, Some("(408) 555-0111"), a, p).unwrap();
        assert_eq!((t.number.as_str(), t.extra.len()), ("+14085550111", 0));
    }

    #[test]
    fn retry_ambiguous_failed_and_limit() {
        let later = VapiError::RetryLater {
            status: 429,
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            after_vapi_error(&later, 0, 1.0),
            ProviderStep::Retry(Duration::from_secs(7))
        );
        let connect = VapiError::Connect("refused".into());
        assert_eq!(
            after_vapi_error(&connect, 1, 1.0),
            ProviderStep::Retry(crate::domain::backoff::call_dispatch_retry(1, 1.0))
        );
        match after_vapi_error(&connect, MAX_DISPATCH_RETRIES, 1.0) {
            ProviderStep::Fail { error, ambiguous } => {
                assert!(error.ends_with("(gave up after 5 retries)"), "{error}");
                assert!(!ambiguous);
            }
            other => panic!("{other:?}"),
        }
        let unknown = VapiError::Ambiguous("timeout".into());
        assert!(matches!(
            after_vapi_error(&unknown, 0, 1.0),
            ProviderStep::Fail {
                ambiguous: true,
                ..
            }
        ));
        let rejected = VapiError::Rejected {
            status: 400,
            message: "bad".into(),
        };
        assert!(matches!(
            after_vapi_error(&rejected, 0, 1.0),
            ProviderStep::Fail {
                ambiguous: false,
                ..
            }
        ));
        assert_eq!(
            after_vapi_error(&VapiError::NotConfigured, 0, 1.0),
            ProviderStep::NotConfigured
        );
    }

    #[test]
    fn body_voicemail_and_test_mode_name() {
        let mut c = clinic();
        let (a, p) = ids();
        let t = plan_call(&c, Some("+14085550111"), a, p).unwrap();
        let id = Uuid::nil();
        let b = request_body(
            id,
            &row(Some("+14085550111")),
            &c,
            &case(),
            &t,
            super::variables::tests::monday_morning(),
        );
        assert_eq!(b["assistantOverrides"]["voicemailDetection"], "off");
        assert_eq!(b["customer"]["name"], "Ana Ruiz");
        assert_eq!(b["assistantId"], "asst");
        c.voicemail_enabled = true;
        c.test_mode = true;
        let b = request_body(
            id,
            &row(None),
            &c,
            &case(),
            &t,
            super::variables::tests::monday_morning(),
        );
        assert_eq!(
            b["assistantOverrides"]["voicemailDetection"]["enabled"],
            true
        );
        assert_eq!(
            b["assistantOverrides"]["voicemailMessage"],
            DEFAULT_VOICEMAIL
        );
        assert!(b["customer"].get("name").is_none());
        c.voicemail_hangup = true;
        let b = request_body(
            id,
            &row(None),
            &c,
            &case(),
            &t,
            super::variables::tests::monday_morning(),
        );
        assert_eq!(b["assistantOverrides"]["voicemailMessage"], "");
    }

    #[test]
    fn unknown_vapi_status_stays_queued() {
        assert_eq!(placed_status(None), CallStatus::Queued);
        assert_eq!(placed_status(Some("weird")), CallStatus::Queued);
    }
}
