//! Clerk-synced identity: `users`, `user_clinic_access`, `clinic_invitations`, `clerk_sync_state`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

// --- clerk (webhooks/clerk) ---

/// SQLSTATE of a foreign-key violation.
pub const FOREIGN_KEY_VIOLATION: &str = "23503";
/// SQLSTATE of a unique violation.
pub const UNIQUE_VIOLATION: &str = "23505";

/// Whether `e` is a database error with SQLSTATE `code`.
pub fn is_sql_state(e: &sqlx::Error, code: &str) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == code)
}

/// One version of one Clerk object asking to be applied (`docs/behaviour.md#clerk`).
#[derive(Clone, Copy, Debug)]
pub struct SyncAdmission<'a> {
    /// `clerk_sync_state.object_type`.
    pub object_type: &'a str,
    pub clerk_id: &'a str,
    /// Clerk's `updated_at` (ms) of the snapshot, or the deletion's version.
    pub version: i64,
    pub deleting: bool,
    /// Whether a strictly newer upsert may bring the object back after a deletion.
    pub resurrectable: bool,
}

/// Records `a` in `clerk_sync_state` when the ordering rules admit it; `true` when admitted.
/// Either way the state row is locked until the transaction ends.
pub async fn admit_sync_version(
    conn: &mut PgConnection,
    a: &SyncAdmission<'_>,
) -> Result<bool, sqlx::Error> {
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
    .bind(a.object_type)
    .bind(a.clerk_id)
    .bind(a.version)
    .bind(a.deleting)
    .bind(a.resurrectable)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(admitted.is_some())
}

/// A `clerk_sync_state` row.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct SyncState {
    pub last_updated_at_ms: i64,
    pub deleted: bool,
}

pub async fn sync_state(
    conn: &mut PgConnection,
    object_type: &str,
    clerk_id: &str,
) -> Result<Option<SyncState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT last_updated_at_ms, deleted FROM clerk_sync_state
         WHERE object_type = $1 AND clerk_id = $2",
    )
    .bind(object_type)
    .bind(clerk_id)
    .fetch_optional(&mut *conn)
    .await
}

/// A Clerk user's profile as an event carries it.
#[derive(Clone, Copy, Debug)]
pub struct ClerkUser<'a> {
    pub clerk_id: &'a str,
    pub email: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub avatar_url: Option<&'a str>,
}

pub async fn user_id_by_clerk_id(
    conn: &mut PgConnection,
    clerk_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE clerk_user_id = $1")
        .bind(clerk_id)
        .fetch_optional(&mut *conn)
        .await
}

/// The user's id, row-locked until the transaction ends.
pub async fn lock_user_by_clerk_id(
    conn: &mut PgConnection,
    clerk_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE clerk_user_id = $1 FOR UPDATE")
        .bind(clerk_id)
        .fetch_optional(&mut *conn)
        .await
}

/// Row-locks a user until the transaction ends.
pub async fn lock_user(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Overwrites the profile of the user with this Clerk id (email only when one is given; names
/// and avatar as sent, `None` clearing them); its id, or `None` without such a user.
pub async fn update_user_profile(
    conn: &mut PgConnection,
    u: &ClerkUser<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE users SET email = COALESCE($2, email), first_name = $3, last_name = $4, avatar_url = $5
         WHERE clerk_user_id = $1 RETURNING id",
    )
    .bind(u.clerk_id)
    .bind(u.email)
    .bind(u.first_name)
    .bind(u.last_name)
    .bind(u.avatar_url)
    .fetch_optional(&mut *conn)
    .await
}

/// Gives the oldest placeholder row (`clerk_user_id` starting with `placeholder_prefix`) with
/// this email (case-insensitively) to the Clerk user; the profile fills only what it lacks.
pub async fn claim_placeholder_user(
    conn: &mut PgConnection,
    u: &ClerkUser<'_>,
    email: &str,
    placeholder_prefix: &str,
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
    .bind(placeholder_prefix)
    .fetch_optional(&mut *conn)
    .await
}

/// Inserts the user, or overwrites the profile of a row inserted concurrently with its Clerk id.
pub async fn upsert_user(
    conn: &mut PgConnection,
    u: &ClerkUser<'_>,
    email: &str,
) -> Result<(), sqlx::Error> {
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
    .await
    .map(|_| ())
}

/// Inserts the user unless a row with its Clerk id exists; the new id, or `None` if it existed.
pub async fn insert_user_if_absent(
    conn: &mut PgConnection,
    u: &ClerkUser<'_>,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
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
    .await
}

/// Deletes the user's row unless a foreign key still references it; `true` when deleted.
/// Trying is the one check that stays right when tables are added; the savepoint confines the
/// FK error so the transaction can go on.
pub async fn delete_user_unless_referenced(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query("SAVEPOINT clerk_user_delete")
        .execute(&mut *conn)
        .await?;
    let deleted = match sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
    {
        Ok(_) => true,
        Err(e) if is_sql_state(&e, FOREIGN_KEY_VIOLATION) => {
            sqlx::query("ROLLBACK TO SAVEPOINT clerk_user_delete")
                .execute(&mut *conn)
                .await?;
            false
        }
        Err(e) => return Err(e),
    };
    sqlx::query("RELEASE SAVEPOINT clerk_user_delete")
        .execute(&mut *conn)
        .await?;
    Ok(deleted)
}

pub async fn delete_all_clinic_access(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_clinic_access WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Grants access with `role`; a new row is primary only if the user had no access yet, and an
/// existing row changes its role only (`is_primary` is the user's choice once set).
pub async fn upsert_clinic_access(
    conn: &mut PgConnection,
    user_id: Uuid,
    clinic_id: Uuid,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_clinic_access (user_id, clinic_id, role, is_primary)
         VALUES ($1, $2, $3, NOT EXISTS (SELECT 1 FROM user_clinic_access WHERE user_id = $1))
         ON CONFLICT (user_id, clinic_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(user_id)
    .bind(clinic_id)
    .bind(role)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Deletes one access row; whether it was the user's primary clinic.
pub async fn delete_clinic_access(
    conn: &mut PgConnection,
    user_id: Uuid,
    clinic_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let was_primary: Option<Option<bool>> = sqlx::query_scalar(
        "DELETE FROM user_clinic_access WHERE user_id = $1 AND clinic_id = $2 RETURNING is_primary",
    )
    .bind(user_id)
    .bind(clinic_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(was_primary.flatten() == Some(true))
}

/// Makes the user's oldest access row (`granted_at, created_at, id`) primary.
pub async fn promote_oldest_clinic_access(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE user_clinic_access SET is_primary = true
         WHERE id = (SELECT id FROM user_clinic_access WHERE user_id = $1
                     ORDER BY granted_at, created_at, id LIMIT 1)",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// The clinic's invitation for this email (case-insensitively, an exact-case match first),
/// row-locked until the transaction ends.
pub async fn lock_invitation(
    conn: &mut PgConnection,
    clinic_id: Uuid,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM clinic_invitations WHERE clinic_id = $1 AND lower(email) = lower($2)
         ORDER BY (email = $2) DESC, created_at LIMIT 1 FOR UPDATE",
    )
    .bind(clinic_id)
    .bind(email)
    .fetch_optional(&mut *conn)
    .await
}

/// What a Clerk invitation event writes to `clinic_invitations`.
#[derive(Clone, Copy, Debug)]
pub struct InvitationWrite<'a> {
    pub email: &'a str,
    pub role: &'a str,
    pub status: &'a str,
    /// `None` keeps the stored value (a new row gets `ttl_days` from now).
    pub expires_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<Uuid>,
    /// Keep the stored acceptance instead of writing `accepted_at`/`accepted_by`.
    pub keep_acceptance: bool,
    /// Validity of a new row without `expires_at`.
    pub ttl_days: i32,
}

/// The SET list shared by the update and the upsert: both bind `$3`…`$8` alike (a macro keeps
/// the SQL a static string).
macro_rules! invitation_set_list {
    () => {
        "role = $3, status = $4,
         expires_at = COALESCE($5, clinic_invitations.expires_at),
         accepted_at = CASE WHEN $8 THEN clinic_invitations.accepted_at ELSE $6 END,
         accepted_by = CASE WHEN $8 THEN clinic_invitations.accepted_by ELSE $7 END"
    };
}

/// Updates the invitation row `id` (found case-insensitively: it keeps its stored email and
/// token).
pub async fn update_invitation(
    conn: &mut PgConnection,
    id: Uuid,
    w: &InvitationWrite<'_>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "UPDATE clinic_invitations SET ",
        invitation_set_list!(),
        " WHERE id = $1 AND $2::text IS NOT NULL"
    );
    sqlx::query(sql)
        .bind(id)
        .bind(w.email)
        .bind(w.role)
        .bind(w.status)
        .bind(w.expires_at)
        .bind(w.accepted_at)
        .bind(w.accepted_by)
        .bind(w.keep_acceptance)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Inserts the clinic's invitation for this email; ON CONFLICT covers the same address invited
/// concurrently by another event.
pub async fn upsert_invitation(
    conn: &mut PgConnection,
    clinic_id: Uuid,
    w: &InvitationWrite<'_>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "INSERT INTO clinic_invitations
           (clinic_id, email, role, status, expires_at, accepted_at, accepted_by)
         VALUES ($1, $2, $3, $4, COALESCE($5, now() + make_interval(days => $9)), $6, $7)
         ON CONFLICT (clinic_id, email) DO UPDATE SET ",
        invitation_set_list!()
    );
    sqlx::query(sql)
        .bind(clinic_id)
        .bind(w.email)
        .bind(w.role)
        .bind(w.status)
        .bind(w.expires_at)
        .bind(w.accepted_at)
        .bind(w.accepted_by)
        .bind(w.keep_acceptance)
        .bind(w.ttl_days)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}
