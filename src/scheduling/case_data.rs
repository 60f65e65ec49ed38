//! One query shape for "everything needed to schedule a follow-up for a case", shared by the
//! auto-scheduling run (many cases per query) and discharge batches (one item at a time), plus
//! the pure derivations on top of it (contacts, blocked check, content).

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::content::{self, Branding, CallContext, EmailContent};
use crate::domain::extreme::{self, ExtremeInput};

/// Columns and joins; callers append `WHERE ...`. The latest discharge summary comes from a
/// LATERAL join, and the "already has a live email/call" flags from EXISTS probes on indexed
/// columns, so a page of cases is one statement.
pub const CASE_SELECT: &str = r#"
SELECT ca.id, ca.clinic_id, ca.status, COALESCE(ca.type, ca.detected_case_type) AS case_type,
       ca.created_at, ca.cadence_source, ca.call_enabled, ca.email_enabled,
       ca.call_delay_days, ca.email_delay_days, ca.entity_extraction, ca.extreme_case_check,
       ca.metadata, ca.patient_snapshot,
       cl.display_name AS client_name, cl.phone AS client_phone, cl.email AS client_email,
       cl.communication_opt_out AS client_opt_out,
       p.name AS patient_name, p.species AS patient_species, p.is_deceased AS patient_deceased,
       ds.content AS summary_content, ds.structured_content AS summary_structured,
       (ds.id IS NOT NULL) AS has_summary,
       EXISTS (SELECT 1 FROM auto_scheduled_items i
               WHERE i.case_id = ca.id AND i.status = 'scheduled') AS has_scheduled_item,
       EXISTS (SELECT 1 FROM outbound_emails e
               WHERE e.case_id = ca.id AND e.status NOT IN ('failed', 'cancelled')) AS has_live_email,
       EXISTS (SELECT 1 FROM outbound_calls c
               WHERE c.case_id = ca.id AND c.status NOT IN ('failed', 'cancelled')) AS has_live_call
FROM cases ca
LEFT JOIN patients p ON p.id = ca.patient_id
LEFT JOIN clients cl ON cl.id = COALESCE(ca.client_id, p.client_id)
LEFT JOIN LATERAL (
    SELECT d.id, d.content, d.structured_content FROM discharge_summaries d
    WHERE d.case_id = ca.id ORDER BY d.created_at DESC NULLS LAST, d.id DESC LIMIT 1
) ds ON true
"#;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub status: Option<String>,
    pub case_type: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub cadence_source: Option<String>,
    pub call_enabled: Option<bool>,
    pub email_enabled: Option<bool>,
    pub call_delay_days: Option<i32>,
    pub email_delay_days: Option<i32>,
    pub entity_extraction: Option<Value>,
    pub extreme_case_check: Option<Value>,
    pub metadata: Option<Value>,
    pub patient_snapshot: Option<Value>,
    pub client_name: Option<String>,
    pub client_phone: Option<String>,
    pub client_email: Option<String>,
    pub client_opt_out: Option<bool>,
    pub patient_name: Option<String>,
    pub patient_species: Option<String>,
    pub patient_deceased: Option<bool>,
    pub summary_content: Option<String>,
    pub summary_structured: Option<Value>,
    pub has_summary: Option<bool>,
    pub has_scheduled_item: Option<bool>,
    pub has_live_email: Option<bool>,
    pub has_live_call: Option<bool>,
}

/// The clinic-level values content generation needs.
#[derive(Debug, Clone, Default)]
pub struct ClinicInfo {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub emergency_phone: Option<String>,
    pub primary_color: Option<String>,
    pub logo_url: Option<String>,
}

fn json_str<'a>(v: Option<&'a Value>, ptr: &str) -> Option<&'a str> {
    v.and_then(|v| v.pointer(ptr)).and_then(Value::as_str)
}

impl CaseRow {
    fn owner<'a>(
        &'a self,
        client: Option<&'a str>,
        snapshot_key: &str,
        entity_key: &str,
    ) -> [Option<&'a str>; 3] {
        [
            client,
            json_str(self.patient_snapshot.as_ref(), snapshot_key),
            json_str(self.entity_extraction.as_ref(), entity_key),
        ]
    }

    /// Owner phone in E.164: the client row, else the case's patient snapshot, else the AI
    /// extraction — the first that is a usable number.
    pub fn owner_phone(&self) -> Option<String> {
        self.owner(
            self.client_phone.as_deref(),
            "/owner_phone",
            "/patient/owner/phone",
        )
        .into_iter()
        .flatten()
        .find_map(|p| crate::domain::phone::normalize_e164(p).ok())
    }

    pub fn owner_email(&self) -> Option<String> {
        self.owner(
            self.client_email.as_deref(),
            "/owner_email",
            "/patient/owner/email",
        )
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|e| content::valid_email(e))
        .map(str::to_string)
    }

    pub fn owner_name(&self) -> Option<String> {
        content::first_present(self.owner(
            self.client_name.as_deref(),
            "/owner_name",
            "/patient/owner/name",
        ))
    }

    pub fn patient_name(&self) -> Option<String> {
        content::first_present([
            self.patient_name.as_deref(),
            json_str(self.patient_snapshot.as_ref(), "/name"),
            json_str(self.entity_extraction.as_ref(), "/patient/name"),
        ])
    }

    fn species(&self) -> Option<String> {
        content::first_present([
            self.patient_species.as_deref(),
            json_str(self.patient_snapshot.as_ref(), "/species"),
        ])
    }

    /// Blocked (euthanasia/deceased...) reason, behavior.md §10 as the scheduling callers use it:
    /// the stored AI verdict, the entity case type and the case metadata's notes.
    pub fn blocked_reason(&self) -> Option<String> {
        let meta = self.metadata.as_ref();
        extreme::blocked_reason(&ExtremeInput {
            case_type: self.case_type.as_deref(),
            detected_case_type: None,
            discharge_summary: None,
            consultation_notes: None,
            metadata: meta,
            entity_extraction: self.entity_extraction.as_ref(),
            extreme_case_check: self.extreme_case_check.as_ref(),
            patient_deceased: self.patient_deceased.unwrap_or(false),
        })
    }

    pub fn email(&self, clinic: &ClinicInfo) -> Result<EmailContent, content::ContentError> {
        content::discharge_email(
            self.patient_name().as_deref().unwrap_or(""),
            self.case_type.as_deref(),
            &Branding {
                clinic_name: clinic.name.clone(),
                clinic_phone: clinic.phone.clone(),
                primary_color: clinic.primary_color.clone(),
                logo_url: clinic.logo_url.clone(),
            },
            self.summary_content.as_deref(),
            self.summary_structured.as_ref(),
        )
    }

    pub fn call_variables(&self, clinic: &ClinicInfo) -> serde_json::Map<String, Value> {
        let patient = self.patient_name();
        let owner = self.owner_name();
        let species = self.species();
        content::call_variables(&CallContext {
            clinic_name: clinic.name.as_deref(),
            clinic_phone: clinic.phone.as_deref(),
            emergency_phone: clinic.emergency_phone.as_deref(),
            patient_name: patient.as_deref(),
            species: species.as_deref(),
            owner_name: owner.as_deref(),
            discharge_summary: self.summary_content.as_deref(),
            entities: self.entity_extraction.as_ref(),
        })
    }
}
