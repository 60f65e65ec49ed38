//! What every tool of one `tool-calls` message shares: the pool, the VAPI call and assistant,
//! the calling clinic (through the assistant's active mapping, `docs/behaviour.md#vapi-tools`)
//! and the instant the message is answered.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::db;
use crate::db::tool_clinic::ToolClinic;
use crate::domain::clinic_policy::zone_of;
use crate::domain::clock::local_date;
use crate::domain::slots::{BlockedPeriod, ScheduleRules};
use crate::state::AppState;
use crate::webhooks::vapi::json::str_at;

pub struct Ctx<'a> {
    pub pool: &'a PgPool,
    pub call_id: Option<String>,
    pub assistant_id: Option<String>,
    /// `call.type` is `inboundPhoneCall`: the tools may create the call's inbound row.
    pub inbound: bool,
    /// `None`: no assistant mapping and no call row names the clinic.
    pub clinic: Option<ToolClinic>,
    /// The schedule rules and blocked periods of the availability clinic, read with the clinic
    /// (`None`: no clinic, or its availability clinic does not exist).
    rules: Option<(ScheduleRules, Vec<BlockedPeriod>)>,
    pub now: DateTime<Utc>,
}

impl<'a> Ctx<'a> {
    /// Resolves the calling clinic and its calendar's rules once for the whole message, in one
    /// query. A lookup failure is logged and answered like an unknown clinic (VAPI must get its
    /// 200 quickly).
    pub async fn load(state: &'a AppState, msg: &Value) -> Ctx<'a> {
        let call = msg.get("call").unwrap_or(&Value::Null);
        let keys = super::super::answers::call_keys(msg);
        let call_id = str_at(call, &["id"]);
        let (clinic, rules) =
            match db::tool_clinic::load_for_call(&state.pool, &keys, call_id).await {
                Ok(Some((clinic, rules))) => (Some(clinic), rules),
                Ok(None) => (None, None),
                Err(e) => {
                    tracing::warn!(error = %e, "tool clinic lookup failed");
                    (None, None)
                }
            };
        Ctx {
            pool: &state.pool,
            call_id: call_id.map(str::to_string),
            assistant_id: keys.assistant_id.map(str::to_string),
            inbound: str_at(call, &["type"]) == Some("inboundPhoneCall"),
            clinic,
            rules,
            now: Utc::now(),
        }
    }

    /// The availability clinic's schedule rules and blocked periods as read with the clinic;
    /// the defaults (in UTC) when that clinic does not exist, as `availability::rules` answers.
    pub fn calendar_rules(&self) -> (ScheduleRules, Vec<BlockedPeriod>) {
        self.rules
            .clone()
            .unwrap_or_else(|| (ScheduleRules::defaults(chrono_tz::UTC), Vec::new()))
    }

    /// The calling clinic's zone (the column's default when it is not an IANA name).
    pub fn tz(&self, clinic: &ToolClinic) -> Tz {
        zone_of(clinic.id, clinic.timezone.as_deref())
    }

    /// Today on the calling clinic's calendar.
    pub fn today(&self, clinic: &ToolClinic) -> NaiveDate {
        local_date(self.tz(clinic), self.now)
    }

    /// The call's inbound row and its clinic, if any. With `create`, an inbound call that has
    /// no row yet gets one for `clinic_id` (a tool can run before any call event arrived).
    /// Callers link rows of another clinic only through `metadata` (clinic-consistent rows).
    pub async fn call_row(
        &self,
        conn: &mut PgConnection,
        clinic_id: Uuid,
        create: bool,
    ) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
        let Some(call_id) = self.call_id.as_deref() else {
            return Ok(None);
        };
        // A call without an assistant id (squad, transient assistant, routed by phone number)
        // still gets its row.
        if create && self.inbound {
            let assistant = self.assistant_id.as_deref();
            let row =
                db::inbound_calls::ensure_for_tool(conn, clinic_id, call_id, assistant).await?;
            return Ok(Some(row));
        }
        db::inbound_calls::find_by_vapi_call(&mut *conn, call_id).await
    }
}
