//! Clerk events → `users`, `clinics`, `user_clinic_access`, `clinic_invitations`.
//!
//! | event | effect |
//! |---|---|
//! | `user.created` / `user.updated` | upsert `users` by `clerk_user_id`; claim a placeholder row (see below) with the same email |
//! | `user.deleted` | delete the user's `user_clinic_access` rows; delete the `users` row unless something references it |
//! | `organization.created` / `.updated` | upsert `clinics` by `clerk_org_id` (name, slug, logo only), name/slug made unique |
//! | `organization.deleted` | `clinics.is_active = false` |
//! | `organizationMembership.created` / `.updated` | upsert `user_clinic_access` (role mapped); creates a missing clinic from the embedded organization and a missing user from `public_user_data` |
//! | `organizationMembership.deleted` | delete that `user_clinic_access` row |
//! | `organizationInvitation.created` / `.accepted` / `.revoked` | upsert `clinic_invitations` by (clinic, email): `pending` / `accepted` / `expired` |
//! | anything else | `skipped` |
//!
//! **Ordering.** Svix delivers at least once and out of order. Before writing, every event is
//! admitted against `clerk_sync_state` (migration `…040_clerk_sync_state.sql`): the last Clerk
//! `updated_at` (ms) applied per object, plus a tombstone after a deletion. An event older than
//! what was applied, or about a deleted user/organization, is `skipped` with a note and writes
//! nothing. Admission row-locks the object's state row for the rest of the transaction, so two
//! events about one object never interleave. Equal versions are admitted again: re-processing the
//! same event (replay, retry) rewrites the same values.
//!
//! **Pre-existing users.** The spec makes `users.clerk_user_id` `NOT NULL UNIQUE`, so "a row with
//! no Clerk id" (the old system's Supabase-auth users) cannot exist literally. Its realistic
//! equivalent is a row created before its owner had a Clerk account (data migration, staff added
//! by an operator): such rows must carry a placeholder id starting with [`PLACEHOLDER_PREFIX`]
//! (`pending:<anything unique>`). A Clerk user whose primary email matches such a row
//! (case-insensitively) claims it, keeping its id and every reference to it. Rows with another
//! *real* Clerk id are never merged by email: that would hand one account's data to another
//! account that happens to register the same address. This worker never creates placeholders.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::inbox::{EventStatus, Outcome, ProcessError, StoredEvent};
use crate::state::AppState;

/// Prefix of `users.clerk_user_id` for a row whose owner has no Clerk account yet.
pub const PLACEHOLDER_PREFIX: &str = "pending:";

/// Gives up finding a free clinic name/slug after this many candidates (only reachable if
/// dozens of clinics share one name, or under a pathological race).
const MAX_NAME_CANDIDATES: usize = 50;

pub async fn process(
    conn: &mut PgConnection,
    _state: &AppState,
    event: &StoredEvent,
) -> Result<Outcome, ProcessError> {
    let v = event.json()?;
    if !v.is_object() {
        return Err(ProcessError::invalid("body", "not a JSON object"));
    }
    let t = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ProcessError::invalid("type", "missing"))?;
    if !HANDLED.contains(&t) {
        return Ok(Outcome::skipped(format!("event type {t} not handled")));
    }
    let data = v
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| ProcessError::invalid("data", "missing or not an object"))?;
    // Event time in ms: the version of a deletion, whose payload has no `updated_at`.
    let ts = v.get("timestamp").and_then(Value::as_i64);
    match t {
        "user.created" | "user.updated" => user_upsert(conn, data, ts).await,
        "user.deleted" => user_deleted(conn, data, ts).await,
        "organization.created" | "organization.updated" => org_upsert(conn, data, ts).await,
        "organization.deleted" => org_deleted(conn, data, ts).await,
        "organizationMembership.created" | "organizationMembership.updated" => {
            membership_upsert(conn, data, ts).await
        }
        "organizationMembership.deleted" => membership_deleted(conn, data, ts).await,
        "organizationInvitation.created" => {
            invitation(conn, data, ts, InvitationEvent::Created).await
        }
        "organizationInvitation.accepted" => {
            invitation(conn, data, ts, InvitationEvent::Accepted).await
        }
        "organizationInvitation.revoked" => {
            invitation(conn, data, ts, InvitationEvent::Revoked).await
        }
        other => Ok(Outcome::skipped(format!("event type {other} not handled"))),
    }
}

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

// ---------------------------------------------------------------------------------------------
// Payload helpers

/// A non-empty string field (Clerk sends `""` and `null` interchangeably for "not set").
fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn req_str<'a>(v: &'a Value, key: &str, field: &str) -> Result<&'a str, ProcessError> {
    opt_str(v, key).ok_or_else(|| ProcessError::invalid(field, "missing or empty"))
}

/// The version a deletion is recorded at: deleted objects carry no `updated_at` in practice, so
/// the event time, else 0 (user and organization deletions are final whatever the version).
fn deletion_version(data: &Value, ts: Option<i64>) -> i64 {
    data.get("updated_at")
        .and_then(Value::as_i64)
        .or(ts)
        .unwrap_or(0)
}

/// The version of an object snapshot: its `updated_at`, else the event time.
fn version(data: &Value, ts: Option<i64>) -> Result<i64, ProcessError> {
    data.get("updated_at")
        .and_then(Value::as_i64)
        .or(ts)
        .ok_or_else(|| ProcessError::invalid("data.updated_at", "missing (and no event timestamp)"))
}

fn ms_to_time(ms: i64, field: &str) -> Result<DateTime<Utc>, ProcessError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| ProcessError::invalid(field, "timestamp out of range"))
}

fn is_sql_state(e: &sqlx::Error, code: &str) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == code)
}

const FOREIGN_KEY_VIOLATION: &str = "23503";
const UNIQUE_VIOLATION: &str = "23505";

fn skipped_with(clinic_id: Option<Uuid>, note: impl Into<String>) -> Outcome {
    Outcome {
        status: EventStatus::Skipped,
        clinic_id,
        note: Some(note.into()),
    }
}

/// Clerk role → the spec's roles (`owner`, `admin`, `member`, `viewer`).
///
/// Known values follow behavior.md §5; `org:veterinarian` becomes `member` because the spec has
/// no veterinarian access role (clinical role lives in `users.role` / `providers`). Anything
/// unknown (a custom `org:<key>` role) gets the lowest privilege, `viewer`, instead of the old
/// system's `member`: granting write access to a role we know nothing about is the unsafe default.
pub fn map_role(role: &str) -> &'static str {
    match role.trim().to_ascii_lowercase().as_str() {
        "org:owner" | "owner" => "owner",
        "org:admin" | "admin" => "admin",
        "org:member" | "member" | "basic_member" | "org:veterinarian" | "veterinarian" => "member",
        _ => "viewer",
    }
}

// ---------------------------------------------------------------------------------------------
// Ordering gate (clerk_sync_state)

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    User,
    Organization,
    Membership,
    Invitation,
}

impl Kind {
    fn as_str(self) -> &'static str {
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
    fn resurrectable(self) -> bool {
        matches!(self, Self::Membership)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admission {
    Apply,
    /// An equal-or-newer version was already applied (or, for a deletion, a newer object exists).
    Stale {
        last: i64,
    },
    /// The object is deleted and this event may not bring it back.
    Deleted,
}

async fn admit(
    conn: &mut PgConnection,
    kind: Kind,
    clerk_id: &str,
    version: i64,
    deleting: bool,
) -> Result<Admission, sqlx::Error> {
    // One statement decides and records, so concurrent events cannot both pass a check and then
    // write in the wrong order; ON CONFLICT locks the row even when the WHERE rejects the update.
    let admitted: Option<bool> = sqlx::query_scalar(
        "INSERT INTO clerk_sync_state AS s (object_type, clerk_id, last_updated_at_ms, deleted)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (object_type, clerk_id) DO UPDATE
         SET last_updated_at_ms = GREATEST(s.last_updated_at_ms, EXCLUDED.last_updated_at_ms),
             deleted = EXCLUDED.deleted,
             updated_at = now()
         WHERE CASE
           WHEN EXCLUDED.deleted THEN
             -- final deletions always win; a membership deletion only over older state
             (NOT $5 OR s.last_updated_at_ms <= EXCLUDED.last_updated_at_ms)
           WHEN s.deleted THEN
             ($5 AND s.last_updated_at_ms < EXCLUDED.last_updated_at_ms)
           ELSE s.last_updated_at_ms <= EXCLUDED.last_updated_at_ms
         END
         RETURNING true",
    )
    .bind(kind.as_str())
    .bind(clerk_id)
    .bind(version)
    .bind(deleting)
    .bind(kind.resurrectable())
    .fetch_optional(&mut *conn)
    .await?;
    if admitted.is_some() {
        return Ok(Admission::Apply);
    }
    let (last, deleted): (i64, bool) = sqlx::query_as(
        "SELECT last_updated_at_ms, deleted FROM clerk_sync_state
         WHERE object_type = $1 AND clerk_id = $2",
    )
    .bind(kind.as_str())
    .bind(clerk_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(if deleted && !deleting {
        Admission::Deleted
    } else {
        Admission::Stale { last }
    })
}

/// Whether an object has a tombstone that events about *other* objects must respect (a late
/// membership must not recreate a deleted user or organization).
async fn is_deleted(
    conn: &mut PgConnection,
    kind: Kind,
    clerk_id: &str,
) -> Result<bool, sqlx::Error> {
    let deleted: Option<bool> = sqlx::query_scalar(
        "SELECT deleted FROM clerk_sync_state WHERE object_type = $1 AND clerk_id = $2",
    )
    .bind(kind.as_str())
    .bind(clerk_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(deleted.unwrap_or(false))
}

fn stale_note(what: &str, id: &str, version: i64, a: Admission) -> String {
    match a {
        Admission::Stale { last } => {
            format!("stale: {what} {id} version {version} is older than applied version {last}")
        }
        _ => format!("{what} {id} was deleted; event ignored"),
    }
}

// ---------------------------------------------------------------------------------------------
// Users

/// The primary email: the `email_addresses` entry whose id is `primary_email_address_id`, else
/// the first address (a payload whose primary id points nowhere still names the person).
fn primary_email(data: &Value) -> Option<String> {
    let list = data.get("email_addresses").and_then(Value::as_array)?;
    let primary_id = opt_str(data, "primary_email_address_id");
    let pick = |e: &&Value| primary_id.is_some() && opt_str(e, "id") == primary_id;
    list.iter()
        .find(pick)
        .or_else(|| list.first())
        .and_then(|e| opt_str(e, "email_address"))
        .map(str::to_string)
}

struct UserFields<'a> {
    clerk_id: &'a str,
    email: Option<String>,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    avatar_url: Option<&'a str>,
}

/// Claims a placeholder row (see the module doc) with this email; Clerk's values fill only what
/// the placeholder lacks, since an operator may have entered a better name.
async fn claim_placeholder(
    conn: &mut PgConnection,
    u: &UserFields<'_>,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE users
         SET clerk_user_id = $1, email = $2,
             first_name = COALESCE(first_name, $3), last_name = COALESCE(last_name, $4),
             avatar_url = COALESCE(avatar_url, $5)
         WHERE id = (
           SELECT id FROM users
           WHERE starts_with(clerk_user_id, $6) AND lower(email) = lower($2)
           ORDER BY created_at, id
           LIMIT 1
           FOR UPDATE
         )
         RETURNING id",
    )
    .bind(u.clerk_id)
    .bind(email)
    .bind(u.first_name)
    .bind(u.last_name)
    .bind(u.avatar_url)
    .bind(PLACEHOLDER_PREFIX)
    .fetch_optional(&mut *conn)
    .await
}

async fn user_upsert(
    conn: &mut PgConnection,
    data: &Value,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let clerk_id = req_str(data, "id", "data.id")?;
    let v = version(data, ts)?;
    let a = admit(conn, Kind::User, clerk_id, v, false).await?;
    if a != Admission::Apply {
        return Ok(Outcome::skipped(stale_note("user", clerk_id, v, a)));
    }
    let u = UserFields {
        clerk_id,
        email: primary_email(data),
        first_name: opt_str(data, "first_name"),
        last_name: opt_str(data, "last_name"),
        avatar_url: opt_str(data, "image_url"),
    };
    // user.* events carry the whole user: names and image are set as sent (null = cleared).
    let updated: Option<Uuid> = sqlx::query_scalar(
        "UPDATE users SET email = COALESCE($2, email), first_name = $3, last_name = $4, avatar_url = $5
         WHERE clerk_user_id = $1 RETURNING id",
    )
    .bind(u.clerk_id)
    .bind(&u.email)
    .bind(u.first_name)
    .bind(u.last_name)
    .bind(u.avatar_url)
    .fetch_optional(&mut *conn)
    .await?;
    if updated.is_some() {
        return Ok(Outcome::processed(None));
    }
    let Some(email) = u.email.as_deref() else {
        // users.email is NOT NULL: a phone-only Clerk user cannot have a row yet. A later
        // user.updated that adds an address creates it.
        return Ok(Outcome::skipped(format!(
            "user {clerk_id} has no email address; users.email is required"
        )));
    };
    if claim_placeholder(conn, &u, email).await?.is_some() {
        return Ok(Outcome::processed(None));
    }
    // ON CONFLICT: a membership event may create the same user concurrently from public_user_data.
    sqlx::query(
        "INSERT INTO users (clerk_user_id, email, first_name, last_name, avatar_url)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (clerk_user_id) DO UPDATE
         SET email = EXCLUDED.email, first_name = EXCLUDED.first_name,
             last_name = EXCLUDED.last_name, avatar_url = EXCLUDED.avatar_url",
    )
    .bind(u.clerk_id)
    .bind(email)
    .bind(u.first_name)
    .bind(u.last_name)
    .bind(u.avatar_url)
    .execute(&mut *conn)
    .await?;
    Ok(Outcome::processed(None))
}

/// The users row for a Clerk user that a membership or invitation names, created from the
/// partial data those events carry when `user.created` has not arrived yet. Existing rows are
/// left alone: only user.* events are authoritative for profile fields. `None` without an email.
async fn ensure_user(
    conn: &mut PgConnection,
    u: &UserFields<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let existing: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE clerk_user_id = $1")
            .bind(u.clerk_id)
            .fetch_optional(&mut *conn)
            .await?;
    if existing.is_some() {
        return Ok(existing);
    }
    let Some(email) = u.email.as_deref() else {
        return Ok(None);
    };
    if let Some(id) = claim_placeholder(conn, u, email).await? {
        return Ok(Some(id));
    }
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO users (clerk_user_id, email, first_name, last_name, avatar_url)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (clerk_user_id) DO NOTHING
         RETURNING id",
    )
    .bind(u.clerk_id)
    .bind(email)
    .bind(u.first_name)
    .bind(u.last_name)
    .bind(u.avatar_url)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => Ok(Some(id)),
        // lost a race with a concurrent insert of the same user
        None => {
            sqlx::query_scalar("SELECT id FROM users WHERE clerk_user_id = $1")
                .bind(u.clerk_id)
                .fetch_optional(&mut *conn)
                .await
        }
    }
}

async fn user_deleted(
    conn: &mut PgConnection,
    data: &Value,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let clerk_id = req_str(data, "id", "data.id")?;
    // A deleted object has no updated_at; a user's deletion is final, so the version only
    // matters as a record.
    admit(conn, Kind::User, clerk_id, deletion_version(data, ts), true).await?;
    // FOR UPDATE: memberships lock the users row before adding access, so none can slip in
    // between the access cleanup below and the end of this transaction.
    let user_id: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE clerk_user_id = $1 FOR UPDATE")
            .bind(clerk_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(user_id) = user_id else {
        // The tombstone is recorded: a late user.created / membership will not recreate them.
        return Ok(Outcome::processed(None));
    };
    sqlx::query("DELETE FROM user_clinic_access WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    // Delete the row unless anything references it (invitations it sent or accepted, access it
    // granted, cases it created, …). Trying is the one check that stays right when tables are
    // added; the savepoint confines the FK error so the transaction can go on.
    sqlx::query("SAVEPOINT clerk_user_delete")
        .execute(&mut *conn)
        .await?;
    match sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
    {
        Ok(_) => {}
        Err(e) if is_sql_state(&e, FOREIGN_KEY_VIOLATION) => {
            sqlx::query("ROLLBACK TO SAVEPOINT clerk_user_delete")
                .execute(&mut *conn)
                .await?;
            tracing::info!(%user_id, clerk_user_id = clerk_id, "deleted Clerk user kept: still referenced");
        }
        Err(e) => return Err(e.into()),
    }
    sqlx::query("RELEASE SAVEPOINT clerk_user_delete")
        .execute(&mut *conn)
        .await?;
    Ok(Outcome::processed(None))
}

// ---------------------------------------------------------------------------------------------
// Organizations → clinics

struct OrgFields<'a> {
    clerk_id: &'a str,
    name: &'a str,
    slug: Option<&'a str>,
    /// Only an uploaded image: Clerk's generated default image is not a clinic logo.
    logo_url: Option<&'a str>,
}

fn org_fields<'a>(org: &'a Value, prefix: &str) -> Result<OrgFields<'a>, ProcessError> {
    let has_image = org.get("has_image").and_then(Value::as_bool);
    Ok(OrgFields {
        clerk_id: req_str(org, "id", &format!("{prefix}.id"))?,
        name: req_str(org, "name", &format!("{prefix}.name"))?,
        slug: opt_str(org, "slug"),
        logo_url: if has_image == Some(false) {
            None
        } else {
            opt_str(org, "image_url")
        },
    })
}

/// Lowercase ASCII letters and digits separated by single dashes.
pub fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Six hex digits of SHA-256(org id): a suffix that is stable for an organization and different
/// between organizations, so two orgs both called "Sunset Vet" always get the same two names.
pub fn short_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
        .chars()
        .take(6)
        .collect()
}

/// The `i`-th (name, slug) candidate for an organization: the names it asked for, then with the
/// stable hash suffix, then with the suffix and a counter.
pub fn name_candidate(name: &str, slug: &str, org_id: &str, i: usize) -> (String, String) {
    let h = short_hash(org_id);
    match i {
        0 => (name.to_string(), slug.to_string()),
        1 => (format!("{name} ({h})"), format!("{slug}-{h}")),
        n => (format!("{name} ({h}-{n})"), format!("{slug}-{h}-{n}")),
    }
}

/// Writes the clinic of an organization and returns its id. With `overwrite = false` an
/// existing clinic is returned untouched (the caller only has a partial or older snapshot).
/// Only name, slug and logo are written: timezone, phone, billing, `is_active`, `pims_type`, …
/// are not carried by Clerk and stay as they are (the old system reset some of them).
async fn write_clinic(
    conn: &mut PgConnection,
    f: &OrgFields<'_>,
    overwrite: bool,
) -> Result<Uuid, ProcessError> {
    let mut existing: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM clinics WHERE clerk_org_id = $1 FOR UPDATE")
            .bind(f.clerk_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let (Some(id), false) = (existing, overwrite) {
        return Ok(id);
    }
    let base_slug = match f.slug.map(slugify).filter(|s| !s.is_empty()) {
        Some(s) => s,
        None => {
            let s = slugify(f.name);
            if s.is_empty() {
                "clinic".to_string()
            } else {
                s
            }
        }
    };
    let mut i = 0;
    for _attempt in 0..MAX_NAME_CANDIDATES {
        let (name, slug) = name_candidate(f.name, &base_slug, f.clerk_id, i);
        let taken: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM clinics
                            WHERE (name = $1 OR slug = $2) AND clerk_org_id IS DISTINCT FROM $3)",
        )
        .bind(&name)
        .bind(&slug)
        .bind(f.clerk_id)
        .fetch_one(&mut *conn)
        .await?;
        if taken {
            i += 1;
            continue;
        }
        // The check above can race with another transaction; the savepoint turns its unique
        // violation into "try again" instead of failing the whole event.
        sqlx::query("SAVEPOINT clerk_clinic_write")
            .execute(&mut *conn)
            .await?;
        let written: Result<Uuid, sqlx::Error> = match existing {
            Some(id) => {
                sqlx::query_scalar(
                    "UPDATE clinics SET name = $2, slug = $3, logo_url = COALESCE($4, logo_url)
                     WHERE id = $1 RETURNING id",
                )
                .bind(id)
                .bind(&name)
                .bind(&slug)
                .bind(f.logo_url)
                .fetch_one(&mut *conn)
                .await
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO clinics (clerk_org_id, name, slug, logo_url)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(f.clerk_id)
                .bind(&name)
                .bind(&slug)
                .bind(f.logo_url)
                .fetch_one(&mut *conn)
                .await
            }
        };
        match written {
            Ok(id) => {
                sqlx::query("RELEASE SAVEPOINT clerk_clinic_write")
                    .execute(&mut *conn)
                    .await?;
                return Ok(id);
            }
            Err(e) if is_sql_state(&e, UNIQUE_VIOLATION) => {
                sqlx::query("ROLLBACK TO SAVEPOINT clerk_clinic_write")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("RELEASE SAVEPOINT clerk_clinic_write")
                    .execute(&mut *conn)
                    .await?;
                if existing.is_none() {
                    // maybe the same organization was inserted concurrently
                    existing = sqlx::query_scalar(
                        "SELECT id FROM clinics WHERE clerk_org_id = $1 FOR UPDATE",
                    )
                    .bind(f.clerk_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    if let (Some(id), false) = (existing, overwrite) {
                        return Ok(id);
                    }
                    if existing.is_some() {
                        continue; // retry the same candidate as an update
                    }
                }
                i += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ProcessError::Other(format!(
        "no free clinic name/slug for organization {} after {MAX_NAME_CANDIDATES} candidates",
        f.clerk_id
    )))
}

enum OrgApplied {
    Applied(Uuid),
    Stale(Option<Uuid>, Admission),
    Deleted(Option<Uuid>),
}

async fn clinic_by_org(conn: &mut PgConnection, org_id: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM clinics WHERE clerk_org_id = $1")
        .bind(org_id)
        .fetch_optional(&mut *conn)
        .await
}

/// An organization snapshot (from organization.* or embedded in a membership) through the gate.
async fn apply_org(
    conn: &mut PgConnection,
    f: &OrgFields<'_>,
    v: i64,
) -> Result<OrgApplied, ProcessError> {
    match admit(conn, Kind::Organization, f.clerk_id, v, false).await? {
        Admission::Apply => Ok(OrgApplied::Applied(write_clinic(conn, f, true).await?)),
        Admission::Deleted => Ok(OrgApplied::Deleted(clinic_by_org(conn, f.clerk_id).await?)),
        a @ Admission::Stale { .. } => {
            Ok(OrgApplied::Stale(clinic_by_org(conn, f.clerk_id).await?, a))
        }
    }
}

async fn org_upsert(
    conn: &mut PgConnection,
    data: &Value,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let f = org_fields(data, "data")?;
    let v = version(data, ts)?;
    Ok(match apply_org(conn, &f, v).await? {
        OrgApplied::Applied(id) => Outcome::processed(Some(id)),
        OrgApplied::Stale(id, a) => skipped_with(id, stale_note("organization", f.clerk_id, v, a)),
        OrgApplied::Deleted(id) => skipped_with(
            id,
            stale_note("organization", f.clerk_id, v, Admission::Deleted),
        ),
    })
}

async fn org_deleted(
    conn: &mut PgConnection,
    data: &Value,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let org_id = req_str(data, "id", "data.id")?;
    let v = deletion_version(data, ts);
    admit(conn, Kind::Organization, org_id, v, true).await?;
    // Deactivated, not deleted: the clinic's calls, cases and billing history stay.
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE clinics SET is_active = false WHERE clerk_org_id = $1 RETURNING id",
    )
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Outcome::processed(id))
}

// ---------------------------------------------------------------------------------------------
// Memberships → user_clinic_access

struct MembershipRef<'a> {
    org: &'a Value,
    org_id: &'a str,
    user: &'a Value,
    user_clerk_id: &'a str,
}

impl MembershipRef<'_> {
    fn key(&self) -> String {
        format!("{}:{}", self.org_id, self.user_clerk_id)
    }
}

fn membership_ref(data: &Value) -> Result<MembershipRef<'_>, ProcessError> {
    let org = data
        .get("organization")
        .filter(|o| o.is_object())
        .ok_or_else(|| ProcessError::invalid("data.organization", "missing or not an object"))?;
    let user = data
        .get("public_user_data")
        .filter(|o| o.is_object())
        .ok_or_else(|| {
            ProcessError::invalid("data.public_user_data", "missing or not an object")
        })?;
    Ok(MembershipRef {
        org,
        org_id: req_str(org, "id", "data.organization.id")?,
        user,
        user_clerk_id: req_str(user, "user_id", "data.public_user_data.user_id")?,
    })
}

async fn membership_upsert(
    conn: &mut PgConnection,
    data: &Value,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let m = membership_ref(data)?;
    let role = map_role(req_str(data, "role", "data.role")?);
    let org = org_fields(m.org, "data.organization")?;
    let v = version(data, ts)?;
    let key = m.key();
    let a = admit(conn, Kind::Membership, &key, v, false).await?;
    if a != Admission::Apply {
        return Ok(Outcome::skipped(stale_note("membership", &key, v, a)));
    }
    // The embedded organization is a full snapshot with its own updated_at: applying it through
    // the organization gate creates a missing clinic and never rolls a newer one back.
    let org_v = m.org.get("updated_at").and_then(Value::as_i64).unwrap_or(v);
    let clinic_id = match apply_org(conn, &org, org_v).await? {
        OrgApplied::Applied(id) | OrgApplied::Stale(Some(id), _) => id,
        // state says newer but the row is gone (removed by hand): recreate, don't overwrite
        OrgApplied::Stale(None, _) => write_clinic(conn, &org, false).await?,
        OrgApplied::Deleted(id) => {
            return Ok(skipped_with(
                id,
                format!("organization {} was deleted; membership ignored", m.org_id),
            ))
        }
    };
    if is_deleted(conn, Kind::User, m.user_clerk_id).await? {
        return Ok(skipped_with(
            Some(clinic_id),
            format!("user {} was deleted; membership ignored", m.user_clerk_id),
        ));
    }
    // `identifier` is the sign-in identifier: usually the email, but it can be a phone number
    // or username, which must not land in users.email.
    let email = opt_str(m.user, "identifier")
        .filter(|s| s.contains('@'))
        .map(str::to_string);
    let u = UserFields {
        clerk_id: m.user_clerk_id,
        email,
        first_name: opt_str(m.user, "first_name"),
        last_name: opt_str(m.user, "last_name"),
        avatar_url: opt_str(m.user, "image_url"),
    };
    let Some(user_id) = ensure_user(conn, &u).await? else {
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
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    if is_deleted(conn, Kind::User, m.user_clerk_id).await? {
        // user.deleted committed while we waited for the lock: roll back (including a users row
        // ensure_user may just have created) and let the retry skip the event cleanly.
        return Err(ProcessError::Other(format!(
            "user {} was deleted concurrently; retrying",
            m.user_clerk_id
        )));
    }
    // An update changes the role only: is_primary is the user's choice once set.
    sqlx::query(
        "INSERT INTO user_clinic_access (user_id, clinic_id, role, is_primary)
         VALUES ($1, $2, $3, NOT EXISTS (SELECT 1 FROM user_clinic_access WHERE user_id = $1))
         ON CONFLICT (user_id, clinic_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(user_id)
    .bind(clinic_id)
    .bind(role)
    .execute(&mut *conn)
    .await?;
    Ok(Outcome::processed(Some(clinic_id)))
}

async fn membership_deleted(
    conn: &mut PgConnection,
    data: &Value,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let m = membership_ref(data)?;
    // The deletion happened at the event time, which is after the membership's last update:
    // the tombstone must outrank every earlier snapshot, including one with the same updated_at.
    let v = match (data.get("updated_at").and_then(Value::as_i64), ts) {
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
    let clinic_id = clinic_by_org(conn, m.org_id).await?;
    if a != Admission::Apply {
        return Ok(skipped_with(
            clinic_id,
            stale_note("membership", &key, v, a),
        ));
    }
    let user_id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE clerk_user_id = $1")
        .bind(m.user_clerk_id)
        .fetch_optional(&mut *conn)
        .await?;
    let (Some(clinic), Some(user_id)) = (clinic_id, user_id) else {
        // Nothing to remove; the tombstone keeps a late created event from adding it.
        return Ok(Outcome::processed(clinic_id));
    };
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let was_primary: Option<Option<bool>> = sqlx::query_scalar(
        "DELETE FROM user_clinic_access WHERE user_id = $1 AND clinic_id = $2 RETURNING is_primary",
    )
    .bind(user_id)
    .bind(clinic)
    .fetch_optional(&mut *conn)
    .await?;
    if was_primary.flatten() == Some(true) {
        // Keep "one primary clinic" true for users who still have others: the oldest one.
        sqlx::query(
            "UPDATE user_clinic_access SET is_primary = true
             WHERE id = (SELECT id FROM user_clinic_access WHERE user_id = $1
                         ORDER BY granted_at, created_at, id LIMIT 1)",
        )
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Outcome::processed(Some(clinic)))
}

// ---------------------------------------------------------------------------------------------
// Invitations → clinic_invitations

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InvitationEvent {
    Created,
    Accepted,
    Revoked,
}

/// The spec's invitation statuses are `pending`, `accepted`, `expired`; the issue says the spec's
/// status values win. A revoked invitation is, for every consumer, an invitation that can no
/// longer be used, so it is stored as `expired` with `expires_at` moved to the revocation time
/// (the row stays self-consistent: expired means "expires_at has passed").
fn invitation_status(kind: InvitationEvent, data: &Value) -> &'static str {
    match kind {
        InvitationEvent::Accepted => "accepted",
        InvitationEvent::Revoked => "expired",
        InvitationEvent::Created => match opt_str(data, "status") {
            Some("accepted") => "accepted",
            Some("revoked") | Some("expired") => "expired",
            _ => "pending",
        },
    }
}

async fn invitation(
    conn: &mut PgConnection,
    data: &Value,
    ts: Option<i64>,
    kind: InvitationEvent,
) -> Result<Outcome, ProcessError> {
    req_str(data, "id", "data.id")?;
    let email = req_str(data, "email_address", "data.email_address")?;
    let public_org = data
        .get("public_organization_data")
        .filter(|o| o.is_object());
    let org_id = opt_str(data, "organization_id")
        .or_else(|| public_org.and_then(|o| opt_str(o, "id")))
        .ok_or_else(|| ProcessError::invalid("data.organization_id", "missing or empty"))?;
    let role = map_role(opt_str(data, "role").unwrap_or("org:member"));
    let status = invitation_status(kind, data);
    let v = version(data, ts)?;
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
    let clinic_id = match clinic_by_org(conn, org_id).await? {
        Some(id) => id,
        // Created before organization.created arrived: public_organization_data has the name.
        None => match public_org.map(|o| org_fields(o, "data.public_organization_data")) {
            Some(Ok(f)) if f.clerk_id == org_id => write_clinic(conn, &f, false).await?,
            _ => {
                return Ok(Outcome::unmatched(format!(
                    "no clinic for organization {org_id}; replay after organization.created"
                )))
            }
        },
    };
    let changed_at = ms_to_time(v, "data.updated_at")?;
    let mut expires_at = match data.get("expires_at").and_then(Value::as_i64) {
        Some(ms) => Some(ms_to_time(ms, "data.expires_at")?),
        None => None,
    };
    if kind == InvitationEvent::Revoked {
        expires_at = Some(expires_at.map_or(changed_at, |e| e.min(changed_at)));
    }
    let (accepted_at, accepted_by) = if status == "accepted" {
        let by = match opt_str(data, "user_id") {
            Some(uid) => {
                // A deleted user's row may still exist (kept because it is referenced, e.g. by
                // this very invitation): reference it, but never recreate a deleted user.
                let existing: Option<Uuid> =
                    sqlx::query_scalar("SELECT id FROM users WHERE clerk_user_id = $1")
                        .bind(uid)
                        .fetch_optional(&mut *conn)
                        .await?;
                match existing {
                    Some(id) => Some(id),
                    None if is_deleted(conn, Kind::User, uid).await? => None,
                    None => {
                        // The invitation's address is the accepting user's email in Clerk.
                        let u = UserFields {
                            clerk_id: uid,
                            email: Some(email.to_string()),
                            first_name: None,
                            last_name: None,
                            avatar_url: None,
                        };
                        ensure_user(conn, &u).await?
                    }
                }
            }
            None => None,
        };
        (Some(changed_at), by)
    } else {
        (None, None)
    };
    // pending = a (new) invitation: no acceptance yet; expired keeps any earlier acceptance record.
    let keep_acceptance = status == "expired";
    let existing: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM clinic_invitations WHERE clinic_id = $1 AND lower(email) = lower($2)
         ORDER BY (email = $2) DESC, created_at LIMIT 1 FOR UPDATE",
    )
    .bind(clinic_id)
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    // Both statements bind the same eight parameters ($1 = row id or clinic id) so the SET list
    // is written once (a macro keeps the SQL a static string).
    macro_rules! set_list {
        () => {
            "role = $3, status = $4,
             expires_at = COALESCE($5, clinic_invitations.expires_at),
             accepted_at = CASE WHEN $8 THEN clinic_invitations.accepted_at ELSE $6 END,
             accepted_by = CASE WHEN $8 THEN clinic_invitations.accepted_by ELSE $7 END"
        };
    }
    let (target, sql): (Uuid, &'static str) = match existing {
        // matched case-insensitively: keep the row (and its token), whatever case it was stored in
        Some(id) => (
            id,
            concat!(
                "UPDATE clinic_invitations SET ",
                set_list!(),
                " WHERE id = $1 AND $2::text IS NOT NULL"
            ),
        ),
        // ON CONFLICT: the same address invited concurrently by another event
        None => (
            clinic_id,
            concat!(
                "INSERT INTO clinic_invitations
                   (clinic_id, email, role, status, expires_at, accepted_at, accepted_by)
                 VALUES ($1, $2, $3, $4, COALESCE($5, now() + interval '7 days'), $6, $7)
                 ON CONFLICT (clinic_id, email) DO UPDATE SET ",
                set_list!()
            ),
        ),
    };
    sqlx::query(sql)
        .bind(target)
        .bind(email)
        .bind(role)
        .bind(status)
        .bind(expires_at)
        .bind(accepted_at)
        .bind(accepted_by)
        .bind(keep_acceptance)
        .execute(&mut *conn)
        .await?;
    Ok(Outcome::processed(Some(clinic_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_the_spec_roles_with_unknown_as_viewer() {
        assert_eq!(map_role("org:admin"), "admin");
        assert_eq!(map_role("admin"), "admin");
        assert_eq!(map_role("org:owner"), "owner");
        assert_eq!(map_role("org:member"), "member");
        assert_eq!(map_role("basic_member"), "member");
        assert_eq!(map_role("org:veterinarian"), "member");
        assert_eq!(map_role("org:viewer"), "viewer");
        assert_eq!(map_role("org:front_desk"), "viewer");
        assert_eq!(map_role(""), "viewer");
    }

    #[test]
    fn slugs_and_candidates_are_deterministic() {
        assert_eq!(
            slugify("Sunset Animal Hospital & ER"),
            "sunset-animal-hospital-er"
        );
        assert_eq!(slugify("--Déjà  Vu--"), "d-j-vu");
        assert_eq!(slugify("!!!"), "");
        let h = short_hash("org_a");
        assert_eq!(h.len(), 6);
        assert_eq!(h, short_hash("org_a"));
        assert_ne!(h, short_hash("org_b"));
        assert_eq!(
            name_candidate("Vet", "vet", "org_a", 0),
            ("Vet".into(), "vet".into())
        );
        assert_eq!(
            name_candidate("Vet", "vet", "org_a", 1),
            (format!("Vet ({h})"), format!("vet-{h}"))
        );
        assert_eq!(
            name_candidate("Vet", "vet", "org_a", 2),
            (format!("Vet ({h}-2)"), format!("vet-{h}-2"))
        );
    }

    #[test]
    fn primary_email_follows_the_primary_id() {
        let d = serde_json::json!({
            "primary_email_address_id": "idn_2",
            "email_addresses": [
                {"id": "idn_1", "email_address": "old@example.com"},
                {"id": "idn_2", "email_address": "new@example.com"}
            ]
        });
        assert_eq!(primary_email(&d).as_deref(), Some("new@example.com"));
        let d = serde_json::json!({"primary_email_address_id": null,
            "email_addresses": [{"id": "idn_1", "email_address": "a@example.com"}]});
        assert_eq!(primary_email(&d).as_deref(), Some("a@example.com"));
        assert_eq!(
            primary_email(&serde_json::json!({"email_addresses": []})),
            None
        );
    }
}
