//! The business rules, one home each, pure and unit-tested: nothing here touches the database,
//! the network or the clock (callers pass `now`). See `docs/behaviour.md`.
//!
//! May import: external crates only (never another `crate::` module outside `domain`).

pub mod backoff;
pub mod blocked;
pub mod cadence;
pub mod clinic_hours;
pub mod clinic_policy;
pub mod clock;
pub mod dispatch_meta;
pub mod extreme;
pub mod inbound_outcome;
pub mod legacy;
pub mod mask;
pub mod name_match;
pub mod nl_date;
pub mod phone;
pub mod provider_limits;
pub mod roles;
pub mod slots;
pub mod spoken_time;
pub mod status;
pub mod text;
pub mod tool_refs;
pub mod vapi_status;
