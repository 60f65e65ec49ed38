//! `clinics` and `clinic_settings`: a clinic, its time zone and its call/email settings.

#[allow(unused_imports)]
use chrono::{DateTime, NaiveTime, Utc};
#[allow(unused_imports)]
use serde_json::Value;
#[allow(unused_imports)]
use sqlx::{PgConnection, PgExecutor, PgPool};
#[allow(unused_imports)]
use uuid::Uuid;

// ==== clerk organisations (webhooks/clerk) ====

use super::identity::{is_sql_state, UNIQUE_VIOLATION};

/// The clinic of a Clerk organization.
pub async fn id_by_clerk_org(
    conn: &mut PgConnection,
    clerk_org_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM clinics WHERE clerk_org_id = $1")
        .bind(clerk_org_id)
        .fetch_optional(&mut *conn)
        .await
}

/// The clinic of a Clerk organization, row-locked until the transaction ends.
pub async fn lock_by_clerk_org(
    conn: &mut PgConnection,
    clerk_org_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM clinics WHERE clerk_org_id = $1 FOR UPDATE")
        .bind(clerk_org_id)
        .fetch_optional(&mut *conn)
        .await
}

/// Whether another organization's clinic already uses this name or slug.
pub async fn name_or_slug_taken(
    conn: &mut PgConnection,
    name: &str,
    slug: &str,
    clerk_org_id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM clinics
                        WHERE (name = $1 OR slug = $2) AND clerk_org_id IS DISTINCT FROM $3)",
    )
    .bind(name)
    .bind(slug)
    .bind(clerk_org_id)
    .fetch_one(&mut *conn)
    .await
}

/// The Clerk-owned columns of an organization's clinic: name, slug and logo only.
#[derive(Clone, Copy, Debug)]
pub struct OrgClinicWrite<'a> {
    pub clerk_org_id: &'a str,
    pub name: &'a str,
    pub slug: &'a str,
    /// `None` keeps an existing logo.
    pub logo_url: Option<&'a str>,
}

/// Updates clinic `existing` (or inserts the organization's clinic) with `w`; its id, or `None`
/// when the name or slug hit a unique violation (a concurrent writer took it). The savepoint
/// confines that violation so the transaction can try another candidate.
pub async fn write_org_clinic(
    conn: &mut PgConnection,
    existing: Option<Uuid>,
    w: &OrgClinicWrite<'_>,
) -> Result<Option<Uuid>, sqlx::Error> {
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
            .bind(w.name)
            .bind(w.slug)
            .bind(w.logo_url)
            .fetch_one(&mut *conn)
            .await
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO clinics (clerk_org_id, name, slug, logo_url)
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(w.clerk_org_id)
            .bind(w.name)
            .bind(w.slug)
            .bind(w.logo_url)
            .fetch_one(&mut *conn)
            .await
        }
    };
    let id = match written {
        Ok(id) => Some(id),
        Err(e) if is_sql_state(&e, UNIQUE_VIOLATION) => {
            sqlx::query("ROLLBACK TO SAVEPOINT clerk_clinic_write")
                .execute(&mut *conn)
                .await?;
            None
        }
        Err(e) => return Err(e),
    };
    sqlx::query("RELEASE SAVEPOINT clerk_clinic_write")
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Deactivates (never deletes) the organization's clinic; its id, if there is one.
pub async fn deactivate_by_clerk_org(
    conn: &mut PgConnection,
    clerk_org_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("UPDATE clinics SET is_active = false WHERE clerk_org_id = $1 RETURNING id")
        .bind(clerk_org_id)
        .fetch_optional(&mut *conn)
        .await
}

// ==== end clerk organisations (webhooks/clerk) ====

// ==== dispatch (jobs/dispatch) ====

// ==== end dispatch (jobs/dispatch) ====

// ==== webhooks (webhooks/vapi) ====

// ==== end webhooks (webhooks/vapi) ====

// ==== scheduling (scheduling/) ====

// ==== end scheduling (scheduling/) ====
