//! An old (pre-V2) database on the configured server, filled with realistic, deterministic rows
//! for every table the importer maps (`docs/spec/legacy-schema.md`), for the importer's tests
//! (`tests/it/helpers/legacy.rs`) and `bench import`. The SQL is `db::legacy_fixture`.
//!
//! Shape of the data, per clinic c (of `clinics`), with K = `cases_per_clinic`:
//! * 3 users (practice owner, veterinarian, vet tech) with their `user_clinic_access` rows and the
//!   old per-user settings; some users have no `clerk_user_id` (never signed in through Clerk);
//! * K/4 owners (old `clients`), K/2 canonical patients, K cases each with its per-case
//!   `patients` row (every eighth case has no canonical patient), one `scheduled_discharge_calls`
//!   row (70 % completed with the analysis blobs, the rest failed, queued, cancelled or stuck
//!   ringing) and one `scheduled_discharge_emails` row per case, K/2 `inbound_vapi_calls`;
//! * the same owner's phone spelled five ways across their pets' rows (deduplication);
//! * assistants (`clinic_assistants` and `vapi_assistant_mappings`), IDEXX credentials (odd
//!   clinics), Weave credentials (every third), schedule config, blocked periods, syncs,
//!   12 non-overlapping PIMS appointments, 4 bookings (confirmed, held, cancelled, rescheduled),
//!   audit log, messages, refills, cadence, auto-scheduling, a discharge batch, slack (odd
//!   clinics), SOAP notes, vitals and discharge summaries of the first cases;
//! * global rows: templates, auto-scheduling runs, waitlist, contact submissions, and a few rows in
//!   tables the spec removes (retell_calls, user_events, …);
//! * with `awkward`, the rows of [`awkward`] (clinics 1 and 2).
//!
//! Ids are `tttttttt-0000-4000-8000-nnnnnnnnnnnn` ([`legacy_id`]): the same size always gives
//! the same rows.

use std::time::Instant;

use anyhow::Context;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::db::legacy_fixture::{self, SeedStep};

/// Table tags of [`legacy_id`].
pub mod tag {
    pub const CLINIC: u32 = 1;
    pub const USER: u32 = 2;
    pub const USER_CLINIC_ACCESS: u32 = 3;
    pub const CLIENT: u32 = 4;
    pub const CANONICAL_PATIENT: u32 = 5;
    pub const CASE: u32 = 6;
    pub const PATIENT: u32 = 7;
    pub const DISCHARGE_CALL: u32 = 8;
    pub const INBOUND_CALL: u32 = 9;
    pub const DISCHARGE_EMAIL: u32 = 10;
    pub const PIMS_APPOINTMENT: u32 = 22;
    pub const AWKWARD: u32 = 0xAA;
}

/// The id the generator gives row `n` of the table tagged `tag` (`legacy_gen.id` in SQL).
pub const fn legacy_id(tag: u32, n: u64) -> Uuid {
    Uuid::from_u128(
        ((tag as u128) << 96)
            | (0x4000u128 << 64)
            | (0x8000u128 << 48)
            | (n as u128 & 0xffff_ffff_ffff),
    )
}

/// Old clinic `c` (1-based).
pub const fn clinic(c: u64) -> Uuid {
    legacy_id(tag::CLINIC, c)
}

/// User `j` (1 practice owner, 2 veterinarian, 3 vet tech) of old clinic `c`.
pub const fn clinic_user(c: u64, j: u64) -> Uuid {
    legacy_id(tag::USER, (c - 1) * 3 + j)
}

/// The awkward rows (`db/legacy_fixture/awkward.sql`), seeded with `awkward: true`.
pub mod awkward {
    use super::{legacy_id, tag::AWKWARD};
    use uuid::Uuid;

    /// `users`: a veterinarian with access to clinics 1 (primary, admin) and 2 (member), no
    /// `clerk_user_id`.
    pub const TWO_CLINIC_USER: Uuid = legacy_id(AWKWARD, 1);
    /// `users`: no e-mail (V2 `users.email` is NOT NULL), clinic 1.
    pub const USER_WITHOUT_EMAIL: Uuid = legacy_id(AWKWARD, 4);
    /// `cases` of clinic 1 whose per-case patient ([`PATIENT_WITHOUT_CANONICAL`]) has no
    /// canonical row.
    pub const CASE_WITHOUT_CANONICAL: Uuid = legacy_id(AWKWARD, 10);
    pub const PATIENT_WITHOUT_CANONICAL: Uuid = legacy_id(AWKWARD, 11);
    /// `scheduled_discharge_calls` of that case: completed, every analysis blob filled.
    pub const CALL_WITH_BLOBS: Uuid = legacy_id(AWKWARD, 12);
    pub const CALL_WITH_BLOBS_VAPI_ID: &str = "awkward-call-with-blobs";
    /// `scheduled_discharge_emails` of that case.
    pub const EMAIL_OF_CASE_WITHOUT_CANONICAL: Uuid = legacy_id(AWKWARD, 13);
    /// `cases` whose `clinic_id` names no clinic (dangling), no user.
    pub const CASE_OF_MISSING_CLINIC: Uuid = legacy_id(AWKWARD, 20);
    /// `scheduled_discharge_calls` whose `case_id` names no case (dangling).
    pub const CALL_OF_MISSING_CASE: Uuid = legacy_id(AWKWARD, 30);
    /// `pims_appointments` of clinic 1, same room, overlapping times (B starts inside A).
    pub const OVERLAPPING_APPOINTMENT_A: Uuid = legacy_id(AWKWARD, 40);
    pub const OVERLAPPING_APPOINTMENT_B: Uuid = legacy_id(AWKWARD, 41);
    /// `clinic_messages` of clinic 1 whose `caller_phone` is "call me back".
    pub const MESSAGE_WITH_BAD_PHONE: Uuid = legacy_id(AWKWARD, 50);
    /// `inbound_vapi_calls` of clinic 1 with the caller id withheld ("anonymous").
    pub const INBOUND_ANONYMOUS: Uuid = legacy_id(AWKWARD, 51);
    /// `refill_requests` of clinic 2 whose `client_phone` is "12345".
    pub const REFILL_WITH_SHORT_PHONE: Uuid = legacy_id(AWKWARD, 52);
}

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacySize {
    pub clinics: u32,
    pub cases_per_clinic: u32,
    /// Add the [`awkward`] rows (needs at least two clinics).
    pub awkward: bool,
}

impl LegacySize {
    /// The tests' old database: three clinics, 16 cases each, the awkward rows.
    pub const TEST: LegacySize = LegacySize {
        clinics: 3,
        cases_per_clinic: 16,
        awkward: true,
    };

    /// Rows in the main tables per case: the case, its patient, its call and its e-mail, half
    /// an inbound call and half a canonical patient.
    pub const MAIN_ROWS_PER_CASE: u64 = 5;

    /// The size whose main tables (cases, patients, canonical patients, discharge calls,
    /// inbound calls, e-mails) hold about `rows` rows over `clinics` clinics.
    pub fn for_rows(clinics: u32, rows: u64) -> LegacySize {
        let clinics = clinics.max(1);
        let per_clinic = rows / Self::MAIN_ROWS_PER_CASE / u64::from(clinics);
        LegacySize {
            clinics,
            cases_per_clinic: u32::try_from(per_clinic.max(2)).unwrap_or(u32::MAX),
            awkward: false,
        }
    }
}

/// Seconds spent per generator step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedTimes {
    pub schema_secs: f64,
    pub rows_secs: f64,
    pub keys_secs: f64,
}

/// An old database `name` on the server of `server_url` (any database URL of that server).
pub struct LegacyDb {
    pub url: String,
    pub name: String,
    admin_url: String,
}

impl LegacyDb {
    /// Creates the database (dropping a leftover of the same name). `name` is spliced into DDL:
    /// only `[a-z0-9_]` is accepted.
    pub async fn create(server_url: &str, name: &str) -> anyhow::Result<LegacyDb> {
        anyhow::ensure!(
            !name.is_empty()
                && name.len() <= 63
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "old database name {name:?}: only a-z, 0-9 and _ (at most 63)"
        );
        let admin_url = super::replace_db(server_url, "postgres");
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .context("connect to the server")?;
        crate::db::bench::recreate_database(&mut admin, name)
            .await
            .with_context(|| format!("create database {name}"))?;
        admin.close().await?;
        Ok(LegacyDb {
            url: super::replace_db(server_url, name),
            name: name.to_string(),
            admin_url,
        })
    }

    /// Loads the old schema and generates `size`.
    pub async fn build(&self, size: LegacySize) -> anyhow::Result<SeedTimes> {
        let mut conn = PgConnection::connect(&self.url)
            .await
            .context("connect to the old database")?;
        let started = Instant::now();
        legacy_fixture::load_schema(&mut conn)
            .await
            .context("load docs/spec/legacy-tables.sql")?;
        let schema_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        legacy_fixture::begin_seed(
            &mut conn,
            i64::from(size.clinics),
            i64::from(size.cases_per_clinic),
        )
        .await
        .context("generator helpers")?;
        let mut steps = vec![SeedStep::Identity, SeedStep::Main, SeedStep::Operations];
        if size.awkward {
            anyhow::ensure!(size.clinics >= 2, "the awkward rows need two clinics");
            steps.push(SeedStep::Awkward);
        }
        for step in steps {
            legacy_fixture::seed_step(&mut conn, step)
                .await
                .with_context(|| format!("generator step {step:?}"))?;
        }
        let rows_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        legacy_fixture::seed_step(&mut conn, SeedStep::Keys)
            .await
            .context("old keys and indexes")?;
        legacy_fixture::end_seed(&mut conn).await?;
        let keys_secs = started.elapsed().as_secs_f64();
        conn.close().await?;
        Ok(SeedTimes {
            schema_secs,
            rows_secs,
            keys_secs,
        })
    }

    /// Rows per old table.
    pub async fn counts(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let mut conn = PgConnection::connect(&self.url).await?;
        let counts = legacy_fixture::table_counts(&mut conn).await?;
        conn.close().await?;
        Ok(counts)
    }

    /// Drops the database, disconnecting whoever is still on it.
    pub async fn drop_db(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        crate::db::bench::drop_database(&mut admin, &self.name).await?;
        admin.close().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_sql_spelling() {
        let cases = [
            (1, 1, "00000001-0000-4000-8000-000000000001"),
            (6, 0x30d40, "00000006-0000-4000-8000-000000030d40"),
            (0xAA, 52, "000000aa-0000-4000-8000-000000000034"),
        ];
        for (tag, n, text) in cases {
            assert_eq!(legacy_id(tag, n).to_string(), text);
        }
        assert_eq!(clinic_user(2, 1), legacy_id(tag::USER, 4));
    }

    #[test]
    fn sizes_for_a_row_budget() {
        let cases = [
            (100, 1_000_000, 2000),
            (10, 1000, 20),
            (0, 10, 2),
            (3, 0, 2),
        ];
        for (clinics, rows, per_clinic) in cases {
            assert_eq!(
                LegacySize::for_rows(clinics, rows).cases_per_clinic,
                per_clinic,
                "{clinics} clinics, {rows} rows"
            );
        }
    }
}
