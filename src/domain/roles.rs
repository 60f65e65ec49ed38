//! Clinic access roles and invitation statuses: the spec's vocabularies for
//! `user_clinic_access.role`, `clinic_invitations.role` and `clinic_invitations.status`, and how
//! Clerk's values map onto them (`docs/behaviour.md#clerk`).
//!
//! May import: external crates only.

/// A role in `user_clinic_access.role` / `clinic_invitations.role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessRole {
    Owner,
    Admin,
    Member,
    Viewer,
}

impl AccessRole {
    /// The spelling stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }
}

/// Clerk role → the spec's roles (trimmed, case-insensitive).
///
/// `org:veterinarian` becomes `member` because the spec has no veterinarian access role (the
/// clinical role lives in `users.role` / `providers`). Anything unknown (a custom `org:<key>`
/// role) gets the lowest privilege, `viewer`: granting write access to a role we know nothing
/// about is the unsafe default (`docs/behaviour.md#clerk`).
pub fn map_role(role: &str) -> AccessRole {
    match role.trim().to_ascii_lowercase().as_str() {
        "org:owner" | "owner" => AccessRole::Owner,
        "org:admin" | "admin" => AccessRole::Admin,
        "org:member" | "member" | "basic_member" | "org:veterinarian" | "veterinarian" => {
            AccessRole::Member
        }
        _ => AccessRole::Viewer,
    }
}

/// The role of an invitation that names none: Clerk's default, `org:member`.
pub const DEFAULT_INVITATION_ROLE: AccessRole = AccessRole::Member;

/// A new invitation row expires this many days after it is written unless Clerk sends
/// `expires_at`.
pub const INVITATION_TTL_DAYS: i32 = 7;

/// `clinic_invitations.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Expired,
}

impl InvitationStatus {
    /// The spelling stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Expired => "expired",
        }
    }

    /// The status of a Clerk invitation as Clerk reports it in `data.status`. The spec has no
    /// `revoked`: a revoked invitation is, for every consumer, one that can no longer be used, so
    /// it is stored as `expired` (and its `expires_at` moved to the revocation time by the
    /// caller, keeping the row self-consistent). Anything else is a usable, `pending` invitation.
    pub fn from_clerk(status: Option<&str>) -> Self {
        match status {
            Some("accepted") => Self::Accepted,
            Some("revoked") | Some("expired") => Self::Expired,
            _ => Self::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_the_spec_roles_with_unknown_as_viewer() {
        let table = [
            ("org:admin", "admin"),
            ("admin", "admin"),
            (" ORG:Admin ", "admin"),
            ("org:owner", "owner"),
            ("owner", "owner"),
            ("org:member", "member"),
            ("member", "member"),
            ("basic_member", "member"),
            ("org:veterinarian", "member"),
            ("veterinarian", "member"),
            ("org:viewer", "viewer"),
            ("org:front_desk", "viewer"),
            ("", "viewer"),
        ];
        for (clerk, spec) in table {
            assert_eq!(map_role(clerk).as_str(), spec, "{clerk:?}");
        }
        assert_eq!(DEFAULT_INVITATION_ROLE, map_role("org:member"));
    }

    #[test]
    fn clerk_invitation_statuses_map_to_the_spec_statuses() {
        let table = [
            (Some("accepted"), "accepted"),
            (Some("revoked"), "expired"),
            (Some("expired"), "expired"),
            (Some("pending"), "pending"),
            (Some("something-new"), "pending"),
            (None, "pending"),
        ];
        for (clerk, spec) in table {
            assert_eq!(
                InvitationStatus::from_clerk(clerk).as_str(),
                spec,
                "{clerk:?}"
            );
        }
    }
}
