//! What every tool of one `tool-calls` message shares: the pool, the VAPI call and assistant,
//! the calling clinic (through the assistant's active mapping, `docs/behaviour.md#vapi-tools`)
//! and the instant the message is answered.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::db;
use crate::db::tool_clinic::ToolClinic;
use crate::domain::clinic_policy::zone_of;
use crate::domain::clock::local_date;
use crate::domain::slots::{BlockedPeriod, ScheduleRules};
use crate::state::{AppState, CalendarGate};
use crate::webhooks::vapi::json::str_at;

pub struct Ctx<'a> {
    pub pool: &'a PgPool,
    /// This process's queue for calendar writes (`state::CalendarGate`).
    pub calendars: &'a CalendarGate,
    pub call_id: Option<String>,
    pub assistant_id: Option<String>,
    /// `call.type` is `inboundPhoneCall`: the tools may create the call's inbound row.
    pub inbound: bool,
    /// `None`: no assistant mapping and no call row names the clinic, or the lookup failed.
    pub clinic: Option<ToolClinic>,
    /// The clinic lookup failed on our side: every tool answers `database_error`, not
    /// `clinic_not_found` (the clinic may well exist; `docs/behaviour.md#vapi-tools`).
    pub lookup_failed: bool,
    /// The schedule rules and blocked periods of the availability clinic, read with the clinic
    /// (`None`: no clinic, or its availability clinic does not exist).
    rules: Option<(ScheduleRules, Vec<BlockedPeriod>)>,
    /// The availability clinic's busy intervals over [`busy_window`], read with the clinic
    /// when the message asks an availability question (`None` otherwise).
    busy: Option<Busy>,
    pub now: DateTime<Utc>,
}

type Interval = (DateTime<Utc>, DateTime<Utc>);

struct Busy {
    window: Interval,
    intervals: Vec<Interval>,
}

/// The tools whose answer is the calendar itself (they read it without a lock; the booking
/// tools read it again under the calendar's lock).
const CALENDAR_READERS: [&str; 2] = ["check_availability_range", "check_availability"];

impl<'a> Ctx<'a> {
    /// Resolves the calling clinic and its calendar's rules once for the whole message, in one
    /// query; when one of `tools` (canonical names) reads availability, the same query brings
    /// the calendar's busy intervals around today (one round trip fewer for the question a
    /// caller asks first). A lookup failure is logged and noted in [`Ctx::lookup_failed`]
    /// (VAPI must still get its 200 quickly).
    pub async fn load(state: &'a AppState, msg: &Value, tools: &[&str]) -> Ctx<'a> {
        let call = msg.get("call").unwrap_or(&Value::Null);
        let keys = super::super::answers::call_keys(msg);
        let call_id = str_at(call, &["id"]);
        let now = Utc::now();
        let window = tools
            .iter()
            .any(|t| CALENDAR_READERS.contains(t))
            .then(|| busy_window(now));
        let loaded = db::tool_clinic::load_for_call(&state.pool, &keys, call_id, window).await;
        let lookup_failed = loaded.is_err();
        let (clinic, rules, busy) = match loaded {
            Ok(Some(c)) => {
                let busy = window
                    .zip(c.busy)
                    .map(|(window, intervals)| Busy { window, intervals });
                (Some(c.clinic), c.rules, busy)
            }
            Ok(None) => (None, None, None),
            Err(e) => {
                tracing::error!(error = %e, "tool clinic lookup failed");
                (None, None, None)
            }
        };
        Ctx {
            pool: &state.pool,
            calendars: &state.calendars,
            call_id: call_id.map(str::to_string),
            assistant_id: keys.assistant_id.map(str::to_string),
            inbound: str_at(call, &["type"]) == Some("inboundPhoneCall"),
            clinic,
            lookup_failed,
            rules,
            busy,
            now,
        }
    }

    /// The busy intervals read with the clinic, when they cover `[from, to)`.
    pub fn busy_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<&[Interval]> {
        self.busy
            .as_ref()
            .filter(|b| b.window.0 <= from && to <= b.window.1)
            .map(|b| b.intervals.as_slice())
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

/// The window whose busy intervals are read with the clinic: from a day before `now` to 16 days
/// after it. Whatever the clinic's zone (UTC offsets stay within a day), it holds today and the
/// 14 following clinic-local days, which `check_availability_range` asks by default.
pub fn busy_window(now: DateTime<Utc>) -> Interval {
    (now - TimeDelta::days(1), now + TimeDelta::days(16))
}
