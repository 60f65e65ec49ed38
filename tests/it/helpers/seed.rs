//! The seeding factory: one function per kind of row the tests need, each taking an options
//! struct whose `Default` is a plausible row, so a test names only what matters to it:
//!
//! ```ignore
//! let clinic = seed::clinic(&pool, ClinicOpts { timezone: "Asia/Kolkata".into(), ..Default::default() }).await;
//! let case = seed::case(&pool, CaseOpts { clinic_id: clinic, ..Default::default() }).await;
//! ```
//!
//! * Every function takes anything that yields a connection (`&PgPool`, `&mut PgConnection`,
//!   `&mut Transaction`), returns the new row's id, and panics with the SQL when the insert fails.
//! * An `Option` field left `None` leaves its column to the database default (mostly NULL)
//!   unless its doc says otherwise; ids of parents default to the nil UUID, which no parent has
//!   (name the parent).
//! * Composite seeds build a whole scenario: [`discharge_case`] is a clinic ready to dispatch one
//!   discharge follow-up call and email, [`due_call`] and [`due_email`] add the rows to dispatch.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::postgres::PgArguments;
use sqlx::{Acquire, Arguments, AssertSqlSafe, Encode, PgPool, Postgres, Type};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Clinics and their configuration
// ---------------------------------------------------------------------------------------------

pub struct ClinicOpts {
    /// Unique per database.
    pub name: String,
    /// `None`: the name, lower case, spaces as dashes.
    pub slug: Option<String>,
    pub timezone: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub clerk_org_id: Option<String>,
}

impl Default for ClinicOpts {
    fn default() -> Self {
        Self {
            name: "Happy Paws".into(),
            slug: None,
            timezone: "America/Los_Angeles".into(),
            phone: Some("(408) 555-0100".into()),
            email: None,
            clerk_org_id: None,
        }
    }
}

impl ClinicOpts {
    /// A clinic called `name` in time zone `timezone`, otherwise the defaults.
    pub fn named(name: &str, timezone: &str) -> Self {
        Self {
            name: name.into(),
            timezone: timezone.into(),
            ..Default::default()
        }
    }
}

pub async fn clinic(db: impl Acquire<'_, Database = Postgres>, o: ClinicOpts) -> Uuid {
    let slug = o
        .slug
        .unwrap_or_else(|| o.name.to_lowercase().replace(' ', "-"));
    Insert::into("clinics")
        .bind("name", o.name)
        .bind("slug", slug)
        .bind("timezone", o.timezone)
        .bind_opt("phone", o.phone)
        .bind_opt("email", o.email)
        .bind_opt("clerk_org_id", o.clerk_org_id)
        .returning_id(db)
        .await
}

/// `clinic_settings`; times are `HH:MM[:SS[.ffffff]]`.
#[derive(Default)]
pub struct ClinicSettingsOpts {
    pub clinic_id: Uuid,
    pub preferred_call_start_time: Option<String>,
    pub preferred_call_end_time: Option<String>,
    pub preferred_email_start_time: Option<String>,
    pub email_delay_days: Option<i32>,
    pub call_delay_days: Option<i32>,
    pub voicemail_detection_enabled: Option<bool>,
    pub voicemail_message: Option<String>,
}

pub async fn clinic_settings(
    db: impl Acquire<'_, Database = Postgres>,
    o: ClinicSettingsOpts,
) -> Uuid {
    Insert::into("clinic_settings")
        .bind("clinic_id", o.clinic_id)
        .bind_opt_as(
            "preferred_call_start_time",
            o.preferred_call_start_time,
            "time",
        )
        .bind_opt_as("preferred_call_end_time", o.preferred_call_end_time, "time")
        .bind_opt_as(
            "preferred_email_start_time",
            o.preferred_email_start_time,
            "time",
        )
        .bind_opt("email_delay_days", o.email_delay_days)
        .bind_opt("call_delay_days", o.call_delay_days)
        .bind_opt("voicemail_detection_enabled", o.voicemail_detection_enabled)
        .bind_opt("voicemail_message", o.voicemail_message)
        .returning_id(db)
        .await
}

/// `auto_scheduling_config`. Every column is written: the defaults are the columns' own
/// defaults (except `is_enabled`), and `None` stores NULL (the value then comes from a lower
/// precedence level).
pub struct AutoSchedulingConfigOpts {
    pub clinic_id: Uuid,
    pub is_enabled: bool,
    pub email_delay_days: Option<i32>,
    pub call_delay_days: Option<i32>,
    pub preferred_email_time: Option<String>,
    pub preferred_call_time: Option<String>,
    pub scheduling_criteria: Value,
}

impl Default for AutoSchedulingConfigOpts {
    fn default() -> Self {
        Self {
            clinic_id: Uuid::nil(),
            is_enabled: true,
            email_delay_days: Some(1),
            call_delay_days: Some(3),
            preferred_email_time: Some("10:00".into()),
            preferred_call_time: Some("16:00".into()),
            scheduling_criteria: json!({}),
        }
    }
}

pub async fn auto_scheduling_config(
    db: impl Acquire<'_, Database = Postgres>,
    o: AutoSchedulingConfigOpts,
) -> Uuid {
    Insert::into("auto_scheduling_config")
        .bind("clinic_id", o.clinic_id)
        .bind("is_enabled", o.is_enabled)
        .bind("email_delay_days", o.email_delay_days)
        .bind("call_delay_days", o.call_delay_days)
        .bind_as("preferred_email_time", o.preferred_email_time, "time")
        .bind_as("preferred_call_time", o.preferred_call_time, "time")
        .bind("scheduling_criteria", o.scheduling_criteria)
        .returning_id(db)
        .await
}

/// `clinic_case_type_cadence`: the defaults are the columns' own defaults.
pub struct CaseTypeCadenceOpts {
    pub clinic_id: Uuid,
    pub case_type: String,
    pub call_delay_days: i32,
    pub email_delay_days: i32,
    pub preferred_call_time: String,
    pub preferred_email_time: String,
    pub never_auto_schedule: bool,
}

impl Default for CaseTypeCadenceOpts {
    fn default() -> Self {
        Self {
            clinic_id: Uuid::nil(),
            case_type: "surgery".into(),
            call_delay_days: 1,
            email_delay_days: 1,
            preferred_call_time: "10:00".into(),
            preferred_email_time: "09:00".into(),
            never_auto_schedule: false,
        }
    }
}

pub async fn case_type_cadence(
    db: impl Acquire<'_, Database = Postgres>,
    o: CaseTypeCadenceOpts,
) -> Uuid {
    Insert::into("clinic_case_type_cadence")
        .bind("clinic_id", o.clinic_id)
        .bind("case_type", o.case_type)
        .bind("call_delay_days", o.call_delay_days)
        .bind("email_delay_days", o.email_delay_days)
        .bind_as("preferred_call_time", o.preferred_call_time, "time")
        .bind_as("preferred_email_time", o.preferred_email_time, "time")
        .bind("never_auto_schedule", o.never_auto_schedule)
        .returning_id(db)
        .await
}

/// A VAPI assistant of a clinic; `assistant_type` `None` is the column default (`inbound`).
pub struct AssistantMappingOpts {
    pub clinic_id: Uuid,
    /// Unique per database.
    pub assistant_id: String,
    pub assistant_type: Option<String>,
    /// The VAPI phone number this mapping answers (unique when set).
    pub phone_number_id: Option<String>,
    /// The VAPI squad this mapping stands for (unique when set).
    pub squad_id: Option<String>,
    /// `Some(false)`: an inactive mapping.
    pub is_active: Option<bool>,
}

impl Default for AssistantMappingOpts {
    fn default() -> Self {
        Self {
            clinic_id: Uuid::nil(),
            assistant_id: "asst_test".into(),
            assistant_type: None,
            phone_number_id: None,
            squad_id: None,
            is_active: None,
        }
    }
}

pub async fn assistant_mapping(
    db: impl Acquire<'_, Database = Postgres>,
    o: AssistantMappingOpts,
) -> Uuid {
    Insert::into("vapi_assistant_mappings")
        .bind("clinic_id", o.clinic_id)
        .bind("assistant_id", o.assistant_id)
        .bind_opt("assistant_type", o.assistant_type)
        .bind_opt("phone_number_id", o.phone_number_id)
        .bind_opt("squad_id", o.squad_id)
        .bind_opt("is_active", o.is_active)
        .returning_id(db)
        .await
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

pub struct UserOpts {
    /// Unique per database.
    pub clerk_user_id: String,
    /// `None`: `<clerk_user_id>@example.com`.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub role: Option<String>,
}

impl Default for UserOpts {
    fn default() -> Self {
        Self {
            clerk_user_id: "user_test".into(),
            email: None,
            first_name: None,
            role: None,
        }
    }
}

pub async fn user(db: impl Acquire<'_, Database = Postgres>, o: UserOpts) -> Uuid {
    let email = o
        .email
        .unwrap_or_else(|| format!("{}@example.com", o.clerk_user_id));
    Insert::into("users")
        .bind("clerk_user_id", o.clerk_user_id)
        .bind("email", email)
        .bind_opt("first_name", o.first_name)
        .bind_opt("role", o.role)
        .returning_id(db)
        .await
}

/// A user's access to a clinic (`user_clinic_access`).
pub struct ClinicAccessOpts {
    pub user_id: Uuid,
    pub clinic_id: Uuid,
    pub role: String,
}

impl Default for ClinicAccessOpts {
    fn default() -> Self {
        Self {
            user_id: Uuid::nil(),
            clinic_id: Uuid::nil(),
            role: "member".into(),
        }
    }
}

pub async fn clinic_access(db: impl Acquire<'_, Database = Postgres>, o: ClinicAccessOpts) -> Uuid {
    Insert::into("user_clinic_access")
        .bind("user_id", o.user_id)
        .bind("clinic_id", o.clinic_id)
        .bind("role", o.role)
        .returning_id(db)
        .await
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// A client (pet owner) and their pet, for [`CaseOpts::owner`].
pub struct Owner {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub pet: String,
    pub species: String,
}

impl Default for Owner {
    fn default() -> Self {
        Self {
            name: "Dana Owner".into(),
            phone: Some("(408) 555-0199".into()),
            email: Some("dana@example.com".into()),
            pet: "Biscuit Jones".into(),
            species: "Dog".into(),
        }
    }
}

/// The case's discharge summary, for [`CaseOpts::summary`].
pub struct Summary {
    pub content: String,
    pub structured_content: Option<Value>,
}

impl Default for Summary {
    fn default() -> Self {
        Self {
            content: "Spay surgery went well. Rest for 10 days.".into(),
            structured_content: None,
        }
    }
}

/// A case; by default a completed surgery with an owner, a pet and a discharge summary.
pub struct CaseOpts {
    pub clinic_id: Uuid,
    /// `Some`: a `clients` and a `patients` row, linked to the case.
    pub owner: Option<Owner>,
    /// `Some`: a `discharge_summaries` row.
    pub summary: Option<Summary>,
    pub case_type: Option<String>,
    pub status: String,
    /// `None`: now.
    pub created_at: Option<DateTime<Utc>>,
    pub patient_snapshot: Option<Value>,
    pub entity_extraction: Option<Value>,
    pub cadence_source: Option<String>,
    pub call_delay_days: Option<i32>,
    pub email_delay_days: Option<i32>,
}

impl Default for CaseOpts {
    fn default() -> Self {
        Self {
            clinic_id: Uuid::nil(),
            owner: Some(Owner::default()),
            summary: Some(Summary::default()),
            case_type: Some("surgery".into()),
            status: "completed".into(),
            created_at: None,
            patient_snapshot: None,
            entity_extraction: None,
            cadence_source: None,
            call_delay_days: None,
            email_delay_days: None,
        }
    }
}

/// The ids [`case`] created.
pub struct Case {
    pub id: Uuid,
    pub patient_id: Option<Uuid>,
}

pub async fn case(db: impl Acquire<'_, Database = Postgres>, o: CaseOpts) -> Case {
    let mut conn = db.acquire().await.expect("a connection");
    let (client_id, patient_id) = match o.owner {
        Some(owner) => {
            let client = Insert::into("clients")
                .bind("clinic_id", o.clinic_id)
                .bind("display_name", owner.name)
                .bind_opt("phone", owner.phone)
                .bind_opt("email", owner.email)
                .returning_id(&mut *conn)
                .await;
            let patient = Insert::into("patients")
                .bind("clinic_id", o.clinic_id)
                .bind("client_id", client)
                .bind("name", owner.pet)
                .bind("species", owner.species)
                .returning_id(&mut *conn)
                .await;
            (Some(client), Some(patient))
        }
        None => (None, None),
    };
    let id = Insert::into("cases")
        .bind("clinic_id", o.clinic_id)
        .bind_opt("client_id", client_id)
        .bind_opt("patient_id", patient_id)
        .bind_opt("type", o.case_type)
        .bind("status", o.status)
        .bind_opt("created_at", o.created_at)
        .bind_opt("patient_snapshot", o.patient_snapshot)
        .bind_opt("entity_extraction", o.entity_extraction)
        .bind_opt("cadence_source", o.cadence_source)
        .bind_opt("call_delay_days", o.call_delay_days)
        .bind_opt("email_delay_days", o.email_delay_days)
        .returning_id(&mut *conn)
        .await;
    if let Some(summary) = o.summary {
        Insert::into("discharge_summaries")
            .bind("case_id", id)
            .bind("clinic_id", o.clinic_id)
            .bind("content", summary.content)
            .bind_opt("structured_content", summary.structured_content)
            .returning_id(&mut *conn)
            .await;
    }
    Case { id, patient_id }
}

// ---------------------------------------------------------------------------------------------
// Calls and emails
// ---------------------------------------------------------------------------------------------

/// An outbound call row as the dispatcher finds it: `queued`, due a minute ago, no VAPI call yet.
pub struct OutboundCallOpts {
    pub clinic_id: Uuid,
    pub case_id: Uuid,
    pub customer_phone: Option<String>,
    /// `None`: a minute ago (due).
    pub scheduled_for: Option<DateTime<Utc>>,
    pub status: String,
    pub metadata: Option<Value>,
}

impl Default for OutboundCallOpts {
    fn default() -> Self {
        Self {
            clinic_id: Uuid::nil(),
            case_id: Uuid::nil(),
            customer_phone: Some("(408) 555-0199".into()),
            scheduled_for: None,
            status: "queued".into(),
            metadata: None,
        }
    }
}

pub async fn outbound_call(db: impl Acquire<'_, Database = Postgres>, o: OutboundCallOpts) -> Uuid {
    Insert::into("outbound_calls")
        .bind("clinic_id", o.clinic_id)
        .bind("case_id", o.case_id)
        .bind_opt("customer_phone", o.customer_phone)
        .due("scheduled_for", o.scheduled_for)
        .bind("status", o.status)
        .bind_opt("metadata", o.metadata)
        .returning_id(db)
        .await
}

/// A copy of outbound call `from` under a new id (a fresh dispatcher row for a replayed story).
pub async fn copy_of_outbound_call(db: impl Acquire<'_, Database = Postgres>, from: Uuid) -> Uuid {
    let mut conn = db.acquire().await.expect("a connection");
    sqlx::query_scalar(
        "INSERT INTO outbound_calls (clinic_id, case_id, assistant_id, outbound_phone_number_id,
                                     customer_phone, scheduled_for, status, metadata)
         SELECT clinic_id, case_id, assistant_id, outbound_phone_number_id, customer_phone,
                scheduled_for, status, metadata FROM outbound_calls WHERE id = $1
         RETURNING id",
    )
    .bind(from)
    .fetch_one(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("seed: copy of outbound call {from}: {e}"))
}

/// An outbound email as the dispatcher finds it: `queued`, due a minute ago, not sent yet.
pub struct OutboundEmailOpts {
    pub clinic_id: Uuid,
    pub case_id: Uuid,
    pub recipient_email: String,
    pub recipient_name: Option<String>,
    pub subject: Option<String>,
    pub html_content: Option<String>,
    pub text_content: Option<String>,
    /// `None`: a minute ago (due).
    pub scheduled_for: Option<DateTime<Utc>>,
    pub status: String,
}

impl Default for OutboundEmailOpts {
    fn default() -> Self {
        Self {
            clinic_id: Uuid::nil(),
            case_id: Uuid::nil(),
            recipient_email: "dana@example.com".into(),
            recipient_name: Some("Dana Owner".into()),
            subject: Some("Discharge Instructions for Biscuit".into()),
            html_content: Some("<p>Hello</p>".into()),
            text_content: Some("Hello".into()),
            scheduled_for: None,
            status: "queued".into(),
        }
    }
}

pub async fn outbound_email(
    db: impl Acquire<'_, Database = Postgres>,
    o: OutboundEmailOpts,
) -> Uuid {
    Insert::into("outbound_emails")
        .bind("clinic_id", o.clinic_id)
        .bind("case_id", o.case_id)
        .bind("recipient_email", o.recipient_email)
        .bind_opt("recipient_name", o.recipient_name)
        .bind_opt("subject", o.subject)
        .bind_opt("html_content", o.html_content)
        .bind_opt("text_content", o.text_content)
        .due("scheduled_for", o.scheduled_for)
        .bind("status", o.status)
        .returning_id(db)
        .await
}

// ---------------------------------------------------------------------------------------------
// Discharge batches
// ---------------------------------------------------------------------------------------------

pub struct DischargeBatchOpts {
    pub clinic_id: Uuid,
    pub status: String,
    pub total_cases: Option<i32>,
    pub email_schedule_time: Option<DateTime<Utc>>,
    pub call_schedule_time: Option<DateTime<Utc>>,
    pub metadata: Option<Value>,
}

impl Default for DischargeBatchOpts {
    fn default() -> Self {
        Self {
            clinic_id: Uuid::nil(),
            status: "pending".into(),
            total_cases: None,
            email_schedule_time: None,
            call_schedule_time: None,
            metadata: None,
        }
    }
}

pub async fn discharge_batch(
    db: impl Acquire<'_, Database = Postgres>,
    o: DischargeBatchOpts,
) -> Uuid {
    Insert::into("discharge_batches")
        .bind("clinic_id", o.clinic_id)
        .bind("status", o.status)
        .bind_opt("total_cases", o.total_cases)
        .bind_opt("email_schedule_time", o.email_schedule_time)
        .bind_opt("call_schedule_time", o.call_schedule_time)
        .bind_opt("metadata", o.metadata)
        .returning_id(db)
        .await
}

pub struct DischargeBatchItemOpts {
    pub batch_id: Uuid,
    pub case_id: Uuid,
    pub patient_id: Option<Uuid>,
    pub status: String,
    /// The processing order; `None`: now.
    pub created_at: Option<DateTime<Utc>>,
}

impl Default for DischargeBatchItemOpts {
    fn default() -> Self {
        Self {
            batch_id: Uuid::nil(),
            case_id: Uuid::nil(),
            patient_id: None,
            status: "pending".into(),
            created_at: None,
        }
    }
}

pub async fn discharge_batch_item(
    db: impl Acquire<'_, Database = Postgres>,
    o: DischargeBatchItemOpts,
) -> Uuid {
    Insert::into("discharge_batch_items")
        .bind("batch_id", o.batch_id)
        .bind("case_id", o.case_id)
        .bind_opt("patient_id", o.patient_id)
        .bind("status", o.status)
        .bind_opt("created_at", o.created_at)
        .returning_id(db)
        .await
}

// ---------------------------------------------------------------------------------------------
// The webhook inbox
// ---------------------------------------------------------------------------------------------

/// A stored delivery (`webhook_events`).
pub struct WebhookEventOpts {
    pub source: String,
    pub delivery_id: String,
    pub event_type: Option<String>,
    pub payload: Vec<u8>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub vapi_call_id: Option<String>,
}

impl Default for WebhookEventOpts {
    fn default() -> Self {
        Self {
            source: "vapi".into(),
            delivery_id: "delivery-test".into(),
            event_type: None,
            payload: b"{}".to_vec(),
            status: "pending".into(),
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            vapi_call_id: None,
        }
    }
}

pub async fn webhook_event(db: impl Acquire<'_, Database = Postgres>, o: WebhookEventOpts) -> Uuid {
    Insert::into("webhook_events")
        .bind("source", o.source)
        .bind("delivery_id", o.delivery_id)
        .bind_opt("event_type", o.event_type)
        .bind("payload", o.payload)
        .bind("status", o.status)
        .bind("attempts", o.attempts)
        .bind_opt("last_error", o.last_error)
        .bind_opt("next_attempt_at", o.next_attempt_at)
        .bind_opt("vapi_call_id", o.vapi_call_id)
        .returning_id(db)
        .await
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// The rows `fixtures/vapi/*.json` refer to (`fixtures/vapi/seed.sql`, also used by hand; see
/// `fixtures/README.md`).
pub async fn vapi_fixture_rows(pool: &PgPool) {
    sqlx::raw_sql(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/vapi/seed.sql"
    )))
    .execute(pool)
    .await
    .expect("fixtures/vapi/seed.sql");
}

// ---------------------------------------------------------------------------------------------
// The calendar the voice tools read (schedule config, blocked periods, appointments) and Slack
// ---------------------------------------------------------------------------------------------

/// `clinic_schedule_config`; `None` fields keep the column defaults (15-minute slots,
/// capacity 2, no daily hours: 08:00–18:00).
#[derive(Default)]
pub struct ScheduleConfigOpts {
    pub clinic_id: Uuid,
    pub daily_hours: Option<Value>,
    pub slot_duration_minutes: Option<i32>,
    pub slot_capacity: Option<i32>,
    /// `HH:MM`.
    pub vapi_start: Option<String>,
    pub vapi_end: Option<String>,
}

pub async fn schedule_config(
    db: impl Acquire<'_, Database = Postgres>,
    o: ScheduleConfigOpts,
) -> Uuid {
    Insert::into("clinic_schedule_config")
        .bind("clinic_id", o.clinic_id)
        .bind_opt("daily_hours", o.daily_hours)
        .bind_opt("slot_duration_minutes", o.slot_duration_minutes)
        .bind_opt("slot_capacity", o.slot_capacity)
        .bind_opt_as("vapi_availability_start_time", o.vapi_start, "time")
        .bind_opt_as("vapi_availability_end_time", o.vapi_end, "time")
        .returning_id(db)
        .await
}

/// An active blocked period, wall-clock `start`–`end` (`HH:MM`) on `days` (0 = Sunday).
pub async fn blocked_period(
    db: impl Acquire<'_, Database = Postgres>,
    clinic_id: Uuid,
    name: &str,
    start: &str,
    end: &str,
    days: &[i32],
) -> Uuid {
    Insert::into("clinic_blocked_periods")
        .bind("clinic_id", clinic_id)
        .bind("name", name.to_string())
        .bind_as("start_time", start.to_string(), "time")
        .bind_as("end_time", end.to_string(), "time")
        .bind("days_of_week", days.to_vec())
        .returning_id(db)
        .await
}

/// A `schedule_appointments` row (`scheduled`) over `[start, end)`.
pub struct AppointmentOpts {
    pub clinic_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub client_name: Option<String>,
    pub patient_name: Option<String>,
    pub room_id: Option<String>,
    pub status: Option<String>,
}

impl Default for AppointmentOpts {
    fn default() -> Self {
        Self {
            clinic_id: Uuid::nil(),
            start: Utc::now(),
            end: Utc::now(),
            client_name: Some("Maria Lopez".into()),
            patient_name: Some("Luna".into()),
            room_id: None,
            status: None,
        }
    }
}

pub async fn appointment(db: impl Acquire<'_, Database = Postgres>, o: AppointmentOpts) -> Uuid {
    let range = format!("[{},{})", o.start.to_rfc3339(), o.end.to_rfc3339());
    Insert::into("schedule_appointments")
        .bind("clinic_id", o.clinic_id)
        .bind_as("time_range", range, "tstzrange")
        .bind_opt("client_name", o.client_name)
        .bind_opt("patient_name", o.patient_name)
        .bind_opt("room_id", o.room_id)
        .bind_opt("status", o.status)
        .returning_id(db)
        .await
}

/// A Slack workspace of the clinic with one channel; returns the workspace id.
pub async fn slack_channel(
    pool: &PgPool,
    clinic_id: Uuid,
    team_id: &str,
    bot_token: &str,
    channel_id: &str,
) -> Uuid {
    let workspace = Insert::into("slack_workspaces")
        .bind("clinic_id", clinic_id)
        .bind("team_id", team_id.to_string())
        .bind("bot_token", bot_token.to_string())
        .returning_id(pool)
        .await;
    Insert::into("slack_channels")
        .bind("workspace_id", workspace)
        .bind("channel_id", channel_id.to_string())
        .returning_id(pool)
        .await;
    workspace
}

/// What [`discharge_case`] created.
pub struct DischargeCase {
    pub clinic_id: Uuid,
    pub case_id: Uuid,
    pub patient_id: Uuid,
}

pub struct DischargeCaseOpts {
    /// Its name and its assistant id must be unique per database.
    pub clinic: ClinicOpts,
    pub assistant_id: String,
}

impl Default for DischargeCaseOpts {
    fn default() -> Self {
        Self {
            clinic: ClinicOpts::default(),
            assistant_id: "asst-outbound-1".into(),
        }
    }
}

/// A clinic in `tz` ready to dispatch discharge follow-ups: see [`discharge_case_with`].
pub async fn discharge_case(pool: &PgPool, tz: &str) -> DischargeCase {
    let clinic = ClinicOpts {
        timezone: tz.into(),
        ..Default::default()
    };
    discharge_case_with(
        pool,
        DischargeCaseOpts {
            clinic,
            ..Default::default()
        },
    )
    .await
}

/// The job queue's tables, and a clinic whose call window is open all day (tests that need a
/// closed window update `clinic_settings`) with voicemail detection on, an outbound assistant,
/// and one completed surgery case (Dana Owner's dog Biscuit) with a discharge summary that
/// lists a medication.
pub async fn discharge_case_with(pool: &PgPool, o: DischargeCaseOpts) -> DischargeCase {
    odis_worker::jobs::setup(pool).await.unwrap();
    let clinic_id = clinic(pool, o.clinic).await;
    clinic_settings(
        pool,
        ClinicSettingsOpts {
            clinic_id,
            preferred_call_start_time: Some("00:00".into()),
            preferred_call_end_time: Some("23:59:59.999999".into()),
            voicemail_detection_enabled: Some(true),
            voicemail_message: Some("Hi {{owner_name}}, call us back".into()),
            ..Default::default()
        },
    )
    .await;
    let case = case(
        pool,
        CaseOpts {
            clinic_id,
            patient_snapshot: Some(json!({
                "name": "Biscuit Jones", "owner_name": "Dana Owner", "owner_phone": "(408) 555-0199"
            })),
            summary: Some(Summary {
                structured_content: Some(json!({
                    "medications": [{"name": "Carprofen", "dosage": "25mg", "frequency": "twice daily"}]
                })),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    assistant_mapping(
        pool,
        AssistantMappingOpts {
            clinic_id,
            assistant_id: o.assistant_id,
            assistant_type: Some("outbound".into()),
            ..Default::default()
        },
    )
    .await;
    DischargeCase {
        clinic_id,
        case_id: case.id,
        patient_id: case.patient_id.expect("the case has a patient"),
    }
}

/// A due `queued` call for the discharge case (no assistant/phone number on the row: the clinic
/// mapping and VAPI_OUTBOUND_PHONE_NUMBER_ID fill them), linked to an auto-scheduled item.
pub async fn due_call(pool: &PgPool, dc: &DischargeCase, phone: &str) -> Uuid {
    let id = outbound_call(
        pool,
        OutboundCallOpts {
            clinic_id: dc.clinic_id,
            case_id: dc.case_id,
            customer_phone: Some(phone.into()),
            metadata: Some(json!({"dynamic_variables": {"owner_name": "Dana"}})),
            ..Default::default()
        },
    )
    .await;
    // One live auto-scheduled item per case (uq_auto_scheduled_items_case_live): only the
    // case's first call gets one.
    Insert::into("auto_scheduled_items")
        .bind("case_id", dc.case_id)
        .bind("clinic_id", dc.clinic_id)
        .bind("outbound_call_id", id)
        .bind("status", "scheduled")
        .on_conflict_do_nothing()
        .execute(pool)
        .await;
    id
}

/// A due `queued` email to the discharge case's owner.
pub async fn due_email(pool: &PgPool, dc: &DischargeCase) -> Uuid {
    outbound_email(
        pool,
        OutboundEmailOpts {
            clinic_id: dc.clinic_id,
            case_id: dc.case_id,
            ..Default::default()
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The INSERT builder
// ---------------------------------------------------------------------------------------------

/// One `INSERT`, built column by column from bound values (or, for "due", an SQL expression on
/// the database's clock).
struct Insert {
    table: &'static str,
    columns: Vec<&'static str>,
    values: Vec<String>,
    args: PgArguments,
    on_conflict_do_nothing: bool,
}

impl Insert {
    fn into(table: &'static str) -> Self {
        Self {
            table,
            columns: Vec::new(),
            values: Vec::new(),
            args: PgArguments::default(),
            on_conflict_do_nothing: false,
        }
    }

    fn bind<'t, T: Encode<'t, Postgres> + Type<Postgres>>(
        self,
        column: &'static str,
        value: T,
    ) -> Self {
        self.push(column, value, "")
    }

    /// Binds `value` as text cast to `sql_type` (e.g. `time` from `"16:00"`).
    fn bind_as<'t, T: Encode<'t, Postgres> + Type<Postgres>>(
        self,
        column: &'static str,
        value: T,
        sql_type: &str,
    ) -> Self {
        self.push(column, value, &format!("::{sql_type}"))
    }

    /// `None` leaves the column out (its default applies).
    fn bind_opt<'t, T: Encode<'t, Postgres> + Type<Postgres>>(
        self,
        column: &'static str,
        value: Option<T>,
    ) -> Self {
        match value {
            Some(v) => self.bind(column, v),
            None => self,
        }
    }

    fn bind_opt_as<'t, T: Encode<'t, Postgres> + Type<Postgres>>(
        self,
        column: &'static str,
        value: Option<T>,
        sql_type: &str,
    ) -> Self {
        match value {
            Some(v) => self.bind_as(column, v, sql_type),
            None => self,
        }
    }

    /// The given instant, or (`None`) a minute before the database's `now()`: due.
    fn due(mut self, column: &'static str, at: Option<DateTime<Utc>>) -> Self {
        match at {
            Some(at) => self.bind(column, at),
            None => {
                self.columns.push(column);
                self.values.push("now() - interval '1 minute'".into());
                self
            }
        }
    }

    fn on_conflict_do_nothing(mut self) -> Self {
        self.on_conflict_do_nothing = true;
        self
    }

    fn push<'t, T: Encode<'t, Postgres> + Type<Postgres>>(
        mut self,
        column: &'static str,
        value: T,
        cast: &str,
    ) -> Self {
        self.args
            .add(value)
            .unwrap_or_else(|e| panic!("seed: encode {}.{column}: {e}", self.table));
        self.columns.push(column);
        self.values.push(format!("${}{cast}", self.args.len()));
        self
    }

    fn sql(&self) -> String {
        format!(
            "INSERT INTO {} ({}) VALUES ({}){}",
            self.table,
            self.columns.join(", "),
            self.values.join(", "),
            if self.on_conflict_do_nothing {
                " ON CONFLICT DO NOTHING"
            } else {
                ""
            }
        )
    }

    async fn returning_id(self, db: impl Acquire<'_, Database = Postgres>) -> Uuid {
        let sql = format!("{} RETURNING id", self.sql());
        let mut conn = db.acquire().await.expect("a connection");
        sqlx::query_scalar_with(AssertSqlSafe(sql.clone()), self.args)
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("seed: {e}\n  {sql}"))
    }

    async fn execute(self, db: impl Acquire<'_, Database = Postgres>) {
        let sql = self.sql();
        let mut conn = db.acquire().await.expect("a connection");
        sqlx::query_with(AssertSqlSafe(sql.clone()), self.args)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("seed: {e}\n  {sql}"));
    }
}

/// A fixed-offset IANA zone (`Etc/GMT±N`) in which the wall clock reads `hour`:xx right now, so a
/// test about clinic hours does not depend on when it runs. (`Etc/GMT+N` is N hours *behind* UTC.)
pub fn zone_at_local_hour(hour: u32) -> String {
    use chrono::Timelike;
    let utc_hour = chrono::Utc::now().hour() as i32;
    // An offset in -11..=12, all of which exist as Etc zones.
    let mut offset = (hour as i32 - utc_hour).rem_euclid(24);
    if offset > 12 {
        offset -= 24;
    }
    match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

/// A zone where it is early afternoon now: inside the email waking hours
/// (`docs/behaviour.md#email-waking-hours`) for as long as any test runs.
pub fn awake_zone() -> String {
    zone_at_local_hour(13)
}
