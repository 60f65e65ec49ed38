//! The integration tests: one test binary (`cargo test --test it`), one module per area.
//!
//! Every test runs against a real PostgreSQL server (`scripts/test` finds or starts one); the
//! `#[sqlx::test]` ones each get a fresh, migrated database. All tests share this one process, so
//! anything process-wide (the metrics recorder, environment variables, the `odis-worker` binary
//! the fault tests spawn) must be used in a way that other tests running at the same time cannot
//! disturb; see `helpers` and the module comments of the tests concerned.
//!
//! Run a subset with `scripts/test --test it <filter>`, e.g. `scripts/test --test it rls::`.

mod helpers;

mod fault_crash;
mod fault_db_restart;
mod fault_providers;
mod fuzz_verifiers;
mod http_basics;
mod jobs_dispatch;
mod jobs_engine;
mod rls;
mod scheduling;
mod schema;
mod webhooks_clerk;
mod webhooks_ingress;
mod webhooks_qstash;
mod webhooks_vapi;
