//! The out-of-order gate: every Clerk event is admitted against `clerk_sync_state` before it
//! writes anything (`docs/behaviour.md#clerk`).
//!
//! Svix delivers at least once and out of order. The state holds the last Clerk `updated_at`
//! (ms) applied per object, plus a tombstone after a deletion. An event older than what was
//! applied, or about a deleted user/organization, is `skipped` with a note and writes nothing.
//! Admission row-locks the object's state row for the rest of the transaction, so two events
//! about one object never interleave. Equal versions are admitted again: re-processing the same
//! event (replay, retry) rewrites the same values.
//!
//! May import: `db::identity`, external crates.

use sqlx::PgConnection;

use crate::db::identity::{self, SyncAdmission};

/// The kind of Clerk object a state row is about (`clerk_sync_state.object_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    User,
    Organization,
    Membership,
    Invitation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Organization => "organization",
            Self::Membership => "membership",
            Self::Invitation => "invitation",
        }
    }

    /// Whether a newer event may bring the object back after a deletion. Clerk never reuses
    /// user or organization ids, so their deletion is final; a membership is keyed by
    /// (organization, user), and a member removed then invited back is a real, newer membership.
    pub fn resurrectable(self) -> bool {
        matches!(self, Self::Membership)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Apply,
    /// An equal-or-newer version was already applied (or, for a deletion, a newer object exists).
    Stale {
        last: i64,
    },
    /// The object is deleted and this event may not bring it back.
    Deleted,
}

/// Admits (and records) `version` of an object, or says why not. Admitted or not, the state row
/// stays locked until the transaction ends.
pub async fn admit(
    conn: &mut PgConnection,
    kind: Kind,
    clerk_id: &str,
    version: i64,
    deleting: bool,
) -> Result<Admission, sqlx::Error> {
    let request = SyncAdmission {
        object_type: kind.as_str(),
        clerk_id,
        version,
        deleting,
        resurrectable: kind.resurrectable(),
    };
    if identity::admit_sync_version(conn, &request).await? {
        return Ok(Admission::Apply);
    }
    // The upsert above guarantees the row exists.
    let state = identity::sync_state(conn, kind.as_str(), clerk_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(if state.deleted && !deleting {
        Admission::Deleted
    } else {
        Admission::Stale {
            last: state.last_updated_at_ms,
        }
    })
}

/// Whether an object has a tombstone that events about *other* objects must respect (a late
/// membership must not recreate a deleted user or organization).
pub async fn is_deleted(
    conn: &mut PgConnection,
    kind: Kind,
    clerk_id: &str,
) -> Result<bool, sqlx::Error> {
    let state = identity::sync_state(conn, kind.as_str(), clerk_id).await?;
    Ok(state.is_some_and(|s| s.deleted))
}

/// The `skipped` note of an event the gate rejected.
pub fn stale_note(what: &str, id: &str, version: i64, a: Admission) -> String {
    match a {
        Admission::Stale { last } => {
            format!("stale: {what} {id} version {version} is older than applied version {last}")
        }
        _ => format!("{what} {id} was deleted; event ignored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_memberships_come_back_after_a_deletion() {
        assert!(Kind::Membership.resurrectable());
        assert!(!Kind::User.resurrectable());
        assert!(!Kind::Organization.resurrectable());
        assert!(!Kind::Invitation.resurrectable());
    }

    #[test]
    fn notes_say_why_an_event_was_rejected() {
        assert_eq!(
            stale_note("user", "u1", 5, Admission::Stale { last: 9 }),
            "stale: user u1 version 5 is older than applied version 9"
        );
        assert_eq!(
            stale_note("user", "u1", 5, Admission::Deleted),
            "user u1 was deleted; event ignored"
        );
    }
}
