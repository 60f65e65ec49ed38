//! Seeding for the tests: one clinic with settings, a client, a patient, a case with a
//! discharge summary, and helpers to add calls and emails.

use sqlx::PgPool;
use uuid::Uuid;

pub struct Seed {
    pub clinic_id: Uuid,
    pub case_id: Uuid,
    pub patient_id: Uuid,
}

/// A clinic in `tz` whose call window is open all day (tests that need a closed window
/// update `clinic_settings`).
pub async fn seed(pool: &PgPool, tz: &str) -> Seed {
    odis_worker::jobs::setup(pool).await.unwrap();
    let clinic_id: Uuid = sqlx::query_scalar(
        "INSERT INTO clinics (name, slug, phone, timezone) VALUES ('Happy Paws', 'happy-paws', \
         '(408) 555-0100', $1) RETURNING id",
    )
    .bind(tz)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO clinic_settings (clinic_id, preferred_call_start_time, preferred_call_end_time, \
         voicemail_detection_enabled, voicemail_message) \
         VALUES ($1, TIME '00:00', TIME '23:59:59.999999', true, 'Hi {{owner_name}}, call us back')",
    )
    .bind(clinic_id)
    .execute(pool)
    .await
    .unwrap();
    let client_id: Uuid = sqlx::query_scalar(
        "INSERT INTO clients (clinic_id, display_name, phone, email) \
         VALUES ($1, 'Dana Owner', '(408) 555-0199', 'dana@example.com') RETURNING id",
    )
    .bind(clinic_id)
    .fetch_one(pool)
    .await
    .unwrap();
    let patient_id: Uuid = sqlx::query_scalar(
        "INSERT INTO patients (clinic_id, client_id, name, species) VALUES ($1, $2, 'Biscuit Jones', 'Dog') RETURNING id",
    )
    .bind(clinic_id)
    .bind(client_id)
    .fetch_one(pool)
    .await
    .unwrap();
    let case_id: Uuid = sqlx::query_scalar(
        "INSERT INTO cases (clinic_id, patient_id, client_id, type, status, patient_snapshot) \
         VALUES ($1, $2, $3, 'surgery', 'completed', \
           '{\"name\": \"Biscuit Jones\", \"owner_name\": \"Dana Owner\", \"owner_phone\": \"(408) 555-0199\"}') \
         RETURNING id",
    )
    .bind(clinic_id)
    .bind(patient_id)
    .bind(client_id)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO discharge_summaries (case_id, clinic_id, content, structured_content) \
         VALUES ($1, $2, 'Spay surgery went well. Rest for 10 days.', \
           '{\"medications\": [{\"name\": \"Carprofen\", \"dosage\": \"25mg\", \"frequency\": \"twice daily\"}]}')",
    )
    .bind(case_id)
    .bind(clinic_id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO vapi_assistant_mappings (clinic_id, assistant_id, assistant_type) VALUES ($1, 'asst-outbound-1', 'outbound')",
    )
    .bind(clinic_id)
    .execute(pool)
    .await
    .unwrap();
    Seed {
        clinic_id,
        case_id,
        patient_id,
    }
}

/// A due `queued` call for the seeded case (no assistant/phone number on the row: the
/// clinic mapping and VAPI_OUTBOUND_PHONE_NUMBER_ID fill them), linked to an auto-scheduled item.
pub async fn add_call(pool: &PgPool, s: &Seed, phone: &str) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO outbound_calls (clinic_id, case_id, customer_phone, scheduled_for, status, metadata) \
         VALUES ($1, $2, $3, now() - interval '1 minute', 'queued', \
           '{\"dynamic_variables\": {\"owner_name\": \"Dana\"}}') RETURNING id",
    )
    .bind(s.clinic_id)
    .bind(s.case_id)
    .bind(phone)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        // One live auto-scheduled item per case (uq_auto_scheduled_items_case_live): only the
        // case's first call gets one.
        "INSERT INTO auto_scheduled_items (case_id, clinic_id, outbound_call_id, status) VALUES ($1, $2, $3, 'scheduled') ON CONFLICT DO NOTHING",
    )
    .bind(s.case_id)
    .bind(s.clinic_id)
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    id
}

pub async fn add_email(pool: &PgPool, s: &Seed) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO outbound_emails (clinic_id, case_id, recipient_email, recipient_name, subject, \
           html_content, text_content, scheduled_for, status) \
         VALUES ($1, $2, 'dana@example.com', 'Dana Owner', 'Discharge Instructions for Biscuit', \
           '<p>Hello</p>', 'Hello', now() - interval '1 minute', 'queued') RETURNING id",
    )
    .bind(s.clinic_id)
    .bind(s.case_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Inserts a clinic and returns its id.
pub async fn clinic(pool: &PgPool, name: &str, tz: &str) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO clinics (name, slug, timezone, phone) VALUES ($1, $2, $3, '+14155550100') RETURNING id",
    )
    .bind(name)
    .bind(name.to_lowercase().replace(' ', "-"))
    .bind(tz)
    .fetch_one(pool)
    .await
    .expect("insert clinic")
}
