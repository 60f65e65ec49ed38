//! `call_analysis`: one analysis per call (inbound or outbound).

//!
//! May import: `domain`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

// --- webhooks (webhooks/vapi) ---

/// The analysis columns of one end-of-call report, for the call `call_id`
/// (`docs/behaviour.md#vapi-end-of-call`).
#[derive(Clone, Copy, Debug)]
pub struct AnalysisWrite<'a> {
    pub clinic_id: Uuid,
    pub call_id: Uuid,
    pub call_outcome: Option<&'a str>,
    pub call_outcome_details: Option<&'a Value>,
    pub pet_recovery_status: Option<&'a str>,
    pub pet_health_details: Option<&'a Value>,
    pub medication_compliance: Option<&'a str>,
    pub medication_details: Option<&'a Value>,
    pub owner_sentiment: Option<&'a str>,
    pub owner_sentiment_details: Option<&'a Value>,
    pub escalation_triggered: bool,
    pub escalation_details: Option<&'a Value>,
    pub follow_up_needed: bool,
    pub follow_up_details: Option<&'a Value>,
    pub attention_types: &'a [String],
    pub attention_severity: Option<&'a str>,
    pub attention_summary: Option<&'a str>,
    pub attention_flagged_at: Option<DateTime<Utc>>,
    pub summary: Option<&'a str>,
    pub success_evaluation: Option<&'a str>,
    pub structured_data: Option<&'a Value>,
}

// One upsert for both call kinds, differing only in the call's column: a macro keeps it one
// `&'static str` per kind. A redelivered or later report never erases what an earlier one set;
// the first attention flag's time is kept.
macro_rules! upsert_sql {
    ($col:literal) => {
        concat!(
            "INSERT INTO call_analysis (clinic_id, ", $col, ", call_outcome, call_outcome_details,
                pet_recovery_status, pet_health_details, medication_compliance, medication_details,
                owner_sentiment, owner_sentiment_details, escalation_triggered, escalation_details,
                follow_up_needed, follow_up_details, attention_types, attention_severity,
                attention_summary, attention_flagged_at, summary, success_evaluation, structured_data)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                     $19, $20, $21)
             ON CONFLICT (", $col, ") WHERE ", $col, " IS NOT NULL DO UPDATE SET
                call_outcome = COALESCE(EXCLUDED.call_outcome, call_analysis.call_outcome),
                call_outcome_details = COALESCE(EXCLUDED.call_outcome_details, call_analysis.call_outcome_details),
                pet_recovery_status = COALESCE(EXCLUDED.pet_recovery_status, call_analysis.pet_recovery_status),
                pet_health_details = COALESCE(EXCLUDED.pet_health_details, call_analysis.pet_health_details),
                medication_compliance = COALESCE(EXCLUDED.medication_compliance, call_analysis.medication_compliance),
                medication_details = COALESCE(EXCLUDED.medication_details, call_analysis.medication_details),
                owner_sentiment = COALESCE(EXCLUDED.owner_sentiment, call_analysis.owner_sentiment),
                owner_sentiment_details = COALESCE(EXCLUDED.owner_sentiment_details, call_analysis.owner_sentiment_details),
                escalation_triggered = EXCLUDED.escalation_triggered OR COALESCE(call_analysis.escalation_triggered, false),
                escalation_details = COALESCE(EXCLUDED.escalation_details, call_analysis.escalation_details),
                follow_up_needed = EXCLUDED.follow_up_needed OR COALESCE(call_analysis.follow_up_needed, false),
                follow_up_details = COALESCE(EXCLUDED.follow_up_details, call_analysis.follow_up_details),
                attention_types = CASE WHEN cardinality(EXCLUDED.attention_types) > 0
                                       THEN EXCLUDED.attention_types ELSE call_analysis.attention_types END,
                attention_severity = COALESCE(EXCLUDED.attention_severity, call_analysis.attention_severity),
                attention_summary = COALESCE(EXCLUDED.attention_summary, call_analysis.attention_summary),
                attention_flagged_at = COALESCE(call_analysis.attention_flagged_at, EXCLUDED.attention_flagged_at),
                summary = COALESCE(EXCLUDED.summary, call_analysis.summary),
                success_evaluation = COALESCE(EXCLUDED.success_evaluation, call_analysis.success_evaluation),
                structured_data = COALESCE(EXCLUDED.structured_data, call_analysis.structured_data)"
        )
    };
}

/// Upserts the analysis of an inbound call.
pub async fn upsert_inbound(
    conn: &mut PgConnection,
    a: &AnalysisWrite<'_>,
) -> Result<(), sqlx::Error> {
    upsert(conn, upsert_sql!("inbound_call_id"), a).await
}

/// Upserts the analysis of an outbound call.
pub async fn upsert_outbound(
    conn: &mut PgConnection,
    a: &AnalysisWrite<'_>,
) -> Result<(), sqlx::Error> {
    upsert(conn, upsert_sql!("outbound_call_id"), a).await
}

async fn upsert(
    conn: &mut PgConnection,
    sql: &'static str,
    a: &AnalysisWrite<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(sql)
        .bind(a.clinic_id)
        .bind(a.call_id)
        .bind(a.call_outcome)
        .bind(a.call_outcome_details)
        .bind(a.pet_recovery_status)
        .bind(a.pet_health_details)
        .bind(a.medication_compliance)
        .bind(a.medication_details)
        .bind(a.owner_sentiment)
        .bind(a.owner_sentiment_details)
        .bind(a.escalation_triggered)
        .bind(a.escalation_details)
        .bind(a.follow_up_needed)
        .bind(a.follow_up_details)
        .bind(a.attention_types)
        .bind(a.attention_severity)
        .bind(a.attention_summary)
        .bind(a.attention_flagged_at)
        .bind(a.summary)
        .bind(a.success_evaluation)
        .bind(a.structured_data)
        .execute(conn)
        .await
        .map(|_| ())
}
