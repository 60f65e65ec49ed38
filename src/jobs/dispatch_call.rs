//! `DispatchCall`: place one `outbound_calls` row through VAPI, at most once.
//!
//! The row is claimed by one `UPDATE … WHERE status = 'queued' AND vapi_call_id IS NULL AND
//! <due> AND NOT claimed`; PostgreSQL re-checks that predicate after a concurrent update, so of
//! any number of racing dispatchers (workers, a QStash delivery, the sweeper) exactly one gets
//! the row and sends `POST /call`. The claim is kept in `metadata` (`dispatch_claimed_at`)
//! because the spec's status values have no "dispatching" state; the row stays `queued` until
//! VAPI answers. `dispatch_sending_at` is written just before the request, so a claim left by
//! a crashed worker can be told apart: not sent → released, maybe sent → failed as ambiguous.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sqlx::Row;
use uuid::Uuid;

use super::items::{self, Channel, Final};
use super::{AppState, JobError, JobKind};
pub use crate::db::queue::DispatchCall;
use crate::domain::blocked::{blocked_reason, CaseFacts};
use crate::domain::clinic_policy::CallPolicy;
use crate::domain::clock;
use crate::providers::vapi::VapiError;

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
const DEFAULT_AGENT_NAME: &str = "Sarah";
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
}

struct Claimed {
    clinic_id: Uuid,
    case_id: Uuid,
    assistant_id: Option<String>,
    phone_number_id: Option<String>,
    customer_phone: Option<String>,
    scheduled_for: Option<DateTime<Utc>>,
    metadata: Value,
}

struct Clinic {
    name: Option<String>,
    phone: Option<String>,
    policy: CallPolicy,
    voicemail_enabled: bool,
    voicemail_hangup: bool,
    voicemail_message: Option<String>,
    test_mode: bool,
    test_phone: Option<String>,
    emergency_phone: Option<String>,
}

struct CaseInfo {
    facts: CaseFacts,
    pet_name: Option<String>,
    species: Option<String>,
    owner_name: Option<String>,
    structured_summary: Value,
}

pub async fn dispatch(ctx: &AppState, id: Uuid) -> Result<CallOutcome, JobError> {
    let pool = &ctx.pool;
    let Some(row) = claim(ctx, id).await? else {
        return Ok(CallOutcome::Skipped {
            reason: why_not_claimed(ctx, id).await?,
        });
    };
    let result = dispatch_claimed(ctx, id, row).await;
    if result.is_err() {
        // An error (e.g. the database) before the request went out: give the row back so the
        // retried job can claim it again. Once `dispatch_sending_at` is set the claim stays.
        let released = sqlx::query(
            "UPDATE outbound_calls SET metadata = metadata - 'dispatch_claimed_at' - 'dispatch_claimed_by' \
             WHERE id = $1 AND status = 'queued' AND NOT (metadata ? 'dispatch_sending_at')",
        )
        .bind(id)
        .execute(pool)
        .await;
        if let Err(e) = released {
            tracing::warn!(outbound_call_id = %id, error = %e, "cannot release call claim");
        }
    }
    result
}

async fn dispatch_claimed(ctx: &AppState, id: Uuid, row: Claimed) -> Result<CallOutcome, JobError> {
    let pool = &ctx.pool;

    let clinic = load_clinic(ctx, row.clinic_id).await?;
    let case = load_case(ctx, row.case_id).await?;

    if let Some(reason) = blocked_reason(&case.facts) {
        sqlx::query(
            "UPDATE outbound_calls SET status = 'cancelled', metadata = coalesce(metadata, '{}'::jsonb) \
             || jsonb_build_object('blocked_at', now(), 'blocked_reason', $2::text, 'auto_blocked', true) \
             WHERE id = $1",
        )
        .bind(id)
        .bind(&reason)
        .execute(pool)
        .await?;
        items::follow(pool, Channel::Call, id, &Final::Cancelled(reason.clone())).await?;
        return Ok(CallOutcome::Cancelled { reason });
    }

    let now = Utc::now();
    let opening = clock::next_in_window(
        clinic.policy.tz,
        clinic.policy.window_start,
        clinic.policy.window_end,
        now,
    );
    if opening > now {
        // Never place a call at night: move it to the next opening and come back then.
        sqlx::query(
            "UPDATE outbound_calls SET scheduled_for = $2, metadata = (coalesce(metadata, '{}'::jsonb) \
             - 'dispatch_claimed_at' - 'dispatch_claimed_by') \
             || jsonb_build_object('postponed_from', $3::timestamptz, 'postponed_reason', \
                'outside the clinic''s preferred call window') \
             WHERE id = $1",
        )
        .bind(id)
        .bind(opening)
        .bind(row.scheduled_for)
        .execute(pool)
        .await?;
        let delay = (opening - now).to_std().unwrap_or_default();
        super::enqueue_dispatch_call(pool, id, Some(delay)).await?;
        return Ok(CallOutcome::Postponed { until: opening });
    }

    // Recipient: the test contact in test mode, never the real client.
    let mut extra = Map::new();
    let raw_phone = if clinic.test_mode {
        match clinic
            .test_phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => {
                extra.insert("test_mode".into(), json!(true));
                extra.insert("original_customer_phone".into(), json!(row.customer_phone));
                p.to_string()
            }
            None => {
                let error = "Test mode is enabled but test contact phone is not configured";
                return fail(ctx, id, error.into(), false, json!({"test_mode": true})).await;
            }
        }
    } else {
        match row
            .customer_phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => p.to_string(),
            None => {
                return fail(
                    ctx,
                    id,
                    "Missing customer phone number".into(),
                    false,
                    json!({}),
                )
                .await
            }
        }
    };
    let number = match crate::domain::phone::normalize_e164(&raw_phone) {
        Ok(n) => n,
        Err(error) => return fail(ctx, id, error, false, Value::Object(extra)).await,
    };

    let assistant_id = match non_blank(row.assistant_id.clone()) {
        Some(a) => Some(a),
        None => outbound_assistant(ctx, row.clinic_id).await?,
    };
    let Some(assistant_id) = assistant_id else {
        return fail(
            ctx,
            id,
            "Missing assistant_id configuration".into(),
            false,
            Value::Object(extra),
        )
        .await;
    };
    let phone_number_id = non_blank(row.phone_number_id.clone())
        .or_else(|| non_blank(ctx.config.vapi_outbound_phone_number_id.clone()));
    let Some(phone_number_id) = phone_number_id else {
        let error = "Missing outbound_phone_number_id configuration";
        return fail(ctx, id, error.into(), false, Value::Object(extra)).await;
    };

    let variables = variable_values(&clinic, &case, &row.metadata);
    let mut overrides = Map::new();
    overrides.insert("variableValues".into(), Value::Object(variables));
    overrides.insert(
        "metadata".into(),
        json!({
            "outbound_call_id": id,
            "clinic_id": row.clinic_id,
            "case_id": row.case_id,
        }),
    );
    if clinic.voicemail_enabled {
        overrides.insert(
            "voicemailDetection".into(),
            json!({"provider": "vapi", "enabled": true}),
        );
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
    customer.insert("number".into(), json!(number));
    if let Some(owner) = &case.owner_name {
        if !clinic.test_mode {
            customer.insert("name".into(), json!(owner));
        }
    }
    let body = json!({
        "assistantId": assistant_id,
        "phoneNumberId": phone_number_id,
        "customer": customer,
        "assistantOverrides": overrides,
    });

    // Bound the calls in flight from this process (VAPI's account concurrency).
    let _permit = ctx
        .call_slots
        .acquire()
        .await
        .map_err(|e| JobError::Transient(format!("call slots closed: {e}")))?;
    sqlx::query(
        "UPDATE outbound_calls SET metadata = coalesce(metadata, '{}'::jsonb) \
         || jsonb_build_object('dispatch_sending_at', now()) WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await?;
    metrics::gauge!("odis_calls_in_flight").increment(1.0);
    let result = ctx.vapi.create_call(&body).await;
    metrics::gauge!("odis_calls_in_flight").decrement(1.0);
    drop(_permit);

    extra.insert(
        "voicemail_detection_enabled".into(),
        json!(clinic.voicemail_enabled),
    );
    match result {
        Ok(created) => {
            let status = map_vapi_status(created.status.as_deref());
            let started_at = created
                .started_at
                .as_deref()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc));
            // A VAPI webhook may already have linked the row; never move it backwards.
            sqlx::query(
                "UPDATE outbound_calls SET \
                   status = CASE WHEN vapi_call_id IS NULL THEN $3 ELSE status END, \
                   vapi_call_id = coalesce(vapi_call_id, $2), \
                   started_at = coalesce(started_at, $4), \
                   metadata = (coalesce(metadata, '{}'::jsonb) - 'dispatch_retry_at') \
                     || $5::jsonb || jsonb_build_object('executed_at', now()) \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&created.id)
            .bind(status)
            .bind(started_at)
            .bind(Value::Object(extra))
            .execute(pool)
            .await?;
            items::follow(pool, Channel::Call, id, &Final::Completed).await?;
            Ok(CallOutcome::Placed {
                vapi_call_id: created.id,
                status: status.to_string(),
            })
        }
        Err(e) if e.is_retryable() => {
            let retries = row
                .metadata
                .get("dispatch_retries")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if retries >= MAX_DISPATCH_RETRIES {
                let error = format!("{e} (gave up after {} retries)", retries);
                return fail(ctx, id, error, false, Value::Object(extra)).await;
            }
            let advised = match &e {
                VapiError::RetryLater {
                    retry_after: Some(d),
                    ..
                } => *d,
                _ => backoff(retries),
            };
            let after = advised.max(Duration::from_secs(1));
            release_for_retry(ctx, id, after, &e.to_string()).await?;
            super::enqueue_dispatch_call(pool, id, Some(after)).await?;
            Ok(CallOutcome::RetryScheduled {
                after_secs: after.as_secs(),
                error: e.to_string(),
            })
        }
        Err(VapiError::NotConfigured) => {
            // A deployment problem, not the row's: give the row back and stop this job.
            release_claim(ctx, id).await?;
            Err(JobError::NotConfigured("VAPI_API_KEY"))
        }
        Err(e) => {
            let ambiguous = matches!(e, VapiError::Ambiguous(_));
            fail(ctx, id, e.to_string(), ambiguous, Value::Object(extra)).await
        }
    }
}

fn non_blank(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn backoff(retries: i64) -> Duration {
    crate::domain::backoff::call_dispatch_retry(retries, crate::domain::backoff::jitter())
}

/// VAPI's status of a call it just created; absent or unknown means it is still `queued`.
fn map_vapi_status(s: Option<&str>) -> &'static str {
    s.and_then(crate::domain::vapi_status::map_vapi_status)
        .unwrap_or(crate::domain::status::CallStatus::Queued)
        .as_str()
}

async fn claim(ctx: &AppState, id: Uuid) -> Result<Option<Claimed>, JobError> {
    let row = sqlx::query(
        "UPDATE outbound_calls SET metadata = coalesce(metadata, '{}'::jsonb) \
           || jsonb_build_object('dispatch_claimed_at', now(), 'dispatch_claimed_by', $2::text) \
         WHERE id = $1 AND status = 'queued' AND vapi_call_id IS NULL \
           AND (scheduled_for IS NULL OR scheduled_for <= now()) \
           AND NOT (coalesce(metadata, '{}'::jsonb) ? 'dispatch_claimed_at') \
           AND (metadata->>'dispatch_retry_at' IS NULL OR (metadata->>'dispatch_retry_at')::timestamptz <= now()) \
         RETURNING clinic_id, case_id, assistant_id, outbound_phone_number_id, customer_phone, \
           scheduled_for, metadata",
    )
    .bind(id)
    .bind(&*ctx.instance)
    .fetch_optional(&ctx.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Claimed {
        clinic_id: r.try_get("clinic_id")?,
        case_id: r.try_get("case_id")?,
        assistant_id: r.try_get("assistant_id")?,
        phone_number_id: r.try_get("outbound_phone_number_id")?,
        customer_phone: r.try_get("customer_phone")?,
        scheduled_for: r.try_get("scheduled_for")?,
        metadata: r
            .try_get::<Option<Value>, _>("metadata")?
            .unwrap_or(Value::Null),
    }))
}

async fn why_not_claimed(ctx: &AppState, id: Uuid) -> Result<String, JobError> {
    let row = sqlx::query(
        "SELECT status, vapi_call_id IS NOT NULL AS placed, \
           coalesce(metadata, '{}'::jsonb) ? 'dispatch_claimed_at' AS claimed, \
           scheduled_for > now() AS early \
         FROM outbound_calls WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&ctx.pool)
    .await?;
    let Some(r) = row else {
        return Ok("outbound call not found".into());
    };
    let status: Option<String> = r.try_get("status")?;
    Ok(if r.try_get::<bool, _>("placed")? {
        "already placed".into()
    } else if status.as_deref() != Some("queued") {
        format!("status is {}", status.unwrap_or_else(|| "null".into()))
    } else if r.try_get::<bool, _>("claimed")? {
        "claimed by another dispatcher".into()
    } else {
        "not due yet".into()
    })
}

async fn load_clinic(ctx: &AppState, clinic_id: Uuid) -> Result<Clinic, JobError> {
    let r = sqlx::query(
        "SELECT c.name, c.phone, c.timezone, \
           coalesce(s.voicemail_detection_enabled, false) AS vm_enabled, \
           coalesce(s.voicemail_hangup_on_detection, false) AS vm_hangup, \
           s.voicemail_message, \
           s.preferred_call_start_time AS window_start, \
           s.preferred_call_end_time AS window_end, \
           coalesce(s.test_mode_enabled, false) AS test_mode, s.test_contact_phone, s.emergency_phone \
         FROM clinics c LEFT JOIN clinic_settings s ON s.clinic_id = c.id WHERE c.id = $1",
    )
    .bind(clinic_id)
    .fetch_one(&ctx.pool)
    .await?;
    Ok(Clinic {
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        policy: CallPolicy::from_columns(
            clinic_id,
            r.try_get::<Option<String>, _>("timezone")?.as_deref(),
            r.try_get("window_start")?,
            r.try_get("window_end")?,
            None,
        ),
        voicemail_enabled: r.try_get("vm_enabled")?,
        voicemail_hangup: r.try_get("vm_hangup")?,
        voicemail_message: r.try_get("voicemail_message")?,
        test_mode: r.try_get("test_mode")?,
        test_phone: r.try_get("test_contact_phone")?,
        emergency_phone: r.try_get("emergency_phone")?,
    })
}

/// The case, its patient/client and latest discharge summary — shared with email dispatch.
pub(crate) async fn load_case_facts(
    ctx: &AppState,
    case_id: Uuid,
) -> Result<(CaseFacts, sqlx::postgres::PgRow), JobError> {
    let r = sqlx::query(
        "SELECT k.type, k.detected_case_type, coalesce(k.metadata, '{}'::jsonb) AS metadata, \
           coalesce(k.entity_extraction, '{}'::jsonb) AS entity_extraction, \
           coalesce(k.extreme_case_check, '{}'::jsonb) AS extreme_case_check, \
           coalesce(k.patient_snapshot, '{}'::jsonb) AS snapshot, \
           p.name AS patient_name, p.species, coalesce(p.is_deceased, false) AS deceased, \
           cl.display_name AS client_name, \
           d.content AS summary, coalesce(d.structured_content, '{}'::jsonb) AS structured \
         FROM cases k \
         LEFT JOIN patients p ON p.id = k.patient_id \
         LEFT JOIN clients cl ON cl.id = k.client_id \
         LEFT JOIN LATERAL (SELECT content, structured_content FROM discharge_summaries \
                            WHERE case_id = k.id ORDER BY created_at DESC LIMIT 1) d ON true \
         WHERE k.id = $1",
    )
    .bind(case_id)
    .fetch_one(&ctx.pool)
    .await?;
    let facts = CaseFacts {
        case_type: r.try_get("type")?,
        detected_case_type: r.try_get("detected_case_type")?,
        metadata: r.try_get("metadata")?,
        entity_extraction: r.try_get("entity_extraction")?,
        extreme_case_check: r.try_get("extreme_case_check")?,
        patient_deceased: r.try_get("deceased")?,
        discharge_summary: r.try_get("summary")?,
    };
    Ok((facts, r))
}

async fn load_case(ctx: &AppState, case_id: Uuid) -> Result<CaseInfo, JobError> {
    let (facts, r) = load_case_facts(ctx, case_id).await?;
    let snapshot: Value = r.try_get("snapshot")?;
    let snap = |k: &str| snapshot.get(k).and_then(Value::as_str).map(str::to_string);
    let pet_name = non_blank(r.try_get("patient_name")?).or_else(|| non_blank(snap("name")));
    let species = non_blank(r.try_get("species")?).or_else(|| non_blank(snap("species")));
    let owner_name = non_blank(snap("owner_name"))
        .or_else(|| non_blank(r.try_get("client_name").ok().flatten()));
    Ok(CaseInfo {
        facts,
        pet_name,
        species,
        owner_name,
        structured_summary: r.try_get("structured")?,
    })
}

async fn outbound_assistant(ctx: &AppState, clinic_id: Uuid) -> Result<Option<String>, JobError> {
    Ok(sqlx::query_scalar(
        "SELECT assistant_id FROM vapi_assistant_mappings \
         WHERE clinic_id = $1 AND coalesce(is_active, true) AND assistant_type = 'outbound' \
         ORDER BY (environment = 'production') DESC NULLS LAST, created_at DESC LIMIT 1",
    )
    .bind(clinic_id)
    .fetch_optional(&ctx.pool)
    .await?)
}

/// `assistantOverrides.variableValues` (behavior.md §8): base values from the clinic, case and
/// latest summary, then the variables stored at scheduling (`metadata.dynamic_variables`),
/// which win on a collision as they did before.
fn variable_values(clinic: &Clinic, case: &CaseInfo, metadata: &Value) -> Map<String, Value> {
    let mut v = Map::new();
    let mut put = |k: &str, val: Value| {
        v.insert(k.to_string(), val);
    };
    let clinic_phone = clinic.phone.clone().unwrap_or_default();
    put(
        "clinic_name",
        json!(clinic.name.clone().unwrap_or_else(|| "Your Clinic".into())),
    );
    put("agent_name", json!(DEFAULT_AGENT_NAME));
    let pet_first = case
        .pet_name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .unwrap_or("your pet");
    put("pet_name", json!(pet_first));
    put(
        "owner_name",
        json!(case.owner_name.clone().unwrap_or_default()),
    );
    put("appointment_date", json!("recent visit"));
    put("call_type", json!("discharge"));
    put("clinic_phone", json!(clinic_phone));
    put(
        "emergency_phone",
        json!(clinic
            .emergency_phone
            .clone()
            .unwrap_or_else(|| clinic_phone.clone())),
    );
    put(
        "discharge_summary",
        json!(case.facts.discharge_summary.clone().unwrap_or_default()),
    );
    if let Some(species) = &case.species {
        let s = species.trim().to_lowercase();
        let s = if s == "dog" || s == "cat" {
            s
        } else {
            "other".into()
        };
        put("pet_species", json!(s));
    }
    let sc = &case.structured_summary;
    if let Some(Value::Array(meds)) = sc.get("medications") {
        let list: Vec<String> = meds
            .iter()
            .map(|m| {
                ["name", "dosage", "frequency"]
                    .iter()
                    .filter_map(|k| m.get(*k).and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|s| !s.is_empty())
            .collect();
        if !list.is_empty() {
            put("medications", json!(list.join(", ")));
        }
    }
    if let Some(Value::Array(signs)) = sc.get("warningSigns") {
        let list: Vec<&str> = signs.iter().filter_map(Value::as_str).collect();
        if !list.is_empty() {
            put("warning_signs_to_monitor", json!(list));
        }
    }
    let next_steps = sc
        .pointer("/followUp/reason")
        .and_then(Value::as_str)
        .or_else(|| sc.get("notes").and_then(Value::as_str));
    if let Some(n) = next_steps {
        put("next_steps", json!(n));
    }
    if let Some(Value::Object(stored)) = metadata.get("dynamic_variables") {
        for (k, val) in stored {
            if !val.is_null() {
                v.insert(k.clone(), val.clone());
            }
        }
    }
    v
}

async fn fail(
    ctx: &AppState,
    id: Uuid,
    error: String,
    ambiguous: bool,
    extra: Value,
) -> Result<CallOutcome, JobError> {
    let mut extra = match extra {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    extra.insert("error".into(), json!(error));
    if ambiguous {
        // Unknown whether VAPI placed the call: never retried blindly. A VAPI webhook that
        // carries our outbound_call_id may still link it later.
        extra.insert("dispatch_ambiguous".into(), json!(true));
    }
    sqlx::query(
        "UPDATE outbound_calls SET status = 'failed', metadata = coalesce(metadata, '{}'::jsonb) \
         || $2::jsonb || jsonb_build_object('failed_at', now()) WHERE id = $1",
    )
    .bind(id)
    .bind(Value::Object(extra))
    .execute(&ctx.pool)
    .await?;
    items::follow(&ctx.pool, Channel::Call, id, &Final::Failed(error.clone())).await?;
    Ok(CallOutcome::Failed { error, ambiguous })
}

async fn release_for_retry(
    ctx: &AppState,
    id: Uuid,
    after: Duration,
    error: &str,
) -> Result<(), JobError> {
    sqlx::query(
        "UPDATE outbound_calls SET metadata = (coalesce(metadata, '{}'::jsonb) \
           - 'dispatch_claimed_at' - 'dispatch_claimed_by' - 'dispatch_sending_at') \
           || jsonb_build_object( \
                'dispatch_retry_at', now() + make_interval(secs => $2), \
                'dispatch_retries', coalesce((metadata->>'dispatch_retries')::int, 0) + 1, \
                'last_dispatch_error', $3::text) \
         WHERE id = $1",
    )
    .bind(id)
    .bind(after.as_secs_f64())
    .bind(error)
    .execute(&ctx.pool)
    .await?;
    Ok(())
}

async fn release_claim(ctx: &AppState, id: Uuid) -> Result<(), JobError> {
    sqlx::query(
        "UPDATE outbound_calls SET metadata = coalesce(metadata, '{}'::jsonb) \
           - 'dispatch_claimed_at' - 'dispatch_claimed_by' - 'dispatch_sending_at' WHERE id = $1",
    )
    .bind(id)
    .execute(&ctx.pool)
    .await?;
    Ok(())
}
