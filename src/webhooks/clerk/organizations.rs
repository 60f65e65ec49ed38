//! `organization.*` events → `clinics` (name, slug and logo only), and the organization
//! snapshots embedded in membership and invitation events (`docs/behaviour.md#clerk`).
//!
//! May import: `db::clinics`, `webhooks::inbox`, sibling `clerk` modules.

use sqlx::PgConnection;
use uuid::Uuid;

use super::naming::{base_slug, name_candidate, MAX_NAME_CANDIDATES};
use super::ordering::{admit, stale_note, Admission, Kind};
use super::payload::{self, OrgData};
use super::skipped_with;
use crate::db::clinics::{self, OrgClinicWrite};
use crate::webhooks::inbox::{Outcome, ProcessError};

/// The Clerk-owned fields of an organization.
pub struct OrgFields<'a> {
    pub clerk_id: &'a str,
    pub name: &'a str,
    pub slug: Option<&'a str>,
    /// Only an uploaded image: Clerk's generated default image is not a clinic logo.
    pub logo_url: Option<&'a str>,
}

impl<'a> OrgFields<'a> {
    /// The fields of `org`, found at the JSON path `prefix` (for the error naming a field).
    pub fn from_payload(org: &'a OrgData, prefix: &str) -> Result<Self, ProcessError> {
        Ok(Self {
            clerk_id: payload::required(&org.id, &format!("{prefix}.id"))?,
            name: payload::required(&org.name, &format!("{prefix}.name"))?,
            slug: org.slug.as_deref(),
            logo_url: if org.has_image == Some(false) {
                None
            } else {
                org.image_url.as_deref()
            },
        })
    }
}

/// Writes the clinic of an organization and returns its id. With `overwrite = false` an
/// existing clinic is returned untouched (the caller only has a partial or older snapshot).
/// Only name, slug and logo are written: timezone, phone, billing, `is_active`, `pims_type`, …
/// are not carried by Clerk and stay as they are.
pub async fn write_clinic(
    conn: &mut PgConnection,
    f: &OrgFields<'_>,
    overwrite: bool,
) -> Result<Uuid, ProcessError> {
    let mut existing = clinics::lock_by_clerk_org(conn, f.clerk_id).await?;
    if let (Some(id), false) = (existing, overwrite) {
        return Ok(id);
    }
    let base_slug = base_slug(f.slug, f.name);
    let mut i = 0;
    for _attempt in 0..MAX_NAME_CANDIDATES {
        let (name, slug) = name_candidate(f.name, &base_slug, f.clerk_id, i);
        if clinics::name_or_slug_taken(conn, &name, &slug, f.clerk_id).await? {
            i += 1;
            continue;
        }
        let w = OrgClinicWrite {
            clerk_org_id: f.clerk_id,
            name: &name,
            slug: &slug,
            logo_url: f.logo_url,
        };
        // The check above can race with another transaction: a unique violation means "try
        // again" instead of failing the whole event.
        if let Some(id) = clinics::write_org_clinic(conn, existing, &w).await? {
            return Ok(id);
        }
        if existing.is_none() {
            // maybe the same organization was inserted concurrently
            existing = clinics::lock_by_clerk_org(conn, f.clerk_id).await?;
            if let (Some(id), false) = (existing, overwrite) {
                return Ok(id);
            }
            if existing.is_some() {
                continue; // retry the same candidate as an update
            }
        }
        i += 1;
    }
    Err(ProcessError::Other(format!(
        "no free clinic name/slug for organization {} after {MAX_NAME_CANDIDATES} candidates",
        f.clerk_id
    )))
}

/// What became of an organization snapshot at the gate.
pub enum OrgApplied {
    Applied(Uuid),
    Stale(Option<Uuid>, Admission),
    Deleted(Option<Uuid>),
}

/// An organization snapshot (from organization.* or embedded in a membership) through the gate.
pub async fn apply(
    conn: &mut PgConnection,
    f: &OrgFields<'_>,
    v: i64,
) -> Result<OrgApplied, ProcessError> {
    match admit(conn, Kind::Organization, f.clerk_id, v, false).await? {
        Admission::Apply => Ok(OrgApplied::Applied(write_clinic(conn, f, true).await?)),
        Admission::Deleted => Ok(OrgApplied::Deleted(
            clinics::id_by_clerk_org(conn, f.clerk_id).await?,
        )),
        a @ Admission::Stale { .. } => Ok(OrgApplied::Stale(
            clinics::id_by_clerk_org(conn, f.clerk_id).await?,
            a,
        )),
    }
}

/// `organization.created` / `organization.updated`.
pub async fn upsert(
    conn: &mut PgConnection,
    data: &OrgData,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let f = OrgFields::from_payload(data, "data")?;
    let v = payload::version(data.updated_at, ts)?;
    Ok(match apply(conn, &f, v).await? {
        OrgApplied::Applied(id) => Outcome::processed(Some(id)),
        OrgApplied::Stale(id, a) => skipped_with(id, stale_note("organization", f.clerk_id, v, a)),
        OrgApplied::Deleted(id) => skipped_with(
            id,
            stale_note("organization", f.clerk_id, v, Admission::Deleted),
        ),
    })
}

/// `organization.deleted`: tombstone; the clinic is deactivated, not deleted, so its calls,
/// cases and billing history stay.
pub async fn deleted(
    conn: &mut PgConnection,
    data: &OrgData,
    ts: Option<i64>,
) -> Result<Outcome, ProcessError> {
    let org_id = payload::required(&data.id, "data.id")?;
    let v = payload::deletion_version(data.updated_at, ts);
    admit(conn, Kind::Organization, org_id, v, true).await?;
    let id = clinics::deactivate_by_clerk_org(conn, org_id).await?;
    Ok(Outcome::processed(id))
}
