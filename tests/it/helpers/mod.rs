//! Shared helpers of the integration tests.
//!
//! * [`app`]: the service in-process: configuration, `AppState`, the real axum router, and a
//!   `JobContext` whose providers are fakes on loopback; reading back what jobs did;
//! * [`sign`]: requests signed as each sender signs them (VAPI secret, Svix, QStash JWT);
//! * [`seed`]: the seeding factory: rows with sensible defaults, one function per kind of row;
//! * [`catalog`]: the catalog-driven table loader and generic row filler of the schema and RLS
//!   tests.
//!
//! The `odis_worker` items the helpers need are imported here and nowhere else where possible,
//! so a move in `src/` is a one-line fix in this directory.

pub mod app;
pub mod catalog;
pub mod seed;
pub mod sign;
