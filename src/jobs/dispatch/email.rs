//! `DispatchEmail`: send one `outbound_emails` row through Resend, at most once
//! (`docs/behaviour.md#dispatch-email`).
//!
//! Claimed like calls (see [`super::claim`]). Every send carries `Idempotency-Key: <row id>`,
//! so unlike a call an email whose outcome is unknown (timeout, 5xx) is simply sent again:
//! Resend answers the repeat with the first result. The decisions are the pure functions
//! below; the SQL is in `db::outbound_emails`.
//!
//! May import: `db`, `domain`, `providers`, `state`, `jobs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::claim;
use crate::db::clinics::{self, EmailTestMode};
use crate::db::outbound_emails::{self, ClaimedEmail};
use crate::db::provider_limits;
pub use crate::db::queue::DispatchEmail;
use crate::domain::blocked::blocked_reason;
use crate::domain::clinic_policy::{email_postpone_until, zone_of};
use crate::domain::dispatch_meta;
use crate::domain::provider_limits::{send_interval, RESEND_BUCKET};
use crate::jobs::items::{self, Channel, Final};
use crate::jobs::{AppState, JobError, JobKind};
use crate::providers::resend::{ResendError, SendEmail};

impl JobKind for DispatchEmail {
    fn concurrency(ctx: &AppState) -> usize {
        (ctx.config.resend_max_rps as usize).clamp(1, 10)
    }

    async fn run(self, ctx: AppState) -> Result<Value, JobError> {
        let outcome = dispatch(&ctx, self.outbound_email_id).await?;
        serde_json::to_value(outcome).map_err(|e| JobError::Transient(e.to_string()))
    }
}

/// Sends attempted before a transiently failing email is given up.
pub const MAX_SEND_ATTEMPTS: i64 = crate::domain::backoff::MAX_EMAIL_SEND_ATTEMPTS;

#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EmailOutcome {
    Sent {
        resend_email_id: String,
    },
    Skipped {
        reason: String,
    },
    /// Due outside waking hours in the clinic's zone: moved to the next opening, re-enqueued.
    Postponed {
        until: DateTime<Utc>,
    },
    RetryScheduled {
        after_secs: u64,
        error: String,
    },
    Cancelled {
        reason: String,
    },
    Failed {
        error: String,
    },
}

/// An email that must not be sent: the row is failed with `error`, `extra` in its metadata.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub error: String,
    pub extra: Value,
}

/// Who gets the email: the test contact in test mode (never the real client), else the
/// recipient; plus the metadata recording the substitution.
pub fn recipient(
    test: &EmailTestMode,
    row: &ClaimedEmail,
) -> Result<(String, Map<String, Value>), Refusal> {
    let mut extra = Map::new();
    let to = if test.test_mode {
        let test_email = test.test_contact_email.as_deref().map(str::trim);
        let Some(t) = test_email.filter(|e| !e.is_empty()) else {
            return Err(Refusal {
                error: "Test mode is enabled but test contact email is not configured".into(),
                extra: json!({"test_mode": true}),
            });
        };
        extra.insert("test_mode".into(), json!(true));
        extra.insert(
            "original_recipient_email".into(),
            json!(row.recipient_email),
        );
        extra.insert("original_recipient_name".into(), json!(row.recipient_name));
        t.to_string()
    } else {
        row.recipient_email.trim().to_string()
    };
    if !to.contains('@') {
        return Err(Refusal {
            error: format!("Invalid email address: {to:?}"),
            extra: Value::Object(extra),
        });
    }
    Ok((to, extra))
}

/// The subject, or the refusal when it is blank.
pub fn subject(row: &ClaimedEmail, extra: &Map<String, Value>) -> Result<String, Refusal> {
    row.subject
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| Refusal {
            error: "Missing subject".into(),
            extra: Value::Object(extra.clone()),
        })
}

/// After a transient Resend failure, with this try being attempt `attempts` (first = 1):
/// `Ok(delay)` to send again, `Err(error)` to give up.
pub fn after_transient(
    message: &str,
    retry_after: Option<Duration>,
    attempts: i64,
    jitter: f64,
) -> Result<Duration, String> {
    let fallback = || crate::domain::backoff::email_send_retry(attempts, jitter);
    claim::retry_delay(attempts, MAX_SEND_ATTEMPTS, retry_after, fallback)
        .ok_or_else(|| format!("{message} (gave up after {attempts} attempts)"))
}

pub async fn dispatch(ctx: &AppState, id: Uuid) -> Result<EmailOutcome, JobError> {
    let pool = &ctx.pool;
    let Some(row) = outbound_emails::claim_for_dispatch(pool, id, &ctx.instance).await? else {
        let status = outbound_emails::status_of(pool, id).await?;
        let reason = claim::email_skip_reason(status);
        return Ok(EmailOutcome::Skipped { reason });
    };
    let result = dispatch_claimed(ctx, id, row).await;
    if result.is_err() {
        // Safe at any point for emails: a repeated send carries the same Idempotency-Key.
        if let Err(e) = outbound_emails::release_claim(pool, id).await {
            tracing::warn!(outbound_email_id = %id, error = %e, "cannot release email claim");
        }
    }
    result
}

async fn dispatch_claimed(
    ctx: &AppState,
    id: Uuid,
    row: ClaimedEmail,
) -> Result<EmailOutcome, JobError> {
    let pool = &ctx.pool;
    let Some(case) = crate::db::cases::load_for_dispatch(pool, row.case_id, row.clinic_id).await?
    else {
        let error = claim::CASE_NOT_IN_CLINIC.into();
        return fail(ctx, id, error, Value::Null).await;
    };
    if let Some(reason) = blocked_reason(&case.facts) {
        outbound_emails::cancel_blocked(pool, id, &reason).await?;
        items::follow(pool, Channel::Email, id, &Final::Cancelled(reason.clone())).await?;
        return Ok(EmailOutcome::Cancelled { reason });
    }
    let test = clinics::email_test_mode(pool, row.clinic_id).await?;
    let planned = recipient(&test, &row).and_then(|(to, extra)| {
        let subject = subject(&row, &extra)?;
        Ok((to, subject, extra))
    });
    let (to, subject, extra) = match planned {
        Ok(p) => p,
        Err(r) => return fail(ctx, id, r.error, r.extra).await,
    };
    let Some(from) = ctx.config.email_from.clone() else {
        outbound_emails::release_claim(pool, id).await?;
        return Err(JobError::NotConfigured("EMAIL_FROM"));
    };
    // Never at night in the clinic's zone (`docs/behaviour.md#email-waking-hours`).
    let now = Utc::now();
    let tz = zone_of(row.clinic_id, test.timezone.as_deref());
    if let Some(until) = email_postpone_until(tz, now) {
        outbound_emails::postpone_to_waking_hours(pool, id, until, row.scheduled_for).await?;
        let delay = (until - now).to_std().unwrap_or_default();
        crate::jobs::enqueue_dispatch_email(pool, id, Some(delay)).await?;
        return Ok(EmailOutcome::Postponed { until });
    }
    let email = SendEmail {
        from,
        to: vec![to],
        subject,
        html: row.html_content.clone(),
        text: row.text_content.clone(),
    };
    // Resend's rate is per team: the booking is shared by every process
    // (`docs/behaviour.md#provider-limits`).
    let interval = send_interval(ctx.config.resend_max_rps);
    let wait = provider_limits::book_send(pool, RESEND_BUCKET, interval).await?;
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let result = ctx.resend.send(&email, &id.to_string()).await;
    let attempts = claim::count_in(&row.metadata, dispatch_meta::ATTEMPTS) + 1;
    settle(ctx, id, result, attempts, extra).await
}

/// Writes what Resend answered.
async fn settle(
    ctx: &AppState,
    id: Uuid,
    result: Result<String, ResendError>,
    attempts: i64,
    extra: Map<String, Value>,
) -> Result<EmailOutcome, JobError> {
    let pool = &ctx.pool;
    match result {
        Ok(resend_id) => {
            outbound_emails::record_sent(pool, id, &resend_id, Value::Object(extra)).await?;
            items::follow(pool, Channel::Email, id, &Final::Completed).await?;
            Ok(EmailOutcome::Sent {
                resend_email_id: resend_id,
            })
        }
        Err(ResendError::Transient {
            message,
            retry_after,
        }) => {
            let jitter = crate::domain::backoff::jitter();
            let after = match after_transient(&message, retry_after, attempts, jitter) {
                Ok(after) => after,
                Err(error) => return fail(ctx, id, error, Value::Object(extra)).await,
            };
            let secs = after.as_secs_f64();
            outbound_emails::release_for_retry(pool, id, secs, attempts as i32, &message).await?;
            crate::jobs::enqueue_dispatch_email(pool, id, Some(after)).await?;
            Ok(EmailOutcome::RetryScheduled {
                after_secs: after.as_secs(),
                error: message,
            })
        }
        Err(ResendError::NotConfigured) => {
            outbound_emails::release_claim(pool, id).await?;
            Err(JobError::NotConfigured("RESEND_API_KEY"))
        }
        Err(e) => fail(ctx, id, e.to_string(), Value::Object(extra)).await,
    }
}

async fn fail(
    ctx: &AppState,
    id: Uuid,
    error: String,
    extra: Value,
) -> Result<EmailOutcome, JobError> {
    let metadata = claim::failure_metadata(extra, &error, false);
    outbound_emails::mark_failed(&ctx.pool, id, metadata).await?;
    items::follow(&ctx.pool, Channel::Email, id, &Final::Failed(error.clone())).await?;
    Ok(EmailOutcome::Failed { error })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(to: &str, subject: Option<&str>) -> ClaimedEmail {
        ClaimedEmail {
            clinic_id: Uuid::nil(),
            case_id: Uuid::nil(),
            recipient_email: to.into(),
            recipient_name: Some("Ana".into()),
            subject: subject.map(str::to_string),
            html_content: None,
            text_content: None,
            scheduled_for: None,
            metadata: json!({}),
        }
    }

    fn test_mode(email: Option<&str>) -> EmailTestMode {
        EmailTestMode {
            test_mode: true,
            test_contact_email: email.map(str::to_string),
            timezone: None,
        }
    }

    #[test]
    fn real_recipient_is_trimmed_and_checked() {
        let off = EmailTestMode::default();
        let (to, extra) = recipient(&off, &row(" ana@example.com ", None)).unwrap();
        assert_eq!((to.as_str(), extra.len()), ("ana@example.com", 0));
        let r = recipient(&off, &row("nobody", None)).unwrap_err();
        assert_eq!(r.error, "Invalid email address: \"nobody\"");
    }

    #[test]
    fn test_mode_redirects_and_records_the_original() {
        let (to, extra) =
            recipient(&test_mode(Some(" qa@clinic.test ")), &row("a@b.c", None)).unwrap();
        assert_eq!(to, "qa@clinic.test");
        assert_eq!(extra["original_recipient_email"], "a@b.c");
        assert_eq!(extra["original_recipient_name"], "Ana");
        let r = recipient(&test_mode(Some(" ")), &row("a@b.c", None)).unwrap_err();
        assert_eq!(r.extra, json!({"test_mode": true}));
    }

    #[test]
    fn blank_subject_is_refused() {
        let extra = Map::new();
        assert!(subject(&row("a@b.c", Some("  ")), &extra).is_err());
        assert_eq!(subject(&row("a@b.c", Some("Hi")), &extra).unwrap(), "Hi");
    }

    #[test]
    fn transient_failures_retry_until_the_limit() {
        let advised = Some(Duration::from_secs(3));
        assert_eq!(
            after_transient("x", advised, 1, 1.0),
            Ok(Duration::from_secs(3))
        );
        assert_eq!(
            after_transient("x", None, 2, 1.0),
            Ok(crate::domain::backoff::email_send_retry(2, 1.0).max(claim::MIN_RETRY_DELAY))
        );
        assert_eq!(
            after_transient("x", None, MAX_SEND_ATTEMPTS, 1.0),
            Err(format!("x (gave up after {MAX_SEND_ATTEMPTS} attempts)"))
        );
    }
}
