//! Clinic-time scheduling: time math, the auto-scheduling run and discharge batch processing.
//!
//! Placeholder in the `jobs` branch: the scheduling branch provides the real modules with these
//! exact signatures, and the lead replaces these files at merge.

pub mod auto_schedule;
pub mod clock;
pub mod discharge_batch;
