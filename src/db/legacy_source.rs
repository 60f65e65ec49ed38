//! Reading the OLD database (the 63-table schema, `docs/spec/legacy-schema.md`) for the legacy
//! importer: one connection in one `REPEATABLE READ READ ONLY` transaction (a consistent
//! snapshot that cannot write), tables streamed in id order by keyset pages on the base table
//! (`WHERE id > last ORDER BY id LIMIT n`), each row as JSON with the clinic it belongs to
//! resolved (`_clinic_id`, NULL when its clinic does not exist) plus whatever related old rows
//! its mapping needs (`_`-prefixed keys).
//!
//! The joins are done per page: the page's base rows are the CTE `legacy_page`, and a join over
//! a large related table restricts itself to the page's keys (`… IN (SELECT … FROM
//! legacy_page)`). One query over the whole joined table ordered by id made PostgreSQL join,
//! serialise and sort every row before the first one came out (docs/legacy-import.md). With the
//! old primary keys (and the `patients.case_id` index) each page is a few index range scans;
//! without them each page still works, at the price of a scan of the tables it touches.

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
            LEFT JOIN (SELECT DISTINCT ON (case_id) * FROM patients \
              WHERE case_id IN (SELECT id FROM legacy_page) \
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
              WHERE case_id IN (SELECT case_id FROM legacy_page) \
              ORDER BY case_id, created_at, id) p0 ON p0.case_id = t.case_id",
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
     FROM inbound_vapi_calls WHERE vapi_call_id IN (SELECT vapi_call_id FROM legacy_page) \
     ORDER BY vapi_call_id, created_at, id) ic ON ic.vapi_call_id = t.vapi_call_id";

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

/// The old database: one connection inside one read-only snapshot, and the table being paged.
pub struct OldDb {
    conn: PgConnection,
    paging: Option<Paging>,
}

/// Where the keyset paging of one table stands.
struct Paging {
    read: OldRead,
    clinics: Vec<Uuid>,
    /// The id of the last base row read (`None` before the first page).
    last: Option<Uuid>,
    done: bool,
}

fn clinic_array(clinics: &[Uuid]) -> String {
    let ids: Vec<String> = clinics.iter().map(Uuid::to_string).collect();
    format!("'{{{}}}'::uuid[]", ids.join(","))
}

/// The condition a row must meet in a run restricted to `clinics` (`None`: every row).
fn clinic_filter(read: &OldRead, clinics: &[Uuid]) -> Option<String> {
    if clinics.is_empty() {
        return None;
    }
    let arr = clinic_array(clinics);
    match (read.clinic, read.scope) {
        (Some(c), _) => Some(format!("({c}) = ANY({arr})")),
        (None, Some(s)) => Some(s.replace("{clinics}", &arr)),
        (None, None) => None,
    }
}

/// `WITH legacy_page AS (page) SELECT select FROM legacy_page t <joins>`: the read's joins over the base
/// rows `page` selects (the joins of large related tables only look at these rows' keys).
fn from_page(read: &OldRead, page: &str, select: &str) -> String {
    let clinic = read.clinic.unwrap_or("NULL::uuid");
    format!(
        "WITH legacy_page AS MATERIALIZED ({page}) SELECT {select} FROM legacy_page t {} \
         LEFT JOIN clinics oc ON oc.id = ({clinic})",
        read.joins
    )
}

fn json_expr(read: &OldRead) -> String {
    format!(
        "(to_jsonb(t) || jsonb_build_object('_clinic_id', oc.id) || {})::text",
        read.extra
    )
}

fn parse_rows(texts: &[String]) -> Result<Vec<Value>, sqlx::Error> {
    texts
        .iter()
        .map(|t| serde_json::from_str(t).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .collect()
}

impl OldDb {
    /// Connects and opens the read-only snapshot every read of this run uses.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let mut conn = PgConnection::connect(url).await?;
        sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut conn)
            .await?;
        // A page joins ~batch-size rows to large tables: with the default cost of a random
        // read the planner may prefer scanning a whole related table per page (work growing
        // with the table, i.e. quadratic over the run) to a thousand primary-key probes.
        sqlx::query("SET LOCAL random_page_cost = 1.1")
            .execute(&mut conn)
            .await?;
        Ok(Self { conn, paging: None })
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

    /// The rows `read` will stream for these clinics: the base table alone when every row is
    /// read (the joins are all `LEFT JOIN`s to at most one row, so they add none).
    pub async fn count(&mut self, read: &OldRead, clinics: &[Uuid]) -> Result<i64, sqlx::Error> {
        let sql = match clinic_filter(read, clinics) {
            None => format!("SELECT count(*) FROM {}", read.table),
            Some(filter) => {
                let all = format!("SELECT * FROM {}", read.table);
                from_page(read, &all, "count(*)") + &format!(" WHERE {filter}")
            }
        };
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut self.conn)
            .await
    }

    /// Starts paging through `read` in id order; `fetch` returns the pages.
    pub fn begin_paging(&mut self, read: &OldRead, clinics: &[Uuid]) {
        self.paging = Some(Paging {
            read: *read,
            clinics: clinics.to_vec(),
            last: None,
            done: false,
        });
    }

    /// The next rows (at most `n`, in id order; empty at the end). In a `--clinic` run a page
    /// of base rows may hold none of the chosen clinics: the next one is read then.
    pub async fn fetch(&mut self, n: usize) -> Result<Vec<Value>, sqlx::Error> {
        let n = n.max(1);
        loop {
            let Some(paging) = self.paging.as_mut() else {
                return Ok(Vec::new());
            };
            if paging.done {
                return Ok(Vec::new());
            }
            let after = if paging.last.is_some() {
                "WHERE id > $1"
            } else {
                "WHERE $1::uuid IS NULL"
            };
            let page = format!(
                "SELECT * FROM {} {after} ORDER BY id LIMIT {n}",
                paging.read.table
            );
            let json = match clinic_filter(&paging.read, &paging.clinics) {
                None => json_expr(&paging.read),
                Some(filter) => format!("CASE WHEN {filter} THEN {} END", json_expr(&paging.read)),
            };
            let sql = from_page(&paging.read, &page, &format!("t.id, {json}")) + " ORDER BY t.id";
            let rows: Vec<(Uuid, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(paging.last)
                .fetch_all(&mut self.conn)
                .await?;
            paging.done = rows.len() < n;
            paging.last = rows.last().map(|r| r.0).or(paging.last);
            let texts: Vec<String> = rows.into_iter().filter_map(|r| r.1).collect();
            if !texts.is_empty() || paging.done {
                return parse_rows(&texts);
            }
        }
    }

    /// Ends the paging of the current table.
    pub fn end_paging(&mut self) {
        self.paging = None;
    }

    /// These rows of `read` again, as `fetch` gives them (for the sample check).
    pub async fn rows_by_id(
        &mut self,
        read: &OldRead,
        ids: &[Uuid],
    ) -> Result<Vec<Value>, sqlx::Error> {
        let page = format!("SELECT * FROM {} WHERE id = ANY($1)", read.table);
        let sql = from_page(read, &page, &json_expr(read)) + " ORDER BY t.id";
        let texts: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(&mut self.conn)
            .await?;
        parse_rows(&texts)
    }

    /// Ends the snapshot (nothing was written: it is read-only).
    pub async fn close(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("ROLLBACK").execute(&mut self.conn).await?;
        self.conn.close().await
    }
}
