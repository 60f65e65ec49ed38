//! `organizationMembership.*` events → `user_clinic_access` (`docs/behaviour.md#clerk`).
//!
//! May import: `db::identity`, `domain::roles`, `webhooks::inbox`, sibling `clerk` modules.

use sqlx::PgConnection;
use uuid::Uuid;

use super::ordering::{admit, is_deleted, stale_note, Admission, Kind};
use super::organizations::{self, OrgApplied, OrgFields};
use super::payload::{self, MembershipData, OrgData, PublicUserData};
use super::{skipped_with, users};
use crate::db::{clinics, identity};
use crate::domain::roles::map_role;
use crate::webhooks::inbox::{EventStatus, Outcome, ProcessError};

/// The organization and user a membership links, checked present.
struct MembershipRef<'a> {
    org: &'a OrgData,
    org_id: &'a str,
    user: &'a PublicUserData,
    user_clerk_id: &'a str,
}

impl<'a> MembershipRef<'a> {
    fn from_payload(data: &'a MembershipData) -> Result<Self, ProcessError> {
        let org = data.organization.as_ref().ok_or_else(|| {
            ProcessError::invalid("data.organization", "missing or not an object")
        })?;
        let user = data.public_user_data.as_ref().ok_or_else(|| {
            ProcessError::invalid("data.public_user_data", "missing or not an object")
        })?;
        Ok(Self {
            org,
            org_id: payload::required(&org.id, "data.organization.id")?,
            user,
            user_clerk_id: payload::required(&user.user_id, "data.public_user_data.user_id")?,
        })
    }

    /// The `clerk_sync_state` key of a membership: `org:user`.
    fn key(&self) -> String {
        format!("{}:{}", self.org_id, self.user_clerk_id)
    }
}

/// `organizationMembership.created` / `.updated`.
pub async fn upsert(
    conn: &mut PgConnection,
    data: &MembershipData,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let m = MembershipRef::from_payload(data)?;
    let role = map_role(payload::required(&data.role, "data.role")?);
    let org = OrgFields::from_payload(m.org, "data.organization")?;
    let v = payload::version(data.updated_at, ts)?;
    let key = m.key();
    let a = admit(conn, Kind::Membership, &key, v, false).await?;
    if a != Admission::Apply {
        return Ok(Outcome::skipped(stale_note("membership", &key, v, a)));
    }
    let clinic_id = match membership_clinic(conn, &m, &org, v).await? {
        Ok(id) => id,
        Err(skipped) => return Ok(skipped),
    };
    if is_deleted(conn, Kind::User, m.user_clerk_id).await? {
        return Ok(skipped_with(
            Some(clinic_id),
            format!("user {} was deleted; membership ignored", m.user_clerk_id),
        ));
    }
    let Some(user_id) = membership_user(conn, &m).await? else {
        return Ok(Outcome {
            status: EventStatus::Unmatched,
            clinic_id: Some(clinic_id),
            note: Some(format!(
                "user {} unknown and public_user_data has no email; replay after user.created",
                m.user_clerk_id
            )),
        });
    };
    // Lock the user so concurrent memberships of one user agree on which access is primary, and
    // so a concurrent user.deleted (which takes the same lock first) is either fully before us or
    // fully after us.
    identity::lock_user(conn, user_id).await?;
    if is_deleted(conn, Kind::User, m.user_clerk_id).await? {
        // user.deleted committed while we waited for the lock: roll back (including a users row
        // ensure may just have created) and let the retry skip the event cleanly.
        return Err(ProcessError::Other(format!(
            "user {} was deleted concurrently; retrying",
            m.user_clerk_id
        )));
    }
    identity::upsert_clinic_access(conn, user_id, clinic_id, role.as_str()).await?;
    Ok(Outcome::processed(Some(clinic_id)))
}

/// The clinic of the membership's organization, or the `skipped` outcome when the organization
/// is deleted. The embedded organization is a full snapshot with its own updated_at: applying it
/// through the organization gate creates a missing clinic and never rolls a newer one back.
async fn membership_clinic(
    conn: &mut PgConnection,
    m: &MembershipRef<'_>,
    org: &OrgFields<'_>,
    v: i64,
) -> Result<Result<Uuid, Outcome>, ProcessError> {
    let org_v = m.org.updated_at.unwrap_or(v);
    Ok(match organizations::apply(conn, org, org_v).await? {
        OrgApplied::Applied(id) | OrgApplied::Stale(Some(id), _) => Ok(id),
        // state says newer but the row is gone (removed by hand): recreate, don't overwrite
        OrgApplied::Stale(None, _) => Ok(organizations::write_clinic(conn, org, false).await?),
        OrgApplied::Deleted(id) => Err(skipped_with(
            id,
            format!("organization {} was deleted; membership ignored", m.org_id),
        )),
    })
}

/// The member's users row, created from `public_user_data` if needed; `None` without an email.
async fn membership_user(
    conn: &mut PgConnection,
    m: &MembershipRef<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    // `identifier` is the sign-in identifier: usually the email, but it can be a phone number
    // or username, which must not land in users.email.
    let email = m.user.identifier.as_deref().filter(|s| s.contains('@'));
    let u = identity::ClerkUser {
        clerk_id: m.user_clerk_id,
        email,
        first_name: m.user.first_name.as_deref(),
        last_name: m.user.last_name.as_deref(),
        avatar_url: payload::picture(&m.user.image_url, m.user.has_image),
    };
    users::ensure(conn, &u).await
}

/// `organizationMembership.deleted`: delete the access row; if it was primary, the oldest
/// remaining access becomes primary.
pub async fn deleted(
    conn: &mut PgConnection,
    data: &MembershipData,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let m = MembershipRef::from_payload(data)?;
    // The deletion happened at the event time, which is after the membership's last update:
    // the tombstone must outrank every earlier snapshot, including one with the same updated_at.
    let v = match (data.updated_at, ts) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => {
            return Err(ProcessError::invalid(
                "timestamp",
                "missing (and no data.updated_at)",
            ))
        }
    };
    let key = m.key();
    let a = admit(conn, Kind::Membership, &key, v, true).await?;
    let clinic_id = clinics::id_by_clerk_org(conn, m.org_id).await?;
    if a != Admission::Apply {
        return Ok(skipped_with(
            clinic_id,
            stale_note("membership", &key, v, a),
        ));
    }
    let user_id = identity::user_id_by_clerk_id(conn, m.user_clerk_id).await?;
    let (Some(clinic), Some(user_id)) = (clinic_id, user_id) else {
        // Nothing to remove; the tombstone keeps a late created event from adding it.
        return Ok(Outcome::processed(clinic_id));
    };
    identity::lock_user(conn, user_id).await?;
    if identity::delete_clinic_access(conn, user_id, clinic).await? {
        // Keep "one primary clinic" true for users who still have others: the oldest one.
        identity::promote_oldest_clinic_access(conn, user_id).await?;
    }
    Ok(Outcome::processed(Some(clinic)))
}
