//! Writing the legacy importer's rows into Schema V2: one set-based statement per V2 table and
//! batch (`jsonb_populate_recordset` over a JSON array, `ON CONFLICT … DO UPDATE … WHERE …
//! IS DISTINCT FROM …`, so a row that did not change is not written and a second run writes
//! nothing), `legacy_id_map`, the lookups owner deduplication needs, and the sample check.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// One V2 table as the importer writes it.
#[derive(Debug)]
pub struct Target {
    pub table: &'static str,
    /// The columns the importer sets (all others keep their defaults).
    pub columns: &'static [&'static str],
    /// The conflict target (a unique key of the table).
    pub conflict: &'static [&'static str],
    /// Columns written on insert only: never overwritten by a later run (e.g. a Clerk id that
    /// the Clerk webhook has since set on a placeholder user).
    pub insert_only: &'static [&'static str],
}

impl Target {
    fn updated(&self) -> impl Iterator<Item = &&'static str> + '_ {
        self.columns
            .iter()
            .filter(|c| !self.conflict.contains(c) && !self.insert_only.contains(c) && **c != "id")
    }

    /// The columns compared to decide whether a row changed: `updated_at` is set by the
    /// table's trigger on every update, so it can never equal the old value afterwards.
    fn compared(&self) -> Vec<&'static str> {
        self.updated()
            .filter(|c| **c != "updated_at")
            .copied()
            .collect()
    }

    fn upsert_sql(&self) -> String {
        let cols = self.columns.join(", ");
        let sets: Vec<String> = self
            .updated()
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect();
        let cmp = self.compared();
        let mine: Vec<String> = cmp.iter().map(|c| format!("x.{c}")).collect();
        let theirs: Vec<String> = cmp.iter().map(|c| format!("EXCLUDED.{c}")).collect();
        let action = if sets.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!(
                "DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
                sets.join(", "),
                row_expr(&mine),
                row_expr(&theirs)
            )
        };
        format!(
            "INSERT INTO {t} AS x ({cols}) SELECT {cols} \
             FROM jsonb_populate_recordset(NULL::{t}, $1::jsonb) \
             ON CONFLICT ({conflict}) {action}",
            t = self.table,
            conflict = self.conflict.join(", "),
        )
    }

    fn check_sql(&self) -> String {
        let cmp = self.compared();
        let mine: Vec<String> = cmp.iter().map(|c| format!("x.{c}")).collect();
        let theirs: Vec<String> = cmp.iter().map(|c| format!("e.{c}")).collect();
        let on: Vec<String> = self
            .conflict
            .iter()
            .map(|c| format!("x.{c} = e.{c}"))
            .collect();
        format!(
            "SELECT count(*) FROM jsonb_populate_recordset(NULL::{t}, $1::jsonb) e \
             LEFT JOIN {t} x ON {on} \
             WHERE x.{first} IS NULL OR ({mine}) IS DISTINCT FROM ({theirs})",
            t = self.table,
            on = on.join(" AND "),
            first = self.conflict[0],
            mine = row_expr(&mine),
            theirs = row_expr(&theirs),
        )
    }
}

/// A row expression; one column is compared as itself (`ROW(a)` vs `a` both work, but a
/// single-column row constructor needs the keyword).
fn row_expr(cols: &[String]) -> String {
    if cols.len() == 1 {
        format!("ROW({})", cols[0])
    } else {
        format!("({})", cols.join(", "))
    }
}

/// Upserts `rows` (JSON objects keyed by column) into the target; the rows actually inserted
/// or changed.
pub async fn upsert(
    conn: &mut PgConnection,
    target: &Target,
    rows: &[Value],
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let json = Value::Array(rows.to_vec());
    let done = sqlx::query(sqlx::AssertSqlSafe(target.upsert_sql()))
        .bind(json)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// How many of `rows` are NOT stored exactly so (missing, or a compared column differs).
pub async fn mismatches(
    conn: &mut PgConnection,
    target: &Target,
    rows: &[Value],
) -> Result<i64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    sqlx::query_scalar(sqlx::AssertSqlSafe(target.check_sql()))
        .bind(Value::Array(rows.to_vec()))
        .fetch_one(conn)
        .await
}

/// One `legacy_id_map` row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IdMapRow {
    pub old_table: &'static str,
    pub old_id: Uuid,
    pub new_table: &'static str,
    pub new_id: Uuid,
}

/// Upserts id-map rows; the rows inserted or changed.
pub async fn upsert_id_map(conn: &mut PgConnection, rows: &[IdMapRow]) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let json = serde_json::to_value(rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let done = sqlx::query(
        "INSERT INTO legacy_id_map AS m (old_table, old_id, new_table, new_id) \
         SELECT old_table, old_id, new_table, new_id \
         FROM jsonb_to_recordset($1::jsonb) AS r(old_table text, old_id uuid, new_table text, new_id uuid) \
         ON CONFLICT (old_table, old_id, new_table) DO UPDATE SET new_id = EXCLUDED.new_id \
         WHERE m.new_id IS DISTINCT FROM EXCLUDED.new_id",
    )
    .bind(json)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Whether every one of these id-map rows is stored and names an existing V2 row.
pub async fn id_map_holds(conn: &mut PgConnection, rows: &[IdMapRow]) -> Result<bool, sqlx::Error> {
    for r in rows {
        let sql = format!(
            "SELECT count(*) FROM legacy_id_map m JOIN {} x ON x.id = m.new_id \
             WHERE m.old_table = $1 AND m.old_id = $2 AND m.new_table = $3 AND m.new_id = $4",
            r.new_table
        );
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(r.old_table)
            .bind(r.old_id)
            .bind(r.new_table)
            .bind(r.new_id)
            .fetch_one(&mut *conn)
            .await?;
        if n != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every mapping from `old_table` to `new_table` (merges: few rows).
pub async fn id_map(
    conn: &mut PgConnection,
    old_table: &str,
    new_table: &str,
) -> Result<HashMap<Uuid, Uuid>, sqlx::Error> {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT old_id, new_id FROM legacy_id_map WHERE old_table = $1 AND new_table = $2",
    )
    .bind(old_table)
    .bind(new_table)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Clients of these clinics whose phone is one of `phones` or whose lower-cased e-mail is one of
/// `emails`: `(id, clinic_id, phone, lower(email))`, oldest first.
pub async fn clients_by_contact(
    conn: &mut PgConnection,
    clinics: &[Uuid],
    phones: &[String],
    emails: &[String],
) -> Result<Vec<(Uuid, Uuid, Option<String>, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, clinic_id, phone, lower(email) FROM clients \
         WHERE clinic_id = ANY($1) AND (phone = ANY($2) OR lower(email) = ANY($3)) \
         ORDER BY created_at, id",
    )
    .bind(clinics)
    .bind(phones)
    .bind(emails)
    .fetch_all(conn)
    .await
}

/// Patients of these clients with these lower-cased names: `(id, client_id, lower(name))`.
pub async fn patients_by_name(
    conn: &mut PgConnection,
    clients: &[Uuid],
    names: &[String],
) -> Result<Vec<(Uuid, Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, client_id, lower(name) FROM patients \
         WHERE client_id = ANY($1) AND lower(name) = ANY($2)",
    )
    .bind(clients)
    .bind(names)
    .fetch_all(conn)
    .await
}

/// Which of `ids` exist in `table` (one of the importer's targets).
pub async fn existing_ids(
    conn: &mut PgConnection,
    table: &str,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(conn)
    .await
}

/// V2 assistant mappings by assistant id: `(assistant_id, id)`.
pub async fn mappings_by_assistant(
    conn: &mut PgConnection,
    assistants: &[String],
) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT assistant_id, id FROM vapi_assistant_mappings WHERE assistant_id = ANY($1)",
    )
    .bind(assistants)
    .fetch_all(conn)
    .await
}

/// V2 clinics by Clerk organization id: `(clerk_org_id, id)`.
pub async fn clinics_by_org(
    conn: &mut PgConnection,
    orgs: &[String],
) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    sqlx::query_as("SELECT clerk_org_id, id FROM clinics WHERE clerk_org_id = ANY($1)")
        .bind(orgs)
        .fetch_all(conn)
        .await
}

/// Runs `sql_name` savepoint commands (the batch writer's retry points).
pub async fn savepoint(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SAVEPOINT legacy_group")
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn rollback_savepoint(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("ROLLBACK TO SAVEPOINT legacy_group")
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn release_savepoint(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("RELEASE SAVEPOINT legacy_group")
        .execute(conn)
        .await
        .map(|_| ())
}

/// The V2 tables the importer writes, in foreign-key order.
pub mod targets {
    use super::Target;

    pub const CLINICS: Target = Target {
        table: "clinics",
        columns: &[
            "id",
            "clerk_org_id",
            "name",
            "slug",
            "email",
            "phone",
            "address",
            "timezone",
            "business_hours",
            "er_config",
            "pims_type",
            "primary_color",
            "logo_url",
            "stripe_customer_id",
            "stripe_subscription_id",
            "subscription_tier",
            "subscription_status",
            "current_period_start",
            "current_period_end",
            "is_active",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CLINIC_SETTINGS: Target = Target {
        table: "clinic_settings",
        columns: &[
            "id",
            "clinic_id",
            "voicemail_detection_enabled",
            "voicemail_hangup_on_detection",
            "voicemail_message",
            "max_call_retries",
            "preferred_email_start_time",
            "preferred_email_end_time",
            "preferred_call_start_time",
            "preferred_call_end_time",
            "email_delay_days",
            "call_delay_days",
            "batch_include_pims_notes",
            "batch_include_manual_transcriptions",
            "emergency_phone",
            "email_header_text",
            "email_footer_text",
            "test_mode_enabled",
            "test_contact_name",
            "test_contact_email",
            "test_contact_phone",
        ],
        conflict: &["clinic_id"],
        insert_only: &["id"],
    };
    pub const USERS: Target = Target {
        table: "users",
        columns: &[
            "id",
            "clerk_user_id",
            "email",
            "first_name",
            "last_name",
            "role",
            "avatar_url",
            "onboarding_completed",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &["clerk_user_id"],
    };
    pub const USER_CLINIC_ACCESS: Target = Target {
        table: "user_clinic_access",
        columns: &[
            "id",
            "user_id",
            "clinic_id",
            "role",
            "is_primary",
            "granted_by",
            "granted_at",
            "created_at",
        ],
        conflict: &["user_id", "clinic_id"],
        insert_only: &["id"],
    };
    pub const CLIENTS: Target = Target {
        table: "clients",
        columns: &[
            "id",
            "clinic_id",
            "first_name",
            "last_name",
            "display_name",
            "phone",
            "phone_secondary",
            "email",
            "address",
            "preferred_contact_method",
            "communication_opt_out",
            "is_active",
            "first_visit_at",
            "last_visit_at",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const PATIENTS: Target = Target {
        table: "patients",
        columns: &[
            "id",
            "clinic_id",
            "client_id",
            "name",
            "species",
            "breed",
            "sex",
            "color",
            "date_of_birth",
            "weight_kg",
            "microchip_id",
            "is_deceased",
            "deceased_at",
            "allergies",
            "chronic_conditions",
            "is_active",
            "first_visit_at",
            "last_visit_at",
            "visit_count",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CASES: Target = Target {
        table: "cases",
        columns: &[
            "id",
            "clinic_id",
            "patient_id",
            "client_id",
            "created_by",
            "updated_by",
            "type",
            "status",
            "visibility",
            "source",
            "patient_snapshot",
            "scheduled_at",
            "auto_scheduled_at",
            "scheduling_source",
            "call_enabled",
            "email_enabled",
            "cadence_source",
            "call_delay_days",
            "email_delay_days",
            "detected_case_type",
            "external_id",
            "entity_extraction",
            "extreme_case_check",
            "is_urgent",
            "is_starred",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const OUTBOUND_CALLS: Target = Target {
        table: "outbound_calls",
        columns: &[
            "id",
            "clinic_id",
            "case_id",
            "vapi_call_id",
            "assistant_id",
            "outbound_phone_number_id",
            "customer_phone",
            "scheduled_for",
            "qstash_message_id",
            "status",
            "started_at",
            "ended_at",
            "ended_reason",
            "duration_seconds",
            "cost",
            "recording_url",
            "stereo_recording_url",
            "transcript",
            "transcript_messages",
            "cleaned_transcript",
            "review_category",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const INBOUND_CALLS: Target = Target {
        table: "inbound_calls",
        columns: &[
            "id",
            "clinic_id",
            "vapi_call_id",
            "assistant_id",
            "phone_number_id",
            "customer_phone",
            "type",
            "status",
            "started_at",
            "ended_at",
            "ended_reason",
            "duration_seconds",
            "cost",
            "recording_url",
            "stereo_recording_url",
            "transcript",
            "transcript_messages",
            "cleaned_transcript",
            "display_transcript",
            "use_display_transcript",
            "outcome",
            "actions_taken",
            "action_confirmed",
            "extracted_caller_phone",
            "extracted_caller_name",
            "extracted_pet_name",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CALL_ANALYSIS: Target = Target {
        table: "call_analysis",
        columns: &[
            "id",
            "clinic_id",
            "inbound_call_id",
            "outbound_call_id",
            "call_outcome",
            "call_outcome_details",
            "pet_recovery_status",
            "pet_health_details",
            "medication_compliance",
            "medication_details",
            "owner_sentiment",
            "owner_sentiment_details",
            "escalation_triggered",
            "escalation_details",
            "follow_up_needed",
            "follow_up_details",
            "attention_types",
            "attention_severity",
            "attention_summary",
            "attention_flagged_at",
            "summary",
            "success_evaluation",
            "structured_data",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const OUTBOUND_EMAILS: Target = Target {
        table: "outbound_emails",
        columns: &[
            "id",
            "clinic_id",
            "case_id",
            "recipient_email",
            "recipient_name",
            "subject",
            "html_content",
            "text_content",
            "scheduled_for",
            "status",
            "sent_at",
            "resend_email_id",
            "qstash_message_id",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const VAPI_ASSISTANT_MAPPINGS: Target = Target {
        table: "vapi_assistant_mappings",
        columns: &[
            "id",
            "clinic_id",
            "assistant_id",
            "assistant_name",
            "assistant_type",
            "environment",
            "pims_clinic_id",
            "is_active",
            "phone_number_id",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CLINIC_INVITATIONS: Target = Target {
        table: "clinic_invitations",
        columns: &[
            "id",
            "clinic_id",
            "email",
            "token",
            "role",
            "status",
            "invited_by",
            "accepted_by",
            "accepted_at",
            "expires_at",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const PROVIDERS: Target = Target {
        table: "providers",
        columns: &[
            "id",
            "clinic_id",
            "user_id",
            "name",
            "role",
            "is_active",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const SOAP_NOTES: Target = Target {
        table: "soap_notes",
        columns: &[
            "id",
            "case_id",
            "clinic_id",
            "transcript",
            "subjective",
            "objective",
            "assessment",
            "plan",
            "client_instructions",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const VITAL_SIGNS: Target = Target {
        table: "vital_signs",
        columns: &[
            "id",
            "case_id",
            "clinic_id",
            "soap_note_id",
            "temperature",
            "temperature_unit",
            "pulse",
            "respiration",
            "weight",
            "weight_unit",
            "systolic",
            "diastolic",
            "notes",
            "source",
            "measured_at",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const DISCHARGE_TEMPLATES: Target = Target {
        table: "discharge_templates",
        columns: &[
            "id",
            "clinic_id",
            "created_by",
            "name",
            "content",
            "is_default",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const DISCHARGE_SUMMARIES: Target = Target {
        table: "discharge_summaries",
        columns: &[
            "id",
            "case_id",
            "clinic_id",
            "soap_note_id",
            "template_id",
            "content",
            "structured_content",
            "created_by",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CLINIC_MESSAGES: Target = Target {
        table: "clinic_messages",
        columns: &[
            "id",
            "clinic_id",
            "inbound_call_id",
            "caller_name",
            "caller_phone",
            "message_content",
            "message_type",
            "status",
            "priority",
            "assigned_to_user_id",
            "triage_data",
            "read_at",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const REFILL_REQUESTS: Target = Target {
        table: "refill_requests",
        columns: &[
            "id",
            "clinic_id",
            "inbound_call_id",
            "client_name",
            "client_phone",
            "pet_name",
            "species",
            "medication_name",
            "medication_strength",
            "last_refill_date",
            "pharmacy_preference",
            "pharmacy_name",
            "pharmacy_phone",
            "status",
            "requires_exam",
            "vet_notes",
            "approved_by",
            "approved_at",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const SCHEDULE_APPOINTMENTS: Target = Target {
        table: "schedule_appointments",
        columns: &[
            "id",
            "clinic_id",
            "time_range",
            "source",
            "pims_appointment_id",
            "patient_name",
            "client_name",
            "client_phone",
            "provider_name",
            "room_id",
            "appointment_type",
            "status",
            "sync_hash",
            "last_synced_at",
            "deleted_at",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const VAPI_BOOKINGS: Target = Target {
        table: "vapi_bookings",
        columns: &[
            "id",
            "clinic_id",
            "inbound_call_id",
            "time_range",
            "client_name",
            "client_phone",
            "patient_name",
            "species",
            "breed",
            "reason",
            "is_new_client",
            "status",
            "confirmation_number",
            "vapi_call_id",
            "hold_expires_at",
            "has_conflict",
            "pims_appointment_id",
            "pims_client_id",
            "pims_patient_id",
            "original_time_range",
            "rescheduled_at",
            "rescheduled_reason",
            "rescheduled_from_id",
            "cancelled_at",
            "cancelled_reason",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CLINIC_SCHEDULE_CONFIG: Target = Target {
        table: "clinic_schedule_config",
        columns: &[
            "id",
            "clinic_id",
            "daily_hours",
            "slot_duration_minutes",
            "sync_horizon_days",
            "stale_threshold_minutes",
            "sync_schedules",
            "vapi_availability_start_time",
            "vapi_availability_end_time",
            "target_room_id",
            "target_room_name",
            "created_at",
            "updated_at",
            "slot_capacity",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CLINIC_BLOCKED_PERIODS: Target = Target {
        table: "clinic_blocked_periods",
        columns: &[
            "id",
            "clinic_id",
            "name",
            "start_time",
            "end_time",
            "days_of_week",
            "is_active",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const SCHEDULE_SYNCS: Target = Target {
        table: "schedule_syncs",
        columns: &[
            "id",
            "clinic_id",
            "sync_type",
            "sync_start_date",
            "sync_end_date",
            "status",
            "appointments_added",
            "appointments_updated",
            "appointments_removed",
            "error_message",
            "error_details",
            "started_at",
            "completed_at",
            "duration_ms",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const APPOINTMENT_AUDIT_LOG: Target = Target {
        table: "appointment_audit_log",
        columns: &[
            "id",
            "clinic_id",
            "action",
            "booking_id",
            "appointment_id",
            "pims_appointment_id",
            "old_time_range",
            "new_time_range",
            "reason",
            "error_code",
            "error_message",
            "vapi_call_id",
            "performed_by",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const AUTO_SCHEDULING_CONFIG: Target = Target {
        table: "auto_scheduling_config",
        columns: &[
            "id",
            "clinic_id",
            "is_enabled",
            "auto_email_enabled",
            "auto_call_enabled",
            "email_delay_days",
            "call_delay_days",
            "preferred_email_time",
            "preferred_call_time",
            "scheduling_criteria",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CLINIC_CASE_TYPE_CADENCE: Target = Target {
        table: "clinic_case_type_cadence",
        columns: &[
            "id",
            "clinic_id",
            "case_type",
            "auto_schedule_call",
            "auto_schedule_email",
            "call_delay_days",
            "email_delay_days",
            "preferred_call_time",
            "preferred_email_time",
            "never_auto_schedule",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const AUTO_SCHEDULING_RUNS: Target = Target {
        table: "auto_scheduling_runs",
        columns: &[
            "id",
            "started_at",
            "completed_at",
            "status",
            "results",
            "total_cases_processed",
            "total_emails_scheduled",
            "total_calls_scheduled",
            "total_errors",
            "error_message",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const AUTO_SCHEDULED_ITEMS: Target = Target {
        table: "auto_scheduled_items",
        columns: &[
            "id",
            "case_id",
            "clinic_id",
            "run_id",
            "outbound_email_id",
            "outbound_call_id",
            "status",
            "cancelled_at",
            "cancelled_by",
            "cancellation_reason",
            "scheduled_config",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const DISCHARGE_BATCHES: Target = Target {
        table: "discharge_batches",
        columns: &[
            "id",
            "clinic_id",
            "created_by",
            "status",
            "total_cases",
            "processed_cases",
            "successful_cases",
            "failed_cases",
            "email_schedule_time",
            "call_schedule_time",
            "started_at",
            "completed_at",
            "cancelled_at",
            "error_summary",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const DISCHARGE_BATCH_ITEMS: Target = Target {
        table: "discharge_batch_items",
        columns: &[
            "id",
            "batch_id",
            "case_id",
            "patient_id",
            "status",
            "email_scheduled",
            "call_scheduled",
            "outbound_email_id",
            "outbound_call_id",
            "error_message",
            "processed_at",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const WAITLIST_SIGNUPS: Target = Target {
        table: "waitlist_signups",
        columns: &[
            "id",
            "email",
            "full_name",
            "source",
            "campaign",
            "status",
            "metadata",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const CONTACT_SUBMISSIONS: Target = Target {
        table: "contact_submissions",
        columns: &[
            "id",
            "first_name",
            "last_name",
            "email",
            "clinic_name",
            "phone",
            "message",
            "source",
            "metadata",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const AI_TEMPLATES: Target = Target {
        table: "ai_templates",
        columns: &[
            "id",
            "name",
            "type",
            "key",
            "content",
            "prompt",
            "model",
            "description",
            "output_format",
            "validation_schema",
            "metadata",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const SOAP_TEMPLATES: Target = Target {
        table: "soap_templates",
        columns: &[
            "id",
            "clinic_id",
            "created_by",
            "template_name",
            "display_name",
            "icon_name",
            "subjective_template",
            "objective_template",
            "assessment_template",
            "plan_template",
            "client_instructions_template",
            "subjective_prompt",
            "objective_prompt",
            "assessment_prompt",
            "plan_prompt",
            "client_instructions_prompt",
            "system_prompt_addition",
            "is_default",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const PIMS_CREDENTIALS: Target = Target {
        table: "pims_credentials",
        columns: &[
            "id",
            "clinic_id",
            "pims_type",
            "credentials_encrypted",
            "encryption_key_id",
            "is_active",
            "validation_status",
            "last_validated_at",
            "last_used_at",
            "sync_enabled",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const PIMS_SYNC_SESSIONS: Target = Target {
        table: "pims_sync_sessions",
        columns: &[
            "id",
            "clinic_id",
            "credential_id",
            "pims_type",
            "session_type",
            "status",
            "started_at",
            "completed_at",
            "items_synced",
            "items_failed",
            "error_message",
            "error_details",
            "metadata",
            "next_scheduled_sync",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const PIMS_SYNC_AUDIT_LOG: Target = Target {
        table: "pims_sync_audit_log",
        columns: &[
            "id",
            "clinic_id",
            "sync_session_id",
            "action_type",
            "resource_type",
            "resource_id",
            "status",
            "details",
            "created_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const PIMS_MAPPINGS: Target = Target {
        table: "pims_mappings",
        columns: &[
            "id",
            "clinic_id",
            "entity_type",
            "entity_id",
            "pims_type",
            "external_id",
            "external_data",
            "last_synced_at",
            "sync_status",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const SLACK_WORKSPACES: Target = Target {
        table: "slack_workspaces",
        columns: &[
            "id",
            "clinic_id",
            "team_id",
            "team_name",
            "bot_token",
            "bot_user_id",
            "scope",
            "is_active",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const SLACK_CHANNELS: Target = Target {
        table: "slack_channels",
        columns: &[
            "id",
            "workspace_id",
            "channel_id",
            "channel_name",
            "timezone",
            "is_active",
            "added_by",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const SLACK_TASKS: Target = Target {
        table: "slack_tasks",
        columns: &[
            "id",
            "channel_id",
            "title",
            "description",
            "reminder_time",
            "is_active",
            "created_by",
            "created_at",
            "updated_at",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
    pub const SLACK_TASK_COMPLETIONS: Target = Target {
        table: "slack_task_completions",
        columns: &[
            "id",
            "task_id",
            "completion_date",
            "completed_by_username",
            "completed_at",
            "message_ts",
        ],
        conflict: &["id"],
        insert_only: &[],
    };
}
