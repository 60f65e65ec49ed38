//! Shared helpers of the integration tests.
//!
//! * [`app`]: the service in-process: configuration, `AppState`, the real axum router, and a
//!   `AppState` whose providers are fakes on loopback; reading back what jobs did;
//! * [`sign`]: requests signed as each sender signs them (VAPI secret, Svix, QStash JWT);
//! * [`seed`]: the seeding factory: rows with sensible defaults, one function per kind of row;
//! * [`cluster`]: private PostgreSQL clusters for the tests that stop or crash their server;
//! * [`worker`]: a real `odis-worker worker` child process for the multi-process tests;
//! * [`catalog`]: the catalog-driven table loader and generic row filler of the schema and RLS
//!   tests;
//! * [`legacy`]: the old (pre-V2) database of a test, built and filled by the generator that
//!   `bench import` uses too.
//!
//! The service's infrastructure types (`AppState`, `Config`, `AppState`, the router, the
//! provider clients, `Fixture`) are imported only in `app` and `sign`, which re-export what the
//! tests name, so a move in `src/` is a one-line fix here; a test module imports directly only
//! the `odis_worker` API it tests.

pub mod app;
pub mod catalog;
pub mod cluster;
pub mod legacy;
pub mod seed;
pub mod sign;
pub mod worker;
