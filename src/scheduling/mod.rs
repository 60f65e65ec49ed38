//! Scheduling of discharge follow-ups: clinic-time math ([`clock`]), cadence precedence
//! ([`cadence`]), the nightly auto-scheduling run ([`auto_schedule`]) and discharge batch
//! processing ([`discharge_batch`]).
//!
//! These functions only *write* `queued` rows into `outbound_calls` / `outbound_emails`; placing
//! the call or sending the email is the job engine's dispatch, which claims those rows later.

pub mod auto_schedule;
pub mod cadence;
pub mod case_data;
pub mod clock;
pub mod content;
pub mod discharge_batch;
mod error;
pub mod extreme;

pub use error::SchedulingError;
