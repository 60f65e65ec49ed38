//! `organizationInvitation.*` events → `clinic_invitations`, one row per (clinic,
//! case-insensitive email) (`docs/behaviour.md#clerk`).
//!
//! May import: `db`, `domain::roles`, `webhooks::inbox`, sibling `clerk` modules.

use sqlx::PgConnection;
use uuid::Uuid;

use super::ordering::{admit, is_deleted, stale_note, Admission, Kind};
use super::organizations::{self, OrgFields};
use super::payload::{self, InvitationData};
use super::users;
use crate::db::clinics;
use crate::db::identity::{self, ClerkUser, InvitationWrite};
use crate::domain::roles::{
    map_role, InvitationStatus, DEFAULT_INVITATION_ROLE, INVITATION_TTL_DAYS,
};
use crate::webhooks::inbox::{Outcome, ProcessError};

/// Which invitation event arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationEvent {
    Created,
    Accepted,
    Revoked,
}

impl InvitationEvent {
    /// The stored status: a revoked invitation is stored as `expired` (see
    /// [`InvitationStatus::from_clerk`]); a created one as Clerk reports it.
    fn status(self, data: &InvitationData) -> InvitationStatus {
        match self {
            Self::Accepted => InvitationStatus::Accepted,
            Self::Revoked => InvitationStatus::Expired,
            Self::Created => InvitationStatus::from_clerk(data.status.as_deref()),
        }
    }
}

/// `organizationInvitation.created` / `.accepted` / `.revoked`.
pub async fn process(
    conn: &mut PgConnection,
    data: &InvitationData,
    ts: Option<i64>,
    kind: InvitationEvent,
) -> Result<Outcome, ProcessError> {
    payload::required(&data.id, "data.id")?;
    let email = payload::required(&data.email_address, "data.email_address")?;
    let public_org = data.public_organization_data.as_ref();
    let org_id = data
        .organization_id
        .as_deref()
        .or_else(|| public_org.and_then(|o| o.id.as_deref()))
        .ok_or_else(|| ProcessError::invalid("data.organization_id", "missing or empty"))?;
    let role = data
        .role
        .as_deref()
        .map_or(DEFAULT_INVITATION_ROLE, map_role);
    let status = kind.status(data);
    let v = payload::version(data.updated_at, ts)?;
    let key = format!("{org_id}:{}", email.to_lowercase());
    let a = admit(conn, Kind::Invitation, &key, v, false).await?;
    if a != Admission::Apply {
        return Ok(Outcome::skipped(stale_note("invitation", &key, v, a)));
    }
    if is_deleted(conn, Kind::Organization, org_id).await? {
        return Ok(Outcome::skipped(format!(
            "organization {org_id} was deleted; invitation ignored"
        )));
    }
    let Some(clinic_id) = invitation_clinic(conn, data, org_id).await? else {
        return Ok(Outcome::unmatched(format!(
            "no clinic for organization {org_id}; replay after organization.created"
        )));
    };
    let changed_at = payload::ms_to_time(v, "data.updated_at")?;
    let mut expires_at = match data.expires_at {
        Some(ms) => Some(payload::ms_to_time(ms, "data.expires_at")?),
        None => None,
    };
    if kind == InvitationEvent::Revoked {
        expires_at = Some(expires_at.map_or(changed_at, |e| e.min(changed_at)));
    }
    let (accepted_at, accepted_by) = if status == InvitationStatus::Accepted {
        (Some(changed_at), accepting_user(conn, data, email).await?)
    } else {
        (None, None)
    };
    let w = InvitationWrite {
        email,
        role: role.as_str(),
        status: status.as_str(),
        expires_at,
        accepted_at,
        accepted_by,
        // pending = a (new) invitation: no acceptance yet; expired keeps an earlier acceptance.
        keep_acceptance: status == InvitationStatus::Expired,
        ttl_days: INVITATION_TTL_DAYS,
    };
    write(conn, clinic_id, &w).await?;
    Ok(Outcome::processed(Some(clinic_id)))
}

/// The clinic of the invitation's organization; an invitation created before
/// organization.created arrived creates it from `public_organization_data`.
async fn invitation_clinic(
    conn: &mut PgConnection,
    data: &InvitationData,
    org_id: &str,
) -> Result<Option<Uuid>, ProcessError> {
    // Locked, not just read: a membership event for the same organization and user locks the
    // clinic, then creates the user; taking the clinic first here too (before the accepting user
    // is created) keeps one lock order, so the two cannot deadlock.
    if let Some(id) = clinics::lock_by_clerk_org(conn, org_id).await? {
        return Ok(Some(id));
    }
    let public_org = data.public_organization_data.as_ref();
    match public_org.map(|o| OrgFields::from_payload(o, "data.public_organization_data")) {
        Some(Ok(f)) if f.clerk_id == org_id => {
            Ok(Some(organizations::write_clinic(conn, &f, false).await?))
        }
        _ => Ok(None),
    }
}

/// The users row of the accepting user (`data.user_id`), created from the invitation's email
/// (the accepting user's email in Clerk) unless that user is deleted.
async fn accepting_user(
    conn: &mut PgConnection,
    data: &InvitationData,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let Some(uid) = data.user_id.as_deref() else {
        return Ok(None);
    };
    // A deleted user's row may still exist (kept because it is referenced, e.g. by this very
    // invitation): reference it, but never recreate a deleted user.
    if let Some(id) = identity::user_id_by_clerk_id(conn, uid).await? {
        return Ok(Some(id));
    }
    if is_deleted(conn, Kind::User, uid).await? {
        return Ok(None);
    }
    let u = ClerkUser {
        clerk_id: uid,
        email: Some(email),
        first_name: None,
        last_name: None,
        avatar_url: None,
    };
    users::ensure(conn, &u).await
}

/// Updates the clinic's invitation for this email (matched case-insensitively: the row and its
/// token stay, whatever case it was stored in), else inserts one.
async fn write(
    conn: &mut PgConnection,
    clinic_id: Uuid,
    w: &InvitationWrite<'_>,
) -> Result<(), sqlx::Error> {
    match identity::lock_invitation(conn, clinic_id, w.email).await? {
        Some(id) => identity::update_invitation(conn, id, w).await,
        None => identity::upsert_invitation(conn, clinic_id, w).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_event_decides_the_stored_status() {
        let d: InvitationData = payload::parse(&json!({"status": "accepted"})).unwrap();
        assert_eq!(
            InvitationEvent::Created.status(&d),
            InvitationStatus::Accepted
        );
        assert_eq!(
            InvitationEvent::Revoked.status(&d),
            InvitationStatus::Expired
        );
        let d: InvitationData = payload::parse(&json!({})).unwrap();
        assert_eq!(
            InvitationEvent::Created.status(&d),
            InvitationStatus::Pending
        );
        assert_eq!(
            InvitationEvent::Accepted.status(&d),
            InvitationStatus::Accepted
        );
    }
}
