//! `refill_requests` taken by the voice assistant (`docs/behaviour.md#vapi-tools-refills`).

use chrono::NaiveDate;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::status::InboxItemStatus;

pub struct NewRefill<'a> {
    pub clinic_id: Uuid,
    pub inbound_call_id: Option<Uuid>,
    pub client_name: &'a str,
    pub client_phone: &'a str,
    pub pet_name: &'a str,
    pub species: Option<&'a str>,
    pub medication_name: &'a str,
    pub medication_strength: Option<&'a str>,
    pub last_refill_date: Option<NaiveDate>,
    pub pharmacy_preference: &'a str,
    pub pharmacy_name: Option<&'a str>,
    /// Carries `reference_id` (unique).
    pub metadata: &'a Value,
}

/// Inserts the request; `None` when its reference number is already taken (draw another).
pub async fn insert(
    conn: &mut PgConnection,
    r: &NewRefill<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO refill_requests (clinic_id, inbound_call_id, client_name, client_phone,
            pet_name, species, medication_name, medication_strength, last_refill_date,
            pharmacy_preference, pharmacy_name, status, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT ((metadata->>'reference_id')) WHERE metadata ? 'reference_id' DO NOTHING
         RETURNING id",
    )
    .bind(r.clinic_id)
    .bind(r.inbound_call_id)
    .bind(r.client_name)
    .bind(r.client_phone)
    .bind(r.pet_name)
    .bind(r.species)
    .bind(r.medication_name)
    .bind(r.medication_strength)
    .bind(r.last_refill_date)
    .bind(r.pharmacy_preference)
    .bind(r.pharmacy_name)
    .bind(InboxItemStatus::Pending.as_str())
    .bind(r.metadata)
    .fetch_optional(conn)
    .await
}
