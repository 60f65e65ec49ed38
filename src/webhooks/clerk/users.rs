//! `user.*` events → `users`, and the users row that membership and invitation events need
//! (`docs/behaviour.md#clerk`).
//!
//! **Pre-existing users.** The spec makes `users.clerk_user_id` `NOT NULL UNIQUE`, so "a row with
//! no Clerk id" cannot exist literally. Its realistic equivalent is a row created before its
//! owner had a Clerk account (data migration, staff added by an operator): such rows must carry
//! a placeholder id starting with [`PLACEHOLDER_PREFIX`] (`pending:<anything unique>`). A Clerk
//! user whose primary email matches such a row (case-insensitively) claims it, keeping its id and
//! every reference to it. Rows with another *real* Clerk id are never merged by email: that
//! would hand one account's data to another account that happens to register the same address.
//! This worker never creates placeholders.
//!
//! May import: `db::identity`, `webhooks::inbox`, sibling `clerk` modules.

use sqlx::PgConnection;
use uuid::Uuid;

use super::ordering::{admit, stale_note, Admission, Kind};
use super::payload::{self, UserData};
use super::PLACEHOLDER_PREFIX;
use crate::db::identity::{self, ClerkUser};
use crate::webhooks::inbox::{Outcome, ProcessError};

/// `user.created` / `user.updated`.
pub async fn upsert(
    conn: &mut PgConnection,
    data: &UserData,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let clerk_id = payload::required(&data.id, "data.id")?;
    let v = payload::version(data.updated_at, ts)?;
    let a = admit(conn, Kind::User, clerk_id, v, false).await?;
    if a != Admission::Apply {
        return Ok(Outcome::skipped(stale_note("user", clerk_id, v, a)));
    }
    let email = data.primary_email();
    let u = ClerkUser {
        clerk_id,
        email: email.as_deref(),
        first_name: data.first_name.as_deref(),
        last_name: data.last_name.as_deref(),
        avatar_url: payload::picture(&data.image_url, data.has_image),
    };
    // user.* events carry the whole user: names and image are set as sent (null = cleared).
    if identity::update_user_profile(conn, &u).await?.is_some() {
        return Ok(Outcome::processed(None));
    }
    let Some(email) = u.email else {
        // users.email is NOT NULL: a phone-only Clerk user cannot have a row yet. A later
        // user.updated that adds an address creates it.
        return Ok(Outcome::skipped(format!(
            "user {clerk_id} has no email address; users.email is required"
        )));
    };
    if claim_placeholder(conn, &u, email).await?.is_some() {
        return Ok(Outcome::processed(None));
    }
    // Upsert: a membership event may create the same user concurrently from public_user_data.
    identity::upsert_user(conn, &u, email).await?;
    Ok(Outcome::processed(None))
}

/// Claims a placeholder row (see the module doc) with this email; Clerk's values fill only what
/// the placeholder lacks, since an operator may have entered a better name.
async fn claim_placeholder(
    conn: &mut PgConnection,
    u: &ClerkUser<'_>,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    identity::claim_placeholder_user(conn, u, email, PLACEHOLDER_PREFIX).await
}

/// The users row for a Clerk user that a membership or invitation names, created from the
/// partial data those events carry when `user.created` has not arrived yet. Existing rows are
/// left alone: only user.* events are authoritative for profile fields. `None` without an email.
pub async fn ensure(
    conn: &mut PgConnection,
    u: &ClerkUser<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let existing = identity::user_id_by_clerk_id(conn, u.clerk_id).await?;
    if existing.is_some() {
        return Ok(existing);
    }
    let Some(email) = u.email else {
        return Ok(None);
    };
    if let Some(id) = claim_placeholder(conn, u, email).await? {
        return Ok(Some(id));
    }
    match identity::insert_user_if_absent(conn, u, email).await? {
        Some(id) => Ok(Some(id)),
        // lost a race with a concurrent insert of the same user
        None => identity::user_id_by_clerk_id(conn, u.clerk_id).await,
    }
}

/// `user.deleted`: tombstone, remove the user's access, delete the row unless referenced.
pub async fn deleted(
    conn: &mut PgConnection,
    data: &UserData,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let clerk_id = payload::required(&data.id, "data.id")?;
    // A deleted object has no updated_at; a user's deletion is final, so the version only
    // matters as a record.
    let v = payload::deletion_version(data.updated_at, ts);
    admit(conn, Kind::User, clerk_id, v, true).await?;
    // Locked: memberships lock the users row before adding access, so none can slip in between
    // the access cleanup below and the end of this transaction.
    let Some(user_id) = identity::lock_user_by_clerk_id(conn, clerk_id).await? else {
        // The tombstone is recorded: a late user.created / membership will not recreate them.
        return Ok(Outcome::processed(None));
    };
    identity::delete_all_clinic_access(conn, user_id).await?;
    // Kept when anything references it (invitations it sent or accepted, access it granted,
    // cases it created, …).
    if !identity::delete_user_unless_referenced(conn, user_id).await? {
        tracing::info!(%user_id, clerk_user_id = clerk_id, "deleted Clerk user kept: still referenced");
    }
    Ok(Outcome::processed(None))
}
