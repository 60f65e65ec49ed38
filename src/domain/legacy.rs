//! Translating the old (63-table) schema's values into Schema V2's: status vocabularies, roles,
//! owner deduplication keys, placeholder Clerk ids, ids derived for rows that have no old id,
//! the call-analysis blobs, and the stable skip reason codes. Pure; the importer (`import/`)
//! applies them row by row. The rules are listed in `docs/legacy-import.md`.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::phone::normalize_e164;
use super::status::{
    AppointmentStatus, BatchItemStatus, BatchStatus, BookingStatus, CallStatus, EmailStatus,
    RunStatus, ScheduledItemStatus,
};

/// Why an old row was not imported. `code()` is stable: it is the key of the report's
/// `skip_reasons` and is documented in `docs/legacy-import.md`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The row's clinic does not exist in the old database (or could not be resolved).
    DanglingClinic,
    /// A required reference points at a row that does not exist (or was itself skipped).
    Dangling(&'static str),
    /// A column V2 requires is empty in the old row.
    MissingRequired(&'static str),
    /// A phone number that cannot be normalised where no other contact remains.
    BadPhone,
    /// A status value that no rule translates.
    UnknownStatus,
    /// A second per-case `patients` row of one case (the case keeps the first one's snapshot).
    DuplicateCasePatient,
    /// Two appointments of one room overlap (V2's exclusion constraint).
    OverlappingAppointment,
    /// Another V2 uniqueness rule (the constraint's name).
    Duplicate(String),
    /// A V2 CHECK constraint (its name).
    CheckFailed(String),
    /// A reference V2 enforces with a foreign key (the constraint's name).
    DanglingReference(String),
    /// Any other row-level refusal of the database (its SQLSTATE).
    Rejected(String),
}

impl Skip {
    pub fn code(&self) -> String {
        match self {
            Skip::DanglingClinic => "dangling_clinic".into(),
            Skip::Dangling(col) => format!("dangling:{col}"),
            Skip::MissingRequired(col) => format!("missing_required:{col}"),
            Skip::BadPhone => "bad_phone".into(),
            Skip::UnknownStatus => "unknown_status".into(),
            Skip::DuplicateCasePatient => "duplicate_case_patient".into(),
            Skip::OverlappingAppointment => "overlapping_appointment".into(),
            Skip::Duplicate(c) => format!("duplicate:{c}"),
            Skip::CheckFailed(c) => format!("check_failed:{c}"),
            Skip::DanglingReference(c) => format!("dangling_reference:{c}"),
            Skip::Rejected(s) => format!("rejected:{s}"),
        }
    }

    /// The skip for a row the database refused: SQLSTATE class 23 (integrity) and 22 (data).
    /// `None` for anything else (a fatal error, not a row's fault).
    pub fn from_db_error(
        sqlstate: &str,
        constraint: Option<&str>,
        column: Option<&str>,
    ) -> Option<Skip> {
        let named = |c: Option<&str>| c.unwrap_or("unknown").to_string();
        match sqlstate {
            "23P01" => Some(Skip::OverlappingAppointment),
            "23505" => Some(Skip::Duplicate(named(constraint))),
            "23514" => Some(Skip::CheckFailed(named(constraint))),
            "23503" => Some(Skip::DanglingReference(named(constraint))),
            "23502" => Some(Skip::MissingRequired(leak_column(column))),
            s if s.starts_with("22") || s.starts_with("23") => Some(Skip::Rejected(s.into())),
            _ => None,
        }
    }
}

/// NOT NULL violations name a column of our own fixed tables: the set is small and known, so
/// it is matched to a static name (anything else reads `unknown`).
fn leak_column(column: Option<&str>) -> &'static str {
    const KNOWN: &[&str] = &[
        "clinic_id",
        "case_id",
        "client_id",
        "name",
        "email",
        "display_name",
        "time_range",
        "date",
        "vapi_call_id",
        "assistant_id",
        "recipient_email",
        "medication_name",
        "title",
        "team_id",
        "channel_id",
        "workspace_id",
        "task_id",
        "completion_date",
        "batch_id",
        "type",
        "action",
        "pims_type",
        "entity_type",
        "entity_id",
        "external_id",
        "session_type",
        "action_type",
        "resource_type",
        "status",
        "template_name",
        "case_type",
        "start_time",
        "end_time",
        "credentials_encrypted",
        "slug",
        "clerk_user_id",
        "user_id",
    ];
    column
        .and_then(|c| KNOWN.iter().find(|k| **k == c).copied())
        .unwrap_or("unknown")
}

/// An id for a V2 row that has no old id of its own (a row split off an old one, or built from
/// several): the same inputs always give the same id, so a second run finds the row again.
/// A version-8 UUID over SHA-256 of the kind and the parts.
pub fn derived_id(kind: &str, parts: &[&str]) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"odis-legacy-import\0");
    h.update(kind.as_bytes());
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// The prefix of a placeholder `users.clerk_user_id`: a user who has no Clerk account yet. The
/// Clerk webhook claims such a row by e-mail when the account appears.
pub const CLERK_PLACEHOLDER_PREFIX: &str = "pending:";

/// The old user's Clerk id, or the placeholder for a user not yet in Clerk.
pub fn clerk_user_id(old: Option<&str>, old_user_id: Uuid) -> String {
    match old.map(str::trim) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("{CLERK_PLACEHOLDER_PREFIX}legacy:{old_user_id}"),
    }
}

/// `scheduled_discharge_calls.status` / `inbound_vapi_calls.status` → V2 `CallStatus`. The old
/// system wrote `in_progress` and `completed` where V2 says `in-progress` and `ended`.
pub fn call_status(old: &str) -> Option<CallStatus> {
    match old.trim().to_ascii_lowercase().as_str() {
        "in_progress" | "forwarding" => Some(CallStatus::InProgress),
        "completed" => Some(CallStatus::Ended),
        "canceled" => Some(CallStatus::Cancelled),
        s => CallStatus::parse(s),
    }
}

/// `scheduled_discharge_emails.status` → V2 `EmailStatus` (`canceled` spelled either way).
pub fn email_status(old: &str) -> Option<EmailStatus> {
    match old.trim().to_ascii_lowercase().as_str() {
        "canceled" => Some(EmailStatus::Cancelled),
        "delivered" => Some(EmailStatus::Sent),
        s => EmailStatus::parse(s),
    }
}

/// Which status column, for the tables whose vocabulary V2 keeps as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vocabulary {
    Batch,
    BatchItem,
    ScheduledItem,
    Run,
    Booking,
    Appointment,
}

/// A status of a table whose old vocabulary is V2's: the value if V2 knows it (`canceled` read
/// as `cancelled`), else `None` (the row is skipped as `unknown_status`).
pub fn kept_status(vocabulary: Vocabulary, old: &str) -> Option<&'static str> {
    let s = old.trim().to_ascii_lowercase();
    let s = if s == "canceled" {
        "cancelled".into()
    } else {
        s
    };
    match vocabulary {
        Vocabulary::Batch => BatchStatus::parse(&s).map(BatchStatus::as_str),
        Vocabulary::BatchItem => BatchItemStatus::parse(&s).map(BatchItemStatus::as_str),
        Vocabulary::ScheduledItem => {
            ScheduledItemStatus::parse(&s).map(ScheduledItemStatus::as_str)
        }
        Vocabulary::Run => RunStatus::parse(&s).map(RunStatus::as_str),
        Vocabulary::Booking => BookingStatus::parse(&s).map(BookingStatus::as_str),
        Vocabulary::Appointment => match s.as_str() {
            "no-show" | "noshow" => Some(AppointmentStatus::NoShow.as_str()),
            "confirmed" | "booked" | "checked_in" | "completed" => {
                Some(AppointmentStatus::Scheduled.as_str())
            }
            _ => AppointmentStatus::parse(&s).map(AppointmentStatus::as_str),
        },
    }
}

/// `clinic_invitations.status` (pending, accepted, expired): the old `revoked` ends an invitation
/// like expiry does.
pub fn invitation_status(old: Option<&str>) -> Option<&'static str> {
    match old.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None => None,
        Some("revoked") | Some("expired") => Some("expired"),
        Some("accepted") => Some("accepted"),
        Some(_) => Some("pending"),
    }
}

/// `user_clinic_access.role` (owner, admin, member, viewer) from an old membership role, or from
/// the old `users.role` when the membership comes from the user's clinic fields. Unknown → member.
pub fn access_role(old: Option<&str>) -> &'static str {
    match old.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("owner") | Some("practice_owner") => "owner",
        Some("admin") => "admin",
        Some("viewer") => "viewer",
        _ => "member",
    }
}

/// `clinics.pims_type`: the old `idexx` is V2's `idexx_neo`; empty is `none`; others as written.
pub fn pims_type(old: Option<&str>) -> String {
    match old.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => "none".into(),
        Some("idexx") => PIMS_IDEXX.into(),
        Some(s) => s.to_string(),
    }
}

/// How owners are deduplicated within a clinic: by the normalised (E.164) phone when it parses,
/// else by the trimmed, lower-cased e-mail. Two owners with the same key are one client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OwnerKey {
    Phone(String),
    Email(String),
}

pub fn owner_key(phone: Option<&str>, email: Option<&str>) -> Option<OwnerKey> {
    if let Some(p) = phone.and_then(|p| normalize_e164(p).ok()) {
        return Some(OwnerKey::Phone(p));
    }
    normalized_email(email).map(OwnerKey::Email)
}

/// An e-mail as compared: trimmed, lower case, and containing `@` (else no e-mail).
pub fn normalized_email(email: Option<&str>) -> Option<String> {
    let e = email?.trim().to_lowercase();
    e.contains('@').then_some(e)
}

/// A phone as V2 stores it: E.164 when it parses; `Err(raw)` when it does not.
pub fn phone(raw: Option<&str>) -> Option<Result<String, String>> {
    let raw = raw?.trim();
    if raw.is_empty() {
        return None;
    }
    Some(normalize_e164(raw).map_err(|_| raw.to_string()))
}

/// The normalised `call_analysis` row of an old call, from its analysis blobs and columns, or
/// `None` when the call has no analysis at all. The keys are V2's column names (no ids).
pub fn call_analysis(old: &Map<String, Value>) -> Option<Map<String, Value>> {
    let blob = |k: &str| old.get(k).filter(|v| v.is_object()).cloned();
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.is_empty() => Some(Value::String(s.clone())),
        Some(Value::Number(n)) => Some(Value::String(n.to_string())),
        Some(Value::Bool(b)) => Some(Value::String(b.to_string())),
        _ => None,
    };
    let field = |b: &Option<Value>, k: &str| b.as_ref().and_then(|b| b.get(k).cloned());
    let flag = |v: Option<Value>| match v {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes"),
        _ => false,
    };
    let outcome = blob("call_outcome_data");
    let health = blob("pet_health_data");
    let meds = blob("medication_compliance_data");
    let sentiment = blob("owner_sentiment_data");
    let escalation = blob("escalation_data");
    let follow_up = blob("follow_up_data");
    let has_any = [
        &outcome,
        &health,
        &meds,
        &sentiment,
        &escalation,
        &follow_up,
    ]
    .iter()
    .any(|b| b.is_some())
        || [
            "call_analysis",
            "summary",
            "success_evaluation",
            "structured_data",
            "attention_severity",
            "attention_summary",
        ]
        .iter()
        .any(|k| old.get(*k).is_some_and(|v| !v.is_null()));
    if !has_any {
        return None;
    }
    let raw = old.get("call_analysis").filter(|v| v.is_object());
    let summary = text(old.get("summary")).or_else(|| text(raw.and_then(|r| r.get("summary"))));
    let success = text(old.get("success_evaluation"))
        .or_else(|| text(raw.and_then(|r| r.get("successEvaluation"))));
    let structured = old
        .get("structured_data")
        .filter(|v| !v.is_null())
        .or_else(|| raw.and_then(|r| r.get("structuredData")))
        .cloned();
    let attention_types = match old.get("attention_types") {
        Some(Value::Array(a)) => Value::Array(a.clone()),
        _ => Value::Array(Vec::new()),
    };
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        m.insert(k.to_string(), v.unwrap_or(Value::Null));
    };
    put(
        "call_outcome",
        text(field(&outcome, "call_outcome").as_ref()),
    );
    put("call_outcome_details", outcome.clone());
    put(
        "pet_recovery_status",
        text(field(&health, "pet_recovery_status").as_ref()),
    );
    put("pet_health_details", health.clone());
    put(
        "medication_compliance",
        text(field(&meds, "medication_compliance").as_ref()),
    );
    put("medication_details", meds.clone());
    put(
        "owner_sentiment",
        text(field(&sentiment, "owner_sentiment").as_ref())
            .or_else(|| text(old.get("user_sentiment"))),
    );
    put("owner_sentiment_details", sentiment.clone());
    put(
        "escalation_triggered",
        Some(Value::Bool(flag(field(
            &escalation,
            "escalation_triggered",
        )))),
    );
    put("escalation_details", escalation.clone());
    put(
        "follow_up_needed",
        Some(Value::Bool(flag(field(
            &follow_up,
            "follow_up_call_needed",
        )))),
    );
    put("follow_up_details", follow_up.clone());
    put("attention_types", Some(attention_types));
    put("attention_severity", text(old.get("attention_severity")));
    put("attention_summary", text(old.get("attention_summary")));
    put(
        "attention_flagged_at",
        old.get("attention_flagged_at").cloned(),
    );
    put("summary", summary);
    put("success_evaluation", success);
    put("structured_data", structured);
    Some(m)
}

/// `vapi_assistant_mappings.assistant_type` / `environment` of a mapping made from the old
/// `clinic_assistants` list (which held the clinics' inbound assistants in production).
pub const ASSISTANT_INBOUND: &str = "inbound";
pub const ASSISTANT_ENVIRONMENT: &str = "production";

/// `pims_credentials.pims_type` / `pims_sync_sessions.pims_type` of the old vendor tables.
pub const PIMS_IDEXX: &str = "idexx_neo";
pub const PIMS_WEAVE: &str = "weave";
/// `pims_sync_audit_log.action_type` / `resource_type` of rows from the two old sync tables
/// that had none (`case_sync_audits` without a `sync_type`, `consultation_sync_status`).
pub const SYNC_ACTION_CASES: &str = "case_sync";
pub const SYNC_RESOURCE_CASES: &str = "cases";
pub const SYNC_ACTION_CONSULTATION: &str = "consultation_sync";
pub const SYNC_RESOURCE_CASE: &str = "case";

/// `clinic_schedule_config.daily_hours` (`{mon: {open, close}, …}`, times `HH:MM`) from the old
/// single opening time, closing time and open weekdays (0 or 7 = Sunday … 6 = Saturday).
pub fn daily_hours(open: Option<&str>, close: Option<&str>, days: Option<&Value>) -> Option<Value> {
    const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let hm = |t: &str| t.get(..5).unwrap_or(t).to_string();
    let (open, close) = (hm(open?), hm(close?));
    let mut m = Map::new();
    for d in days?.as_array()? {
        if let Some(i) = d.as_u64().filter(|i| *i <= 7) {
            let day = NAMES[(i % 7) as usize];
            m.insert(
                day.into(),
                serde_json::json!({ "open": open, "close": close }),
            );
        }
    }
    Some(Value::Object(m))
}

/// The V2 defaults of `clinic_settings` (the spec's DDL), for settings the old user left empty.
pub fn settings_defaults() -> Map<String, Value> {
    let mut m = Map::new();
    let pairs: [(&str, Value); 12] = [
        ("voicemail_detection_enabled", Value::Bool(false)),
        ("voicemail_hangup_on_detection", Value::Bool(false)),
        ("max_call_retries", Value::from(3)),
        ("preferred_email_start_time", Value::from("10:00:00")),
        ("preferred_email_end_time", Value::from("12:00:00")),
        ("preferred_call_start_time", Value::from("16:00:00")),
        ("preferred_call_end_time", Value::from("19:00:00")),
        ("email_delay_days", Value::from(1)),
        ("call_delay_days", Value::from(2)),
        ("batch_include_pims_notes", Value::Bool(true)),
        ("batch_include_manual_transcriptions", Value::Bool(true)),
        ("test_mode_enabled", Value::Bool(false)),
    ];
    for (k, v) in pairs {
        m.insert(k.into(), v);
    }
    m
}

/// `clinics.timezone` when the old clinic has none: the column's default.
pub fn default_timezone() -> &'static str {
    super::clinic_policy::DEFAULT_TZ.name()
}

/// A timestamp the old schema kept as text (`~` columns): RFC 3339, or a date / date-time
/// without zone read as UTC. Unparseable → `None` (the V2 column is left empty).
pub fn timestamp_text(raw: Option<&Value>) -> Option<String> {
    let s = raw?.as_str()?.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc).to_rfc3339());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&chrono::Utc).to_rfc3339());
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().to_rfc3339());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().to_rfc3339())
}

/// A date the old schema kept as text (`patients.date_of_birth`): `YYYY-MM-DD` or the date of
/// a timestamp; anything else → `None`.
pub fn date_text(raw: Option<&Value>) -> Option<String> {
    let s = raw?.as_str()?.trim();
    let head = s.get(..10).unwrap_or(s);
    chrono::NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .ok()
        .map(|d| d.to_string())
}

/// A whole number of seconds from an old `numeric` column (rounded).
pub fn whole_number(raw: Option<&Value>) -> Option<i64> {
    match raw? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f.round() as i64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn call_statuses() {
        let table = [
            ("queued", Some(CallStatus::Queued)),
            ("ringing", Some(CallStatus::Ringing)),
            ("in_progress", Some(CallStatus::InProgress)),
            ("in-progress", Some(CallStatus::InProgress)),
            ("forwarding", Some(CallStatus::InProgress)),
            ("completed", Some(CallStatus::Ended)),
            ("ended", Some(CallStatus::Ended)),
            ("failed", Some(CallStatus::Failed)),
            ("cancelled", Some(CallStatus::Cancelled)),
            ("canceled", Some(CallStatus::Cancelled)),
            (" Completed ", Some(CallStatus::Ended)),
            ("exploded", None),
            ("", None),
        ];
        for (old, want) in table {
            assert_eq!(call_status(old), want, "{old:?}");
        }
    }

    #[test]
    fn email_statuses() {
        let table = [
            ("queued", Some(EmailStatus::Queued)),
            ("sent", Some(EmailStatus::Sent)),
            ("delivered", Some(EmailStatus::Sent)),
            ("failed", Some(EmailStatus::Failed)),
            ("canceled", Some(EmailStatus::Cancelled)),
            ("bounced", None),
        ];
        for (old, want) in table {
            assert_eq!(email_status(old), want, "{old:?}");
        }
    }

    #[test]
    fn kept_statuses() {
        let table = [
            (
                Vocabulary::Batch,
                "partial_success",
                Some("partial_success"),
            ),
            (Vocabulary::Batch, "canceled", Some("cancelled")),
            (Vocabulary::BatchItem, "success", Some("success")),
            (Vocabulary::ScheduledItem, "scheduled", Some("scheduled")),
            (Vocabulary::Run, "partial", Some("partial")),
            (Vocabulary::Booking, "confirmed", Some("confirmed")),
            (Vocabulary::Booking, "rescheduled", None),
            (Vocabulary::Appointment, "no-show", Some("no_show")),
            (Vocabulary::Appointment, "confirmed", Some("scheduled")),
            (Vocabulary::Appointment, "cancelled", Some("cancelled")),
            (Vocabulary::Appointment, "weird", None),
        ];
        for (v, old, want) in table {
            assert_eq!(kept_status(v, old), want, "{v:?} {old:?}");
        }
    }

    #[test]
    fn invitation_statuses() {
        for (old, want) in [
            (Some("revoked"), Some("expired")),
            (Some("expired"), Some("expired")),
            (Some("accepted"), Some("accepted")),
            (Some("pending"), Some("pending")),
            (None, None),
        ] {
            assert_eq!(invitation_status(old), want, "{old:?}");
        }
    }

    #[test]
    fn access_roles() {
        let table = [
            (Some("practice_owner"), "owner"),
            (Some("owner"), "owner"),
            (Some("admin"), "admin"),
            (Some("viewer"), "viewer"),
            (Some("veterinarian"), "member"),
            (Some("vet_tech"), "member"),
            (None, "member"),
        ];
        for (old, want) in table {
            assert_eq!(access_role(old), want, "{old:?}");
        }
    }

    #[test]
    fn pims_types() {
        for (old, want) in [
            (None, "none"),
            (Some(""), "none"),
            (Some("IDEXX"), "idexx_neo"),
            (Some("idexx_ezyvet"), "idexx_ezyvet"),
        ] {
            assert_eq!(pims_type(old), want, "{old:?}");
        }
    }

    #[test]
    fn owner_keys() {
        let table = [
            (
                Some("(408) 555-0123"),
                None,
                Some(OwnerKey::Phone("+14085550123".into())),
            ),
            (
                Some("+1 408 555 0123"),
                Some("x@y.z"),
                Some(OwnerKey::Phone("+14085550123".into())),
            ),
            (
                Some("call me"),
                Some(" Ann@Example.COM "),
                Some(OwnerKey::Email("ann@example.com".into())),
            ),
            (None, Some("not-an-email"), None),
            (Some(""), None, None),
        ];
        for (p, e, want) in table {
            assert_eq!(owner_key(p, e), want, "{p:?} {e:?}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(phone(None), None);
        assert_eq!(phone(Some("  ")), None);
        assert_eq!(phone(Some("408-555-0123")), Some(Ok("+14085550123".into())));
        assert_eq!(phone(Some("12")), Some(Err("12".into())));
    }

    #[test]
    fn clerk_ids() {
        let id = Uuid::nil();
        assert_eq!(clerk_user_id(Some("user_1"), id), "user_1");
        assert_eq!(clerk_user_id(None, id), format!("pending:legacy:{id}"));
        assert_eq!(clerk_user_id(Some(" "), id), format!("pending:legacy:{id}"));
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derived_id("clients", &["c1", "+14085550123"]);
        assert_eq!(a, derived_id("clients", &["c1", "+14085550123"]));
        assert_ne!(a, derived_id("clients", &["c1+", "14085550123"]));
        assert_ne!(a, derived_id("patients", &["c1", "+14085550123"]));
        assert_eq!(a.get_version_num(), 8);
    }

    #[test]
    fn skip_codes() {
        let table = [
            (Skip::DanglingClinic, "dangling_clinic"),
            (Skip::Dangling("case_id"), "dangling:case_id"),
            (Skip::MissingRequired("email"), "missing_required:email"),
            (Skip::BadPhone, "bad_phone"),
            (Skip::OverlappingAppointment, "overlapping_appointment"),
        ];
        for (s, want) in table {
            assert_eq!(s.code(), want);
        }
        let db = [
            ("23P01", None, None, "overlapping_appointment"),
            ("23505", Some("x_key"), None, "duplicate:x_key"),
            ("23514", Some("c"), None, "check_failed:c"),
            ("23503", Some("fk"), None, "dangling_reference:fk"),
            ("23502", None, Some("email"), "missing_required:email"),
            ("23502", None, Some("zzz"), "missing_required:unknown"),
            ("22007", None, None, "rejected:22007"),
        ];
        for (state, c, col, want) in db {
            assert_eq!(
                Skip::from_db_error(state, c, col)
                    .map(|s| s.code())
                    .as_deref(),
                Some(want)
            );
        }
        assert_eq!(Skip::from_db_error("08006", None, None), None);
    }

    #[test]
    fn analysis_blobs_become_columns() {
        let old = json!({
            "call_outcome_data": {"call_outcome": "reached_owner", "x": 1},
            "pet_health_data": {"pet_recovery_status": "improving"},
            "medication_compliance_data": {"medication_compliance": "full"},
            "owner_sentiment_data": {"owner_sentiment": "positive"},
            "escalation_data": {"escalation_triggered": true},
            "follow_up_data": {"follow_up_call_needed": "yes"},
            "attention_types": ["pain"],
            "attention_severity": "high",
            "call_analysis": {"summary": "from blob", "successEvaluation": "true",
                              "structuredData": {"a": 1}},
        });
        let m = call_analysis(old.as_object().unwrap()).unwrap();
        assert_eq!(m["call_outcome"], json!("reached_owner"));
        assert_eq!(m["call_outcome_details"]["x"], json!(1));
        assert_eq!(m["pet_recovery_status"], json!("improving"));
        assert_eq!(m["medication_compliance"], json!("full"));
        assert_eq!(m["owner_sentiment"], json!("positive"));
        assert_eq!(m["escalation_triggered"], json!(true));
        assert_eq!(m["follow_up_needed"], json!(true));
        assert_eq!(m["attention_types"], json!(["pain"]));
        assert_eq!(m["attention_severity"], json!("high"));
        assert_eq!(m["summary"], json!("from blob"));
        assert_eq!(m["success_evaluation"], json!("true"));
        assert_eq!(m["structured_data"], json!({"a": 1}));

        let none = json!({"summary": null, "call_outcome_data": null});
        assert!(call_analysis(none.as_object().unwrap()).is_none());
        let only_sentiment = json!({"summary": "s", "user_sentiment": "negative"});
        let m = call_analysis(only_sentiment.as_object().unwrap()).unwrap();
        assert_eq!(m["owner_sentiment"], json!("negative"));
        assert_eq!(m["escalation_triggered"], json!(false));
        assert_eq!(m["attention_types"], json!([]));
    }
    #[test]
    fn text_timestamps_and_dates() {
        let table = [
            (
                json!("2026-01-02T03:04:05Z"),
                Some("2026-01-02T03:04:05+00:00"),
            ),
            (
                json!("2026-01-02 03:04:05+02"),
                Some("2026-01-02T01:04:05+00:00"),
            ),
            (
                json!("2026-01-02 03:04:05"),
                Some("2026-01-02T03:04:05+00:00"),
            ),
            (json!("2026-01-02"), Some("2026-01-02T00:00:00+00:00")),
            (json!("tomorrow"), None),
            (json!(5), None),
        ];
        for (raw, want) in table {
            assert_eq!(timestamp_text(Some(&raw)).as_deref(), want, "{raw}");
        }
        assert_eq!(
            date_text(Some(&json!("2020-05-06"))).as_deref(),
            Some("2020-05-06")
        );
        assert_eq!(
            date_text(Some(&json!("2020-05-06T10:00:00Z"))).as_deref(),
            Some("2020-05-06")
        );
        assert_eq!(date_text(Some(&json!("05/06/2020"))), None);
        assert_eq!(whole_number(Some(&json!(12.6))), Some(13));
        assert_eq!(whole_number(Some(&json!("7"))), Some(7));
        assert_eq!(whole_number(Some(&json!(null))), None);
        assert_eq!(settings_defaults()["max_call_retries"], json!(3));
        assert!(!default_timezone().is_empty());
    }

    #[test]
    fn daily_hours_from_open_close_and_days() {
        let h = daily_hours(Some("08:00:00"), Some("18:30:00"), Some(&json!([1, 2, 7]))).unwrap();
        assert_eq!(
            h,
            json!({"mon": {"open": "08:00", "close": "18:30"},
                   "tue": {"open": "08:00", "close": "18:30"},
                   "sun": {"open": "08:00", "close": "18:30"}})
        );
        assert_eq!(daily_hours(None, Some("18:00"), Some(&json!([1]))), None);
        assert_eq!(daily_hours(Some("08:00"), Some("18:00"), None), None);
    }
}
