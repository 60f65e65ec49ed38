//! The scheduling entry points' error type. May import: external crates.

use uuid::Uuid;

/// Failures of the scheduling entry points. Per-case problems (no contact, blocked case) are
/// not errors: they are skip reasons / failed items recorded in the data.
#[derive(Debug, thiserror::Error)]
pub enum SchedulingError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("discharge batch {0} not found")]
    BatchNotFound(Uuid),
}
