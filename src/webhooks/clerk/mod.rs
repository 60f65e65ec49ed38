//! Clerk events → `users`, `clinics`, `user_clinic_access`, `clinic_invitations`
//! (`docs/behaviour.md#clerk`).
//!
//! | event | effect | module |
//! |---|---|---|
//! | `user.created` / `user.updated` | upsert `users` by `clerk_user_id`, claiming a placeholder row | [`users`] |
//! | `user.deleted` | delete the user's access; delete the `users` row unless referenced | [`users`] |
//! | `organization.created` / `.updated` | upsert `clinics` by `clerk_org_id` (name, slug, logo only), name/slug made unique ([`naming`]) | [`organizations`] |
//! | `organization.deleted` | `clinics.is_active = false` | [`organizations`] |
//! | `organizationMembership.created` / `.updated` | upsert `user_clinic_access` (role mapped by `domain::roles`) | [`memberships`] |
//! | `organizationMembership.deleted` | delete that `user_clinic_access` row | [`memberships`] |
//! | `organizationInvitation.created` / `.accepted` / `.revoked` | upsert `clinic_invitations` by (clinic, email) | [`invitations`] |
//! | anything else | `skipped` | |
//!
//! Every event first passes the out-of-order gate ([`ordering`]); payloads are read through the
//! typed structs of [`payload`]. All SQL lives in `db::identity` and `db::clinics`.
//!
//! May import: `db`, `domain`, `webhooks::inbox`, external crates (never `jobs` or `http`).

mod invitations;
mod memberships;
mod naming;
mod ordering;
mod organizations;
mod payload;
mod users;

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use self::invitations::InvitationEvent;
use self::payload::{parse, Envelope};
use super::inbox::{EventStatus, Outcome, ProcessError, StoredEvent};

pub use self::naming::{name_candidate, short_hash, slugify};

/// Prefix of `users.clerk_user_id` for a row whose owner has no Clerk account yet (see
/// [`users`]).
pub const PLACEHOLDER_PREFIX: &str = "pending:";

/// Event types with an effect; every other type is acknowledged and `skipped`.
pub const HANDLED: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deleted",
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "organizationMembership.created",
    "organizationMembership.updated",
    "organizationMembership.deleted",
    "organizationInvitation.created",
    "organizationInvitation.accepted",
    "organizationInvitation.revoked",
];

/// Processes one stored Clerk event inside the inbox transaction.
pub async fn process(
    conn: &mut PgConnection,
    event: &StoredEvent,
) -> Result<Outcome, ProcessError> {
    let v = event.json()?;
    if !v.is_object() {
        return Err(ProcessError::invalid("body", "not a JSON object"));
    }
    let envelope: Envelope = parse(&v)?;
    let t = envelope
        .kind
        .as_deref()
        .ok_or_else(|| ProcessError::invalid("type", "missing"))?;
    if !HANDLED.contains(&t) {
        return Ok(Outcome::skipped(format!("event type {t} not handled")));
    }
    let data = envelope
        .data
        .as_ref()
        .ok_or_else(|| ProcessError::invalid("data", "missing or not an object"))?;
    dispatch(conn, t, data, envelope.timestamp).await
}

/// Runs the handler of event type `t` on its `data` object; `ts` is the event time in ms.
async fn dispatch(
    conn: &mut PgConnection,
    t: &str,
    data: &Value,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    match t {
        "user.created" | "user.updated" => users::upsert(conn, &parse(data)?, ts).await,
        "user.deleted" => users::deleted(conn, &parse(data)?, ts).await,
        "organization.created" | "organization.updated" => {
            organizations::upsert(conn, &parse(data)?, ts).await
        }
        "organization.deleted" => organizations::deleted(conn, &parse(data)?, ts).await,
        "organizationMembership.created" | "organizationMembership.updated" => {
            memberships::upsert(conn, &parse(data)?, ts).await
        }
        "organizationMembership.deleted" => memberships::deleted(conn, &parse(data)?, ts).await,
        "organizationInvitation.created" => {
            invitations::process(conn, &parse(data)?, ts, InvitationEvent::Created).await
        }
        "organizationInvitation.accepted" => {
            invitations::process(conn, &parse(data)?, ts, InvitationEvent::Accepted).await
        }
        "organizationInvitation.revoked" => {
            invitations::process(conn, &parse(data)?, ts, InvitationEvent::Revoked).await
        }
        other => Ok(Outcome::skipped(format!("event type {other} not handled"))),
    }
}

/// A `skipped` outcome that still names the clinic the event concerns.
fn skipped_with(clinic_id: Option<Uuid>, note: impl Into<String>) -> Outcome {
    Outcome {
        status: EventStatus::Skipped,
        clinic_id,
        note: Some(note.into()),
    }
}
