//! The integration tests: one test binary (`cargo test --test it`), one module per area.
//!
//! Every test runs against a real PostgreSQL server (`scripts/test` finds or starts one); the
//! `#[sqlx::test]` ones each get a fresh, migrated database. All tests share this one process
//! and run two or more at a time, so nothing may depend on being alone in it:
//! * the Prometheus recorder is process-wide: `http_basics` asserts on a label only it produces
//!   and on increases of shared series, never on absolute counts;
//! * no test sets environment variables (`Config::for_tests` reads none) or listens on a fixed
//!   port (fakes and servers bind port 0);
//! * the clusters `fault_db_restart` crash-restarts and `http_basics` starts and stops are private
//!   embedded ones, never the shared server;
//! * `fault_crash` runs the real `odis-worker` binary (`CARGO_BIN_EXE_odis-worker`) against its
//!   own test database only.
//!
//! Run a subset with `scripts/test --test it <filter>`, e.g. `scripts/test --test it rls::`.

mod helpers;

mod architecture;
mod bench_ceiling;
mod fault_crash;
mod fault_db_restart;
mod fault_providers;
mod fuzz_verifiers;
mod http_basics;
mod import_legacy;
mod import_legacy_rules;
mod ingress_limits;
mod jobs_dispatch;
mod jobs_engine;
mod jobs_fetch;
mod long_uptime;
mod ops_browser;
mod ops_console;
mod provider_limits;
mod queue_in_tx;
mod rls;
mod scheduling;
mod schema;
mod tenant_keys;
mod vapi_tools;
mod webhooks_clerk;
mod webhooks_ingress;
mod webhooks_qstash;
mod webhooks_real;
mod webhooks_vapi;
