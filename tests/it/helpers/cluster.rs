//! Private PostgreSQL clusters, for the tests that stop or crash their server
//! (`fault_db_restart`, `http_basics`): started with the machine's `initdb`/`pg_ctl`, never the
//! shared server.
//!
//! Without those binaries such a test cannot prove anything, so it fails, saying how to fix it.
//! A machine that only has a `DATABASE_URL` server may skip these tests visibly by setting
//! [`SKIP_VAR`] to the reason; `.ci/run` refuses that variable on machines that have the
//! binaries, so CI never passes them untested.

use std::path::PathBuf;

use odis_worker::db::embedded::EmbeddedError;
pub use odis_worker::db::embedded::EmbeddedPostgres;

/// Set (to a reason) to skip the private-cluster tests on a machine without PostgreSQL server
/// binaries.
pub const SKIP_VAR: &str = "ODIS_TEST_SKIP_PRIVATE_CLUSTER";

/// A private cluster under the system temp dir (as root it runs as `postgres`, which must be
/// able to reach it), or `None` when the test is skipped on purpose (see the module comment).
pub async fn private_cluster(test: &str) -> Option<(EmbeddedPostgres, PathBuf)> {
    let dir = std::env::temp_dir().join(format!("odis-{test}-{}", uuid::Uuid::new_v4()));
    match EmbeddedPostgres::start(&dir).await {
        Ok(pg) => Some((pg, dir)),
        Err(EmbeddedError::BinariesNotFound) => match std::env::var(SKIP_VAR) {
            Ok(reason) if !reason.trim().is_empty() => {
                eprintln!(
                    "SKIPPED {test}: no PostgreSQL server binaries (initdb, pg_ctl) on this \
                     machine, and {SKIP_VAR}={reason:?}"
                );
                None
            }
            _ => panic!(
                "{test} needs PostgreSQL's server binaries (initdb, pg_ctl on PATH or in \
                 /usr/lib/postgresql/*/bin) to run a private cluster it can crash: install them \
                 (e.g. `apt-get install postgresql`), or set {SKIP_VAR}=<reason> to skip it \
                 visibly (CI refuses that where the binaries exist)"
            ),
        },
        Err(e) => panic!("{test}: the private cluster did not start: {e}"),
    }
}
