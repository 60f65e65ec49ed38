//! Scheduling of discharge follow-ups: the nightly auto-scheduling run ([`auto_schedule`]),
//! discharge batch processing ([`discharge_batch`]), the case data both read ([`case_data`])
//! and the content they store ([`content`]). The rules they apply (clinic time math, cadence
//! precedence, blocked cases, statuses, clinic policy) live in `domain`; their SQL in `db`.
//!
//! May import: `domain`, `db`, `error`, `metrics`, `telemetry` (never `webhooks`, `jobs`,
//! `http`).
//!
//! These functions only *write* `queued` rows into `outbound_calls` / `outbound_emails`; placing
//! the call or sending the email is the job engine's dispatch, which claims those rows later.
//!
//! Wiring notes for the job engine:
//! - [`auto_schedule::run`] is safe to run twice or concurrently (cases are claimed in the write
//!   transaction); pass the tick's instant as `now`. It returns `Err` only when the run could not
//!   start or its bookkeeping failed; per-clinic failures are in the summary (`partial`/`failed`).
//! - [`discharge_batch::process`] is safe to call repeatedly and from several workers; a
//!   `processing` result means another worker holds the batch (or an item limit was hit) and
//!   the sweeper will offer it again via [`discharge_batch::due_batches`] once stale.
//!   `Err(SchedulingError::BatchNotFound)` is permanent (do not retry).
//! - Calls are written with `assistant_id`/`outbound_phone_number_id` NULL (dispatch resolves
//!   them) and the VAPI `variableValues` in `metadata.dynamic_variables`. Batch rows carry
//!   `metadata.discharge_batch_id` / `discharge_batch_item_id`; auto-scheduled rows carry
//!   `metadata.auto_scheduled_item_id` and `run_id`.
//! - A batch cancel only cancels rows still `queued`: dispatch must move a row out of `queued`
//!   in the same statement that claims it.
//! - Call times are not clamped to the clinic's call window here; dispatch applies
//!   `domain::clock::next_in_window` with `clinic_settings.preferred_call_start_time`/`end_time`.

pub mod auto_schedule;
pub mod case_data;
pub mod content;
pub mod discharge_batch;
mod error;

pub use error::SchedulingError;
