//! Reading the OLD database (the 63-table schema, `docs/spec/legacy-schema.md`) for the legacy
//! importer: one connection in one `REPEATABLE READ READ ONLY` transaction (a consistent
//! snapshot that cannot write), tables streamed through server-side cursors in id order, each
//! row as JSON with the clinic it belongs to resolved (`_clinic_id`, NULL when its clinic does
//! not exist) plus whatever related old rows its mapping needs (`_`-prefixed keys).
//!
//! The old schema has no indexes we can count on (`legacy-tables.sql` has no constraints), so
//! related rows are joined (hash joins), never looked up per row.

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// How one old table is read: its joins, the expression of its clinic, and extra JSON.
#[derive(Clone, Copy, Debug)]
pub struct OldRead {
    pub table: &'static str,
    /// Extra `LEFT JOIN …` clauses (the table's alias is `t`).
    pub joins: &'static str,
    /// The row's old clinic id (before the existence check), or `None` for a table that
    /// belongs to no clinic.
    pub clinic: Option<&'static str>,
    /// For a table without a clinic: the rows a `--clinic` run needs (`{clinics}` = the array
    /// of the chosen old clinic ids). `None` = every row.
    pub scope: Option<&'static str>,
    /// A `jsonb` expression merged into the row (related rows the mapping needs).
    pub extra: &'static str,
}

/// The user's primary old clinic (first by `is_primary`, then oldest membership).
const USER_CLINIC: &str = "LEFT JOIN (SELECT DISTINCT ON (user_id) user_id, clinic_id \
     FROM user_clinic_access ORDER BY user_id, is_primary DESC, created_at, id) pu \
     ON pu.user_id = t.user_id";
/// The clinic a row's case belongs to (else the primary clinic of the case's author).
const CASE_CLINIC: &str = "LEFT JOIN cases k ON k.id = t.case_id \
     LEFT JOIN (SELECT DISTINCT ON (user_id) user_id, clinic_id \
     FROM user_clinic_access ORDER BY user_id, is_primary DESC, created_at, id) pu \
     ON pu.user_id = k.user_id";
/// Same, falling back to the row's own user (tables with a `user_id`: calls, e-mails).
const CASE_OR_USER_CLINIC: &str = "LEFT JOIN cases k ON k.id = t.case_id \
     LEFT JOIN (SELECT DISTINCT ON (user_id) user_id, clinic_id \
     FROM user_clinic_access ORDER BY user_id, is_primary DESC, created_at, id) pu \
     ON pu.user_id = coalesce(k.user_id, t.user_id)";
const NO_EXTRA: &str = "'{}'::jsonb";

/// Every old table the importer reads, by name.
pub const READS: &[OldRead] = &[
    OldRead {
        table: "clinics",
        joins: "LEFT JOIN LATERAL (SELECT to_jsonb(u) AS s FROM users u \
            WHERE u.clinic_name = t.name OR u.id IN \
              (SELECT a.user_id FROM user_clinic_access a WHERE a.clinic_id = t.id) \
            ORDER BY (u.clinic_name = t.name OR u.id IN (SELECT a.user_id FROM user_clinic_access a \
              WHERE a.clinic_id = t.id AND a.is_primary)) IS TRUE DESC, u.created_at, u.id \
            LIMIT 1) su ON true",
        clinic: Some("t.id"),
        scope: None,
        extra: "jsonb_build_object('_settings', su.s)",
    },
    OldRead {
        table: "users",
        joins: "LEFT JOIN (SELECT user_id, jsonb_agg(clinic_id) AS clinics \
              FROM user_clinic_access GROUP BY user_id) ua ON ua.user_id = t.id \
            LEFT JOIN (SELECT DISTINCT ON (name) name, id FROM clinics \
              ORDER BY name, created_at, id) cn ON cn.name = t.clinic_name",
        clinic: None,
        scope: Some(
            "(t.id IN (SELECT a.user_id FROM user_clinic_access a WHERE a.clinic_id = ANY({clinics})) \
             OR cn.id = ANY({clinics}) \
             OR t.id IN (SELECT k.user_id FROM cases k WHERE k.clinic_id = ANY({clinics})))",
        ),
        extra: "jsonb_build_object('_uca_clinics', coalesce(ua.clinics, '[]'::jsonb), \
            '_name_clinic', cn.id)",
    },
    OldRead {
        table: "user_clinic_access",
        joins: "",
        clinic: Some("t.clinic_id"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "clients",
        joins: "",
        clinic: Some("t.clinic_id"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "canonical_patients",
        joins: "",
        clinic: Some("t.clinic_id"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "cases",
        joins: "LEFT JOIN (SELECT DISTINCT ON (user_id) user_id, clinic_id \
              FROM user_clinic_access ORDER BY user_id, is_primary DESC, created_at, id) pu \
              ON pu.user_id = t.user_id \
            LEFT JOIN (SELECT DISTINCT ON (case_id) * FROM patients WHERE case_id IS NOT NULL \
              ORDER BY case_id, created_at, id) p ON p.case_id = t.id \
            LEFT JOIN canonical_patients cp ON cp.id = coalesce(t.canonical_patient_id, p.canonical_patient_id)",
        clinic: Some("coalesce(t.clinic_id, pu.clinic_id)"),
        scope: None,
        extra: "jsonb_build_object('_patient', to_jsonb(p), '_canonical_client', cp.client_id, \
            '_canonical_id', cp.id)",
    },
    OldRead {
        table: "patients",
        joins: "LEFT JOIN cases k ON k.id = t.case_id \
            LEFT JOIN (SELECT DISTINCT ON (case_id) case_id, id FROM patients \
              WHERE case_id IS NOT NULL ORDER BY case_id, created_at, id) p0 ON p0.case_id = t.case_id",
        clinic: Some("coalesce(k.clinic_id, t.clinic_id)"),
        scope: None,
        extra: "jsonb_build_object('_case_exists', k.id IS NOT NULL, '_first_of_case', p0.id = t.id)",
    },
    OldRead {
        table: "scheduled_discharge_calls",
        joins: CASE_OR_USER_CLINIC,
        clinic: Some("coalesce(k.clinic_id, pu.clinic_id)"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "inbound_vapi_calls",
        joins: "LEFT JOIN (SELECT DISTINCT ON (assistant_id) assistant_id, clinic_id \
              FROM vapi_assistant_mappings ORDER BY assistant_id, is_active DESC, created_at, id) vm \
              ON vm.assistant_id = t.assistant_id \
            LEFT JOIN (SELECT DISTINCT ON (name) name, id FROM clinics \
              ORDER BY name, created_at, id) cn ON cn.name = t.clinic_name \
            LEFT JOIN (SELECT DISTINCT ON (user_id) user_id, clinic_id \
              FROM user_clinic_access ORDER BY user_id, is_primary DESC, created_at, id) pu \
              ON pu.user_id = t.user_id",
        clinic: Some("coalesce(vm.clinic_id, cn.id, pu.clinic_id)"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "scheduled_discharge_emails",
        joins: CASE_OR_USER_CLINIC,
        clinic: Some("coalesce(k.clinic_id, pu.clinic_id)"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "vapi_assistant_mappings",
        joins: "",
        clinic: Some("t.clinic_id"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "clinic_assistants",
        joins: "LEFT JOIN (SELECT DISTINCT ON (name) name, id FROM clinics \
              ORDER BY name, created_at, id) cn ON cn.name = t.clinic_name",
        clinic: Some("cn.id"),
        scope: None,
        extra: NO_EXTRA,
    },
];

/// A one-to-one table with its own `clinic_id`.
const fn direct(table: &'static str) -> OldRead {
    OldRead {
        table,
        joins: "",
        clinic: Some("t.clinic_id"),
        scope: None,
        extra: NO_EXTRA,
    }
}

/// A table whose clinic is its case's.
const fn via_case(table: &'static str) -> OldRead {
    OldRead {
        table,
        joins: CASE_CLINIC,
        clinic: Some("coalesce(k.clinic_id, pu.clinic_id)"),
        scope: None,
        extra: NO_EXTRA,
    }
}

/// A table whose clinic is its user's primary clinic.
const fn via_user(table: &'static str) -> OldRead {
    OldRead {
        table,
        joins: USER_CLINIC,
        clinic: Some("pu.clinic_id"),
        scope: None,
        extra: NO_EXTRA,
    }
}

/// A table of no clinic: every row, or (`only_all`) none in a `--clinic` run.
const fn global(table: &'static str, only_all: bool) -> OldRead {
    OldRead {
        table,
        joins: "",
        clinic: None,
        scope: if only_all { Some("false") } else { None },
        extra: NO_EXTRA,
    }
}

/// The old inbound call (same id in V2) of a row's `vapi_call_id`.
const INBOUND_BY_VAPI_ID: &str = "LEFT JOIN (SELECT DISTINCT ON (vapi_call_id) vapi_call_id, id \
     FROM inbound_vapi_calls ORDER BY vapi_call_id, created_at, id) ic ON ic.vapi_call_id = t.vapi_call_id";

/// The clinic a Slack workspace was installed for: the old rows name it only by `team_name`.
const CLINIC_BY_TEAM: &str = "LEFT JOIN (SELECT DISTINCT ON (name) name, id FROM clinics \
     ORDER BY name, created_at, id) cn ON cn.name = t.team_name";

/// The one-to-one tables (`import::simple`).
pub const SIMPLE_READS: &[OldRead] = &[
    direct("clinic_invitations"),
    direct("providers"),
    via_case("soap_notes"),
    via_case("vital_signs"),
    via_user("temp_discharge_summary_templates"),
    via_user("temp_soap_templates"),
    global("templates", false),
    via_case("discharge_summaries"),
    OldRead {
        joins: INBOUND_BY_VAPI_ID,
        extra: "jsonb_build_object('_inbound_call_id', ic.id)",
        ..direct("clinic_messages")
    },
    OldRead {
        joins: INBOUND_BY_VAPI_ID,
        extra: "jsonb_build_object('_inbound_call_id', ic.id)",
        ..direct("refill_requests")
    },
    direct("pims_appointments"),
    OldRead {
        joins: INBOUND_BY_VAPI_ID,
        extra: "jsonb_build_object('_inbound_call_id', ic.id)",
        ..direct("appointment_bookings")
    },
    direct("clinic_schedule_config"),
    direct("clinic_blocked_periods"),
    direct("schedule_syncs"),
    direct("appointment_audit_log"),
    direct("auto_scheduling_config"),
    direct("clinic_case_type_cadence"),
    global("auto_scheduling_runs", false),
    direct("auto_scheduled_items"),
    via_user("discharge_batches"),
    OldRead {
        table: "discharge_batch_items",
        joins: "LEFT JOIN discharge_batches b ON b.id = t.batch_id \
            LEFT JOIN (SELECT DISTINCT ON (user_id) user_id, clinic_id \
              FROM user_clinic_access ORDER BY user_id, is_primary DESC, created_at, id) pu \
              ON pu.user_id = b.user_id",
        clinic: Some("pu.clinic_id"),
        scope: None,
        extra: NO_EXTRA,
    },
    direct("idexx_credentials"),
    direct("weave_credentials"),
    direct("idexx_sync_sessions"),
    direct("idexx_sync_audit_log"),
    direct("case_sync_audits"),
    via_case("consultation_sync_status"),
    OldRead {
        table: "pims_mappings",
        joins: "LEFT JOIN clients cl ON cl.id = t.entity_id \
            LEFT JOIN canonical_patients cpa ON cpa.id = t.entity_id \
            LEFT JOIN providers pr ON pr.id = t.entity_id",
        clinic: Some("coalesce(cl.clinic_id, cpa.clinic_id, pr.clinic_id)"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "slack_workspaces",
        joins: CLINIC_BY_TEAM,
        clinic: Some("cn.id"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "slack_reminder_channels",
        joins: "LEFT JOIN slack_workspaces w ON w.id = t.workspace_id \
            LEFT JOIN (SELECT DISTINCT ON (name) name, id FROM clinics \
              ORDER BY name, created_at, id) cn ON cn.name = w.team_name",
        clinic: Some("cn.id"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "slack_tasks",
        joins: "LEFT JOIN slack_reminder_channels ch ON ch.id = t.channel_id \
            LEFT JOIN slack_workspaces w ON w.id = ch.workspace_id \
            LEFT JOIN (SELECT DISTINCT ON (name) name, id FROM clinics \
              ORDER BY name, created_at, id) cn ON cn.name = w.team_name",
        clinic: Some("cn.id"),
        scope: None,
        extra: NO_EXTRA,
    },
    OldRead {
        table: "slack_task_completions",
        joins: "LEFT JOIN slack_tasks tk ON tk.id = t.task_id \
            LEFT JOIN slack_reminder_channels ch ON ch.id = tk.channel_id \
            LEFT JOIN slack_workspaces w ON w.id = ch.workspace_id \
            LEFT JOIN (SELECT DISTINCT ON (name) name, id FROM clinics \
              ORDER BY name, created_at, id) cn ON cn.name = w.team_name",
        clinic: Some("cn.id"),
        scope: None,
        extra: NO_EXTRA,
    },
    global("waitlist_signups", true),
    global("contact_submissions", true),
];

/// The read of `table`, if the importer reads it.
pub fn read_of(table: &str) -> Option<&'static OldRead> {
    READS
        .iter()
        .chain(SIMPLE_READS.iter())
        .find(|r| r.table == table)
}

/// The old database: one connection inside one read-only snapshot.
pub struct OldDb {
    conn: PgConnection,
}

fn clinic_array(clinics: &[Uuid]) -> String {
    let ids: Vec<String> = clinics.iter().map(Uuid::to_string).collect();
    format!("'{{{}}}'::uuid[]", ids.join(","))
}

/// `FROM … WHERE …` of a read, restricted to `clinics` when not empty.
fn from_where(read: &OldRead, clinics: &[Uuid]) -> String {
    let clinic = read.clinic.unwrap_or("NULL::uuid");
    let mut sql = format!(
        "FROM {} t {} LEFT JOIN clinics oc ON oc.id = ({clinic})",
        read.table, read.joins
    );
    if !clinics.is_empty() {
        let arr = clinic_array(clinics);
        match (read.clinic, read.scope) {
            (Some(c), _) => sql.push_str(&format!(" WHERE ({c}) = ANY({arr})")),
            (None, Some(s)) => sql.push_str(&format!(" WHERE {}", s.replace("{clinics}", &arr))),
            (None, None) => {}
        }
    }
    sql
}

fn select_json(read: &OldRead) -> String {
    format!(
        "SELECT (to_jsonb(t) || jsonb_build_object('_clinic_id', oc.id) || {})::text AS j",
        read.extra
    )
}

impl OldDb {
    /// Connects and opens the read-only snapshot every read of this run uses.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let mut conn = PgConnection::connect(url).await?;
        sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut conn)
            .await?;
        Ok(Self { conn })
    }

    /// The base tables of the old database's `public` schema.
    pub async fn tables(&mut self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        .fetch_all(&mut self.conn)
        .await
    }

    /// Rows of a whole table (for the tables V2 does not keep).
    pub async fn count_table(&mut self, table: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM public.\"{table}\""
        )))
        .fetch_one(&mut self.conn)
        .await
    }

    /// The rows `read` will stream for these clinics.
    pub async fn count(&mut self, read: &OldRead, clinics: &[Uuid]) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) {}",
            from_where(read, clinics)
        )))
        .fetch_one(&mut self.conn)
        .await
    }

    /// Opens the cursor over `read` (ordered by id); `fetch` pages through it.
    pub async fn open_cursor(
        &mut self,
        read: &OldRead,
        clinics: &[Uuid],
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "DECLARE legacy_rows NO SCROLL CURSOR FOR {} {} ORDER BY t.id",
            select_json(read),
            from_where(read, clinics)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut self.conn)
            .await
            .map(|_| ())
    }

    /// The next `n` rows of the open cursor (empty at the end).
    pub async fn fetch(&mut self, n: usize) -> Result<Vec<Value>, sqlx::Error> {
        let texts: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("FETCH {n} FROM legacy_rows")))
                .fetch_all(&mut self.conn)
                .await?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| sqlx::Error::Decode(Box::new(e))))
            .collect()
    }

    pub async fn close_cursor(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("CLOSE legacy_rows")
            .execute(&mut self.conn)
            .await
            .map(|_| ())
    }

    /// These rows of `read` again, as `fetch` gives them (for the sample check).
    pub async fn rows_by_id(
        &mut self,
        read: &OldRead,
        ids: &[Uuid],
    ) -> Result<Vec<Value>, sqlx::Error> {
        let sql = format!(
            "{} {} {} t.id = ANY($1) ORDER BY t.id",
            select_json(read),
            from_where(read, &[]),
            "WHERE"
        );
        let texts: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(&mut self.conn)
            .await?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| sqlx::Error::Decode(Box::new(e))))
            .collect()
    }

    /// Ends the snapshot (nothing was written: it is read-only).
    pub async fn close(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("ROLLBACK").execute(&mut self.conn).await?;
        self.conn.close().await
    }
}
