//! "Everything needed to schedule a follow-up for a case": the row shape is
//! `db::cases::CaseRow` (read by [`CASE_SELECT`], shared by the auto-scheduling run and
//! discharge batches); this module owns the pure derivations on top of it (contacts, the
//! blocked check, content). May import: `db` (row types), `domain`, `scheduling::content`.

use serde_json::Value;

use super::content::{self, Branding, CallContext, ContentError, EmailContent};
pub use crate::db::cases::{CaseRow, CASE_SELECT};
use crate::domain::blocked::{self, BlockedInput};

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

    /// Blocked (euthanasia/deceased...) reason (docs/behaviour.md#blocked-cases): the same
    /// check, on the same facts, as dispatch makes.
    pub fn blocked_reason(&self) -> Option<String> {
        blocked::check(&BlockedInput {
            case_type: self.own_case_type.as_deref(),
            detected_case_type: self.detected_case_type.as_deref(),
            metadata: self.metadata.as_ref(),
            entity_extraction: self.entity_extraction.as_ref(),
            extreme_case_check: self.extreme_case_check.as_ref(),
            patient_deceased: self.patient_deceased.unwrap_or(false),
            discharge_summary: self.summary_content.as_deref(),
        })
    }

    pub fn email(&self, clinic: &ClinicInfo) -> Result<EmailContent, ContentError> {
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
            metadata: self.metadata.as_ref(),
            soap_instructions: self.soap_instructions.as_deref(),
            soap_plan: self.soap_plan.as_deref(),
        })
    }
}
