//! Dispatch of outbound rows to their provider, at most once (`docs/behaviour.md#dispatch`).
//!
//! * [`claim`]: the rules both channels share — claiming, releasing, stale claims, provider
//!   retry limits, failure metadata (pure).
//! * [`variables`]: the VAPI `assistantOverrides.variableValues` builder (pure).
//! * [`call`] / [`email`]: the `DispatchCall` / `DispatchEmail` handlers; their decisions are
//!   pure functions next to them, their SQL is in `db::outbound_calls` / `db::outbound_emails`.
//!
//! May import: `db`, `domain`, `providers`, `state`, `metrics`, `jobs`.

pub mod call;
pub mod claim;
pub mod email;
pub mod variables;
