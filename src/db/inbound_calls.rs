//! `inbound_calls`: calls clients placed to the clinic's AI receptionist.

//!
//! May import: `domain`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

// --- webhooks (webhooks/vapi) ---

/// One call row as the VAPI merge reads and writes it, inbound or outbound
/// (`docs/behaviour.md#vapi-calls`): both tables share these columns, under the names the
/// select macros below give them (the columns one table lacks read as NULL).
#[derive(sqlx::FromRow, Clone, Debug, Default, PartialEq)]
pub struct CallRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub case_id: Option<Uuid>,
    pub vapi_call_id: Option<String>,
    pub assistant_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub customer_phone: Option<String>,
    pub status: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_reason: Option<String>,
    pub duration_seconds: Option<i32>,
    pub cost: Option<f64>,
    pub recording_url: Option<String>,
    pub stereo_recording_url: Option<String>,
    pub transcript: Option<String>,
    pub transcript_messages: Option<Value>,
    pub metadata: Option<Value>,
    pub outcome: Option<String>,
    pub extracted_caller_phone: Option<String>,
    pub extracted_caller_name: Option<String>,
    pub extracted_pet_name: Option<String>,
}

// Column lists as macros so each query stays one `&'static str` (`concat!`), named and
// greppable, with nothing spliced in at run time.
macro_rules! common_call_row_columns {
    () => {
        "id, clinic_id, vapi_call_id, assistant_id, customer_phone, status, started_at,
         ended_at, ended_reason, duration_seconds, cost::float8 AS cost, recording_url,
         stereo_recording_url, transcript, transcript_messages, metadata"
    };
}

/// `inbound_calls` columns as a [`CallRow`].
macro_rules! inbound_call_row_columns {
    () => {
        concat!(
            common_call_row_columns!(),
            ", NULL::uuid AS case_id, phone_number_id, outcome, extracted_caller_phone,
             extracted_caller_name, extracted_pet_name"
        )
    };
}

/// `outbound_calls` columns as a [`CallRow`].
macro_rules! outbound_call_row_columns {
    () => {
        concat!(
            $crate::db::inbound_calls::common_call_row_columns!(),
            ", case_id, outbound_phone_number_id AS phone_number_id, NULL::text AS outcome,
             NULL::text AS extracted_caller_phone, NULL::text AS extracted_caller_name,
             NULL::text AS extracted_pet_name"
        )
    };
}
pub(crate) use common_call_row_columns;
pub(crate) use outbound_call_row_columns;

/// Locks the inbound row of a VAPI call for the merge.
pub async fn lock_by_vapi_call(
    conn: &mut PgConnection,
    vapi_call_id: &str,
) -> Result<Option<CallRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        inbound_call_row_columns!(),
        " FROM inbound_calls WHERE vapi_call_id = $1 FOR UPDATE"
    ))
    .bind(vapi_call_id)
    .fetch_optional(conn)
    .await
}

pub async fn lock_by_id(conn: &mut PgConnection, id: Uuid) -> Result<CallRow, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        inbound_call_row_columns!(),
        " FROM inbound_calls WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_one(conn)
    .await
}

/// The inbound row of a new VAPI call, `queued`. Two events of a new call may race here: the
/// upsert makes one insert and the other wait for its row (the `DO UPDATE` takes the row lock
/// the caller then holds for the merge).
pub async fn upsert_new(
    conn: &mut PgConnection,
    clinic_id: Uuid,
    vapi_call_id: &str,
    assistant_id: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO inbound_calls (clinic_id, vapi_call_id, assistant_id, status)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (vapi_call_id) DO UPDATE SET vapi_call_id = EXCLUDED.vapi_call_id
         RETURNING id",
    )
    .bind(clinic_id)
    .bind(vapi_call_id)
    .bind(assistant_id)
    .bind(crate::domain::status::CallStatus::Queued.as_str())
    .fetch_one(conn)
    .await
}

/// Binds `$1`–`$16` of a merged-row write: the id and the columns both call tables share, in
/// the order both `write_merged` statements list them.
pub(crate) fn bind_common<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    r: &'q CallRow,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(r.id)
        .bind(&r.vapi_call_id)
        .bind(&r.assistant_id)
        .bind(&r.phone_number_id)
        .bind(&r.customer_phone)
        .bind(&r.status)
        .bind(r.started_at)
        .bind(r.ended_at)
        .bind(&r.ended_reason)
        .bind(r.duration_seconds)
        .bind(r.cost)
        .bind(&r.recording_url)
        .bind(&r.stereo_recording_url)
        .bind(&r.transcript)
        .bind(&r.transcript_messages)
        .bind(&r.metadata)
}

/// Writes a merged inbound row back, caller details and outcome included.
pub async fn write_merged(conn: &mut PgConnection, r: &CallRow) -> Result<(), sqlx::Error> {
    bind_common(
        sqlx::query(
            "UPDATE inbound_calls SET vapi_call_id = $2, assistant_id = $3, phone_number_id = $4,
            customer_phone = $5, status = $6, started_at = $7, ended_at = $8, ended_reason = $9,
            duration_seconds = $10, cost = $11::float8::numeric, recording_url = $12,
            stereo_recording_url = $13, transcript = $14, transcript_messages = $15,
            metadata = $16, updated_at = now(), outcome = $17, extracted_caller_phone = $18,
            extracted_caller_name = $19, extracted_pet_name = $20
         WHERE id = $1",
        ),
        r,
    )
    .bind(&r.outcome)
    .bind(&r.extracted_caller_phone)
    .bind(&r.extracted_caller_name)
    .bind(&r.extracted_pet_name)
    .execute(conn)
    .await
    .map(|_| ())
}

/// The clinic of a VAPI call we already have a row for, outbound or inbound.
pub async fn clinic_of_vapi_call(
    exec: impl PgExecutor<'_>,
    vapi_call_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT clinic_id FROM outbound_calls WHERE vapi_call_id = $1
         UNION ALL SELECT clinic_id FROM inbound_calls WHERE vapi_call_id = $1
         LIMIT 1",
    )
    .bind(vapi_call_id)
    .fetch_optional(exec)
    .await
}

// --- voice tools (webhooks/vapi/tools) ---

/// The inbound row of a VAPI call (id, clinic), created `queued` for `clinic_id` when a tool
/// runs before any call event arrived.
pub async fn ensure_for_tool(
    conn: &mut PgConnection,
    clinic_id: Uuid,
    vapi_call_id: &str,
    assistant_id: Option<&str>,
) -> Result<(Uuid, Uuid), sqlx::Error> {
    let id = upsert_new(&mut *conn, clinic_id, vapi_call_id, assistant_id).await?;
    let clinic: Uuid = sqlx::query_scalar("SELECT clinic_id FROM inbound_calls WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok((id, clinic))
}

/// The inbound row of a VAPI call, if we have one.
pub async fn find_by_vapi_call(
    ex: impl PgExecutor<'_>,
    vapi_call_id: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as("SELECT id, clinic_id FROM inbound_calls WHERE vapi_call_id = $1")
        .bind(vapi_call_id)
        .fetch_optional(ex)
        .await
}

/// What an appointment tool did on the call (`docs/behaviour.md#vapi-tools-outcome`): the
/// outcome, `metadata.tool_outcome` (which a later report keeps) and `metadata.appointment`,
/// and the caller details from it (a report ranks them first too, so any order of tool call
/// and report gives the same row).
pub async fn record_tool_outcome(
    conn: &mut PgConnection,
    id: Uuid,
    outcome: &str,
    appointment: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE inbound_calls SET outcome = $2,
            metadata = coalesce(metadata, '{}'::jsonb)
                || jsonb_build_object('tool_outcome', $2::text, 'appointment', $3::jsonb),
            extracted_caller_name = coalesce($3->>'client_name', extracted_caller_name),
            extracted_caller_phone = coalesce($3->>'client_phone', extracted_caller_phone),
            extracted_pet_name = coalesce($3->>'patient_name', extracted_pet_name),
            updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(outcome)
    .bind(appointment)
    .execute(conn)
    .await
    .map(|_| ())
}
