//! `cases`, their `patients` and `discharge_summaries`: what a follow-up is about.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== dispatch (jobs/dispatch) ====

/// A case as dispatch sees it: the blocked-case facts, and what the call's variables use.
#[derive(Clone, Debug)]
pub struct CaseForDispatch {
    pub facts: crate::domain::blocked::CaseFacts,
    /// `cases.patient_snapshot` (`{}` when NULL).
    pub snapshot: Value,
    pub patient_name: Option<String>,
    pub species: Option<String>,
    pub client_name: Option<String>,
    /// The latest discharge summary's `structured_content` (`{}` when none).
    pub structured_summary: Value,
}

#[derive(sqlx::FromRow)]
struct CaseForDispatchRow {
    #[sqlx(rename = "type")]
    case_type: Option<String>,
    detected_case_type: Option<String>,
    metadata: Value,
    entity_extraction: Value,
    extreme_case_check: Value,
    snapshot: Value,
    patient_name: Option<String>,
    species: Option<String>,
    deceased: bool,
    client_name: Option<String>,
    summary: Option<String>,
    structured: Value,
}

/// The case, its patient/client and its latest discharge summary.
pub async fn load_for_dispatch(
    ex: impl PgExecutor<'_>,
    case_id: Uuid,
) -> Result<CaseForDispatch, sqlx::Error> {
    let r: CaseForDispatchRow = sqlx::query_as(
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
    .fetch_one(ex)
    .await?;
    Ok(CaseForDispatch {
        facts: crate::domain::blocked::CaseFacts {
            case_type: r.case_type,
            detected_case_type: r.detected_case_type,
            metadata: r.metadata,
            entity_extraction: r.entity_extraction,
            extreme_case_check: r.extreme_case_check,
            patient_deceased: r.deceased,
            discharge_summary: r.summary,
        },
        snapshot: r.snapshot,
        patient_name: r.patient_name,
        species: r.species,
        client_name: r.client_name,
        structured_summary: r.structured,
    })
}

// ==== end dispatch (jobs/dispatch) ====

// ==== scheduling (scheduling/) ====

// ==== end scheduling (scheduling/) ====
