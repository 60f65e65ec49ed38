//! `vapi_bookings` (holds booked by the voice assistant), the owner/pet lookup over them and
//! `schedule_appointments`, cancellation, and `appointment_audit_log`
//! (`docs/behaviour.md#vapi-tools-booking`, `docs/behaviour.md#vapi-tools-holds`).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::name_match::{names_match, SIMILAR_ENOUGH};
use crate::domain::status::{AppointmentStatus, BookingStatus, CallStatus};
use crate::domain::tool_refs::HOLD_MAX_LIVE_MINUTES;

/// Serializes every booking write of one clinic's calendar until the transaction ends.
/// Per clinic rather than per slot: bookings are ranges, and two ranges overlapping the same
/// slot need not share a grid start, so only a clinic-wide key is sound; the critical section
/// is a count and an insert (milliseconds).
pub async fn lock_calendar(conn: &mut PgConnection, clinic_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('odis.calendar:' || $1::text, 0))")
        .bind(clinic_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A new hold (`pending`, expiring `hold_minutes` from now).
pub struct NewHold<'a> {
    pub clinic_id: Uuid,
    /// Only when the call row belongs to the same clinic (bookings stay clinic-consistent).
    pub inbound_call_id: Option<Uuid>,
    pub vapi_call_id: Option<&'a str>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub client_name: &'a str,
    pub client_phone: &'a str,
    pub patient_name: &'a str,
    pub species: Option<&'a str>,
    pub breed: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub is_new_client: bool,
    pub confirmation_number: &'a str,
    pub hold_minutes: i32,
    pub metadata: &'a Value,
    pub rescheduled_from_id: Option<Uuid>,
    pub original_range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub rescheduled_reason: Option<&'a str>,
}

/// Inserts the hold; `None` when the confirmation number is taken (draw another).
pub async fn insert_hold(
    conn: &mut PgConnection,
    h: &NewHold<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO vapi_bookings (clinic_id, inbound_call_id, vapi_call_id, time_range,
            client_name, client_phone, patient_name, species, breed, reason, is_new_client,
            status, confirmation_number, hold_expires_at, metadata, rescheduled_from_id,
            original_time_range, rescheduled_at, rescheduled_reason)
         VALUES ($1, $2, $3, tstzrange($4, $5), $6, $7, $8, $9, $10, $11, $12, $13, $14,
            now() + make_interval(mins => $15), $16, $17,
            CASE WHEN $18::timestamptz IS NULL THEN NULL ELSE tstzrange($18, $19) END,
            CASE WHEN $18::timestamptz IS NULL THEN NULL ELSE now() END, $20)
         ON CONFLICT (confirmation_number) DO NOTHING
         RETURNING id",
    )
    .bind(h.clinic_id)
    .bind(h.inbound_call_id)
    .bind(h.vapi_call_id)
    .bind(h.start)
    .bind(h.end)
    .bind(h.client_name)
    .bind(h.client_phone)
    .bind(h.patient_name)
    .bind(h.species)
    .bind(h.breed)
    .bind(h.reason)
    .bind(h.is_new_client)
    .bind(BookingStatus::Pending.as_str())
    .bind(h.confirmation_number)
    .bind(h.hold_minutes)
    .bind(h.metadata)
    .bind(h.rescheduled_from_id)
    .bind(h.original_range.map(|r| r.0))
    .bind(h.original_range.map(|r| r.1))
    .bind(h.rescheduled_reason)
    .fetch_optional(conn)
    .await
}

/// An appointment found for an owner and pet, from either table.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Found {
    /// `booking` (`vapi_bookings`) or `appointment` (`schedule_appointments`).
    pub source: String,
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub client_name: Option<String>,
    pub client_phone: Option<String>,
    pub patient_name: Option<String>,
    pub provider_name: Option<String>,
    pub appointment_type: Option<String>,
    pub room_id: Option<String>,
    pub pims_appointment_id: Option<String>,
    pub confirmation_number: Option<String>,
}

pub const SOURCE_BOOKING: &str = "booking";
pub const SOURCE_APPOINTMENT: &str = "appointment";

/// A candidate of the lookup: the appointment and how close its names are (trigram similarity).
#[derive(sqlx::FromRow)]
struct Candidate {
    #[sqlx(flatten)]
    found: Found,
    owner_similarity: f32,
    pet_similarity: f32,
}

/// The candidates one lookup weighs at most (a clinic-local day of one clinic).
const CANDIDATES: i64 = 20;

/// The live appointment of `owner` and `pet` starting in `[from, to)` (the clinic-local day) in
/// any of `clinic_ids`, best name match first. The statement proposes appointments whose names
/// contain, are contained in, or resemble the spoken ones; `domain::name_match` decides.
pub async fn find_for_owner(
    ex: impl PgExecutor<'_>,
    clinic_ids: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    owner: &str,
    pet: &str,
) -> Result<Option<Found>, sqlx::Error> {
    let candidates: Vec<Candidate> = sqlx::query_as(
        "WITH q AS (SELECT lower(btrim($4)) AS owner, lower(btrim($5)) AS pet)
         SELECT x.* FROM (
           SELECT $6::text AS source, a.id, a.clinic_id, lower(a.time_range) AS starts_at,
                  upper(a.time_range) AS ends_at, a.client_name, a.client_phone, a.patient_name,
                  a.provider_name, a.appointment_type, a.room_id, a.pims_appointment_id,
                  NULL::text AS confirmation_number,
                  coalesce(similarity(lower(a.client_name), q.owner), 0) AS owner_similarity,
                  coalesce(similarity(lower(a.patient_name), q.pet), 0) AS pet_similarity
           FROM schedule_appointments a, q
           WHERE a.clinic_id = ANY($1) AND a.time_range && tstzrange($2, $3)
             AND lower(a.time_range) >= $2 AND lower(a.time_range) < $3
             AND a.deleted_at IS NULL
             AND a.status IS DISTINCT FROM $8 AND a.status IS DISTINCT FROM $9
             AND (strpos(lower(nullif(btrim(a.client_name), '')), q.owner) > 0
                  OR strpos(q.owner, lower(nullif(btrim(a.client_name), ''))) > 0
                  OR similarity(lower(a.client_name), q.owner) >= $12)
             AND (strpos(lower(nullif(btrim(a.patient_name), '')), q.pet) > 0
                  OR strpos(q.pet, lower(nullif(btrim(a.patient_name), ''))) > 0
                  OR similarity(lower(a.patient_name), q.pet) >= $12)
           UNION ALL
           SELECT $7::text, b.id, b.clinic_id, lower(b.time_range), upper(b.time_range),
                  b.client_name, b.client_phone, b.patient_name, NULL, b.reason, NULL,
                  b.pims_appointment_id, b.confirmation_number,
                  coalesce(similarity(lower(b.client_name), q.owner), 0),
                  coalesce(similarity(lower(b.patient_name), q.pet), 0)
           FROM vapi_bookings b, q
           WHERE b.clinic_id = ANY($1) AND b.time_range && tstzrange($2, $3)
             AND lower(b.time_range) >= $2 AND lower(b.time_range) < $3
             AND (b.status = $10 OR (b.status = $11 AND (b.hold_expires_at IS NULL OR b.hold_expires_at > now())))
             AND (strpos(lower(nullif(btrim(b.client_name), '')), q.owner) > 0
                  OR strpos(q.owner, lower(nullif(btrim(b.client_name), ''))) > 0
                  OR similarity(lower(b.client_name), q.owner) >= $12)
             AND (strpos(lower(nullif(btrim(b.patient_name), '')), q.pet) > 0
                  OR strpos(q.pet, lower(nullif(btrim(b.patient_name), ''))) > 0
                  OR similarity(lower(b.patient_name), q.pet) >= $12)
         ) x
         ORDER BY x.owner_similarity + x.pet_similarity DESC, x.starts_at
         LIMIT $13",
    )
    .bind(clinic_ids)
    .bind(from)
    .bind(to)
    .bind(owner)
    .bind(pet)
    .bind(SOURCE_APPOINTMENT)
    .bind(SOURCE_BOOKING)
    .bind(AppointmentStatus::Cancelled.as_str())
    .bind(AppointmentStatus::NoShow.as_str())
    .bind(BookingStatus::Confirmed.as_str())
    .bind(BookingStatus::Pending.as_str())
    .bind(SIMILAR_ENOUGH)
    .bind(CANDIDATES)
    .fetch_all(ex)
    .await?;
    Ok(candidates
        .into_iter()
        .find(|c| {
            names_match(owner, c.found.client_name.as_deref(), c.owner_similarity)
                && names_match(pet, c.found.patient_name.as_deref(), c.pet_similarity)
        })
        .map(|c| c.found))
}

/// Cancels a live booking; false when it was no longer live (cancelled concurrently).
pub async fn cancel_booking(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE vapi_bookings SET status = $2, cancelled_at = now(), cancelled_reason = $3,
            hold_expires_at = NULL, updated_at = now()
         WHERE id = $1 AND (status = $4 OR status = $5)",
    )
    .bind(id)
    .bind(BookingStatus::Cancelled.as_str())
    .bind(reason)
    .bind(BookingStatus::Confirmed.as_str())
    .bind(BookingStatus::Pending.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Cancels a live calendar appointment; false when it was no longer live.
pub async fn cancel_appointment(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE schedule_appointments SET status = $2, updated_at = now()
         WHERE id = $1 AND deleted_at IS NULL AND status IS DISTINCT FROM $2
           AND status IS DISTINCT FROM $3",
    )
    .bind(id)
    .bind(AppointmentStatus::Cancelled.as_str())
    .bind(AppointmentStatus::NoShow.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// One `appointment_audit_log` row.
pub struct Audit<'a> {
    pub clinic_id: Uuid,
    pub action: &'a str,
    pub booking_id: Option<Uuid>,
    pub appointment_id: Option<Uuid>,
    pub pims_appointment_id: Option<&'a str>,
    pub old_range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub new_range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub reason: Option<&'a str>,
    pub vapi_call_id: Option<&'a str>,
}

pub async fn insert_audit(conn: &mut PgConnection, a: &Audit<'_>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO appointment_audit_log (clinic_id, action, booking_id, appointment_id,
            pims_appointment_id, old_time_range, new_time_range, reason, vapi_call_id, performed_by)
         VALUES ($1, $2, $3, $4, $5,
            CASE WHEN $6::timestamptz IS NULL THEN NULL ELSE tstzrange($6, $7) END,
            CASE WHEN $8::timestamptz IS NULL THEN NULL ELSE tstzrange($8, $9) END,
            $10, $11, 'vapi')
         RETURNING id",
    )
    .bind(a.clinic_id)
    .bind(a.action)
    .bind(a.booking_id)
    .bind(a.appointment_id)
    .bind(a.pims_appointment_id)
    .bind(a.old_range.map(|r| r.0))
    .bind(a.old_range.map(|r| r.1))
    .bind(a.new_range.map(|r| r.0))
    .bind(a.new_range.map(|r| r.1))
    .bind(a.reason)
    .bind(a.vapi_call_id)
    .fetch_one(conn)
    .await
}

// --- hold lifecycle (end-of-call report, sweeper) ---

/// The call ended (its end-of-call report arrived): its unexpired holds are confirmed. A hold
/// that already ran out is expired instead — its slot may have been given away meanwhile.
pub async fn settle_holds_of_call(
    conn: &mut PgConnection,
    vapi_call_id: &str,
) -> Result<u64, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE vapi_bookings SET
            status = CASE WHEN hold_expires_at IS NULL OR hold_expires_at > now() THEN $2 ELSE $3 END,
            hold_expires_at = NULL, updated_at = now()
         WHERE vapi_call_id = $1 AND status = $4",
    )
    .bind(vapi_call_id)
    .bind(BookingStatus::Confirmed.as_str())
    .bind(BookingStatus::Expired.as_str())
    .bind(BookingStatus::Pending.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n)
}

/// What one sweep did to holds.
#[derive(Debug, Default, serde::Serialize, PartialEq, Eq)]
pub struct HoldSweep {
    pub confirmed: u64,
    pub extended: u64,
    pub expired: u64,
}

/// Every VAPI call row, inbound and outbound, by the columns the hold sweep reads: a hold
/// booked during an outbound call is settled by that call's row like any other
/// (`docs/behaviour.md#vapi-tools-holds`). A plain `UNION ALL` that PostgreSQL flattens, so each
/// table is still probed through its `vapi_call_id` index.
const CALL_ROWS: &str = "(SELECT vapi_call_id, status, ended_at FROM inbound_calls
                          UNION ALL SELECT vapi_call_id, status, ended_at FROM outbound_calls)";

/// The sweeper's pass over pending holds: confirm those whose call (inbound or outbound) has
/// ended (its report may never come, or came before the booking), keep alive those whose call
/// is still live (for at most [`HOLD_MAX_LIVE_MINUTES`] after booking), expire the rest once
/// `hold_expires_at` has passed.
pub async fn sweep_holds(ex: &sqlx::PgPool, hold_minutes: i32) -> Result<HoldSweep, sqlx::Error> {
    let terminal: Vec<&str> = [CallStatus::Ended, CallStatus::Failed, CallStatus::Cancelled]
        .iter()
        .map(|s| s.as_str())
        .collect();
    static CONFIRM: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE vapi_bookings b SET status = $1, hold_expires_at = NULL, updated_at = now()
         FROM {CALL_ROWS} c
         WHERE b.status = $2 AND b.hold_expires_at > now() AND c.vapi_call_id = b.vapi_call_id
           AND (c.status = ANY($3) OR c.ended_at IS NOT NULL)"
        )
    });
    static EXTEND: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE vapi_bookings b SET hold_expires_at = now() + make_interval(mins => $1), updated_at = now()
         FROM {CALL_ROWS} c
         WHERE b.status = $2 AND b.hold_expires_at > now()
           AND b.hold_expires_at < now() + make_interval(mins => $1) - interval '30 seconds'
           AND b.created_at > now() - make_interval(mins => $4)
           AND c.vapi_call_id = b.vapi_call_id
           AND c.ended_at IS NULL AND NOT (c.status = ANY($3))"
        )
    });
    let confirmed = sqlx::query(CONFIRM.as_str())
        .bind(BookingStatus::Confirmed.as_str())
        .bind(BookingStatus::Pending.as_str())
        .bind(&terminal)
        .execute(ex)
        .await?
        .rows_affected();
    let extended = sqlx::query(EXTEND.as_str())
        .bind(hold_minutes)
        .bind(BookingStatus::Pending.as_str())
        .bind(&terminal)
        .bind(i32::try_from(HOLD_MAX_LIVE_MINUTES).unwrap_or(30))
        .execute(ex)
        .await?
        .rows_affected();
    let expired = sqlx::query(
        "UPDATE vapi_bookings SET status = $1, cancelled_reason = coalesce(cancelled_reason, 'hold_expired'),
            updated_at = now()
         WHERE status = $2 AND hold_expires_at <= now()",
    )
    .bind(BookingStatus::Expired.as_str())
    .bind(BookingStatus::Pending.as_str())
    .execute(ex)
    .await?
    .rows_affected();
    Ok(HoldSweep {
        confirmed,
        extended,
        expired,
    })
}
