//! `DispatchEmail`: send one `outbound_emails` row through Resend, at most once.
//!
//! Claimed like calls (one conditional `UPDATE`, marker in `metadata`). Every send carries
//! `Idempotency-Key: <row id>`, so unlike a call an email whose outcome is unknown (timeout,
//! 5xx) is simply sent again: Resend answers the repeat with the first result.

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};
use sqlx::Row;
use uuid::Uuid;

use super::items::{self, Channel, Final};
use super::{AppState, JobError, JobKind};
pub use crate::db::queue::DispatchEmail;
use crate::domain::blocked::blocked_reason;
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
    Sent { resend_email_id: String },
    Skipped { reason: String },
    RetryScheduled { after_secs: u64, error: String },
    Cancelled { reason: String },
    Failed { error: String },
}

pub async fn dispatch(ctx: &AppState, id: Uuid) -> Result<EmailOutcome, JobError> {
    let pool = &ctx.pool;
    let claimed = sqlx::query(
        "UPDATE outbound_emails SET metadata = coalesce(metadata, '{}'::jsonb) \
           || jsonb_build_object('dispatch_claimed_at', now(), 'dispatch_claimed_by', $2::text) \
         WHERE id = $1 AND status = 'queued' AND resend_email_id IS NULL \
           AND (scheduled_for IS NULL OR scheduled_for <= now()) \
           AND NOT (coalesce(metadata, '{}'::jsonb) ? 'dispatch_claimed_at') \
           AND (metadata->>'dispatch_retry_at' IS NULL OR (metadata->>'dispatch_retry_at')::timestamptz <= now()) \
         RETURNING clinic_id, case_id, recipient_email, recipient_name, subject, html_content, \
           text_content, coalesce(metadata, '{}'::jsonb) AS metadata",
    )
    .bind(id)
    .bind(&*ctx.instance)
    .fetch_optional(pool)
    .await?;
    let Some(row) = claimed else {
        let status: Option<Option<String>> =
            sqlx::query_scalar("SELECT status FROM outbound_emails WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?;
        let reason = match status {
            None => "outbound email not found".to_string(),
            Some(Some(s)) if s != "queued" => format!("status is {s}"),
            Some(_) => "not due yet or claimed by another dispatcher".to_string(),
        };
        return Ok(EmailOutcome::Skipped { reason });
    };
    let result = dispatch_claimed(ctx, id, row).await;
    if result.is_err() {
        // Safe at any point for emails: a repeated send carries the same Idempotency-Key.
        if let Err(e) = release_claim(ctx, id).await {
            tracing::warn!(outbound_email_id = %id, error = %e, "cannot release email claim");
        }
    }
    result
}

async fn dispatch_claimed(
    ctx: &AppState,
    id: Uuid,
    row: sqlx::postgres::PgRow,
) -> Result<EmailOutcome, JobError> {
    let pool = &ctx.pool;
    let clinic_id: Uuid = row.try_get("clinic_id")?;
    let case_id: Uuid = row.try_get("case_id")?;
    let metadata: Value = row.try_get("metadata")?;

    let (facts, _) = super::dispatch_call::load_case_facts(ctx, case_id).await?;
    if let Some(reason) = blocked_reason(&facts) {
        sqlx::query(
            "UPDATE outbound_emails SET status = 'cancelled', metadata = coalesce(metadata, '{}'::jsonb) \
             || jsonb_build_object('blocked_reason', $2::text, 'cancelled_at', now()) WHERE id = $1",
        )
        .bind(id)
        .bind(&reason)
        .execute(pool)
        .await?;
        items::follow(pool, Channel::Email, id, &Final::Cancelled(reason.clone())).await?;
        return Ok(EmailOutcome::Cancelled { reason });
    }

    let settings = sqlx::query(
        "SELECT coalesce(test_mode_enabled, false) AS test_mode, test_contact_email \
         FROM clinic_settings WHERE clinic_id = $1",
    )
    .bind(clinic_id)
    .fetch_optional(pool)
    .await?;
    let (test_mode, test_email): (bool, Option<String>) = match &settings {
        Some(r) => (r.try_get("test_mode")?, r.try_get("test_contact_email")?),
        None => (false, None),
    };

    let recipient: String = row.try_get("recipient_email")?;
    let mut extra = Map::new();
    let to = if test_mode {
        match test_email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            Some(t) => {
                extra.insert("test_mode".into(), json!(true));
                extra.insert("original_recipient_email".into(), json!(recipient));
                extra.insert(
                    "original_recipient_name".into(),
                    json!(row.try_get::<Option<String>, _>("recipient_name")?),
                );
                t.to_string()
            }
            None => {
                let error = "Test mode is enabled but test contact email is not configured";
                return fail(ctx, id, error.into(), json!({"test_mode": true})).await;
            }
        }
    } else {
        recipient.trim().to_string()
    };
    if !to.contains('@') {
        return fail(
            ctx,
            id,
            format!("Invalid email address: {to:?}"),
            Value::Object(extra),
        )
        .await;
    }
    let Some(subject) = row
        .try_get::<Option<String>, _>("subject")?
        .filter(|s| !s.trim().is_empty())
    else {
        return fail(ctx, id, "Missing subject".into(), Value::Object(extra)).await;
    };
    let Some(from) = ctx.config.email_from.clone() else {
        release_claim(ctx, id).await?;
        return Err(JobError::NotConfigured("EMAIL_FROM"));
    };
    let email = SendEmail {
        from,
        to: vec![to],
        subject,
        html: row.try_get("html_content")?,
        text: row.try_get("text_content")?,
    };

    ctx.email_rate.acquire().await;
    match ctx.resend.send(&email, &id.to_string()).await {
        Ok(resend_id) => {
            sqlx::query(
                "UPDATE outbound_emails SET status = 'sent', sent_at = now(), resend_email_id = $2, \
                   metadata = (coalesce(metadata, '{}'::jsonb) - 'dispatch_retry_at') || $3::jsonb \
                     || jsonb_build_object('sent_at', now()) \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&resend_id)
            .bind(Value::Object(extra))
            .execute(pool)
            .await?;
            items::follow(pool, Channel::Email, id, &Final::Completed).await?;
            Ok(EmailOutcome::Sent {
                resend_email_id: resend_id,
            })
        }
        Err(ResendError::Transient {
            message,
            retry_after,
        }) => {
            let attempts = metadata
                .get("dispatch_attempts")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                + 1;
            if attempts >= MAX_SEND_ATTEMPTS {
                let error = format!("{message} (gave up after {attempts} attempts)");
                return fail(ctx, id, error, Value::Object(extra)).await;
            }
            let after = retry_after
                .unwrap_or_else(|| backoff(attempts))
                .max(Duration::from_secs(1));
            sqlx::query(
                "UPDATE outbound_emails SET metadata = (coalesce(metadata, '{}'::jsonb) \
                   - 'dispatch_claimed_at' - 'dispatch_claimed_by') \
                   || jsonb_build_object('dispatch_retry_at', now() + make_interval(secs => $2), \
                        'dispatch_attempts', $3::int, 'last_dispatch_error', $4::text) \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(after.as_secs_f64())
            .bind(attempts as i32)
            .bind(&message)
            .execute(pool)
            .await?;
            super::enqueue_dispatch_email(pool, id, Some(after)).await?;
            Ok(EmailOutcome::RetryScheduled {
                after_secs: after.as_secs(),
                error: message,
            })
        }
        Err(ResendError::NotConfigured) => {
            release_claim(ctx, id).await?;
            Err(JobError::NotConfigured("RESEND_API_KEY"))
        }
        Err(e) => fail(ctx, id, e.to_string(), Value::Object(extra)).await,
    }
}

fn backoff(attempts: i64) -> Duration {
    crate::domain::backoff::email_send_retry(attempts, crate::domain::backoff::jitter())
}

async fn fail(
    ctx: &AppState,
    id: Uuid,
    error: String,
    extra: Value,
) -> Result<EmailOutcome, JobError> {
    let mut extra = match extra {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    extra.insert("error".into(), json!(error));
    sqlx::query(
        "UPDATE outbound_emails SET status = 'failed', metadata = coalesce(metadata, '{}'::jsonb) \
         || $2::jsonb || jsonb_build_object('failed_at', now()) WHERE id = $1",
    )
    .bind(id)
    .bind(Value::Object(extra))
    .execute(&ctx.pool)
    .await?;
    items::follow(&ctx.pool, Channel::Email, id, &Final::Failed(error.clone())).await?;
    Ok(EmailOutcome::Failed { error })
}

async fn release_claim(ctx: &AppState, id: Uuid) -> Result<(), JobError> {
    sqlx::query(
        "UPDATE outbound_emails SET metadata = coalesce(metadata, '{}'::jsonb) \
           - 'dispatch_claimed_at' - 'dispatch_claimed_by' WHERE id = $1",
    )
    .bind(id)
    .execute(&ctx.pool)
    .await?;
    Ok(())
}
