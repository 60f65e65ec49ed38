//! odis-worker: webhook receiver, Postgres-backed job worker and owner of the Schema V2 database
//! for the ODIS veterinary voice-AI platform. `main.rs` is only the CLI; everything else is here
//! so integration tests drive the same router and job handlers the binary runs.

pub mod app;
pub mod bench;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod import;
pub mod jobs;
pub mod metrics;
pub mod providers;
pub mod replay;
pub mod scheduling;
pub mod state;
pub mod telemetry;
pub mod webhooks;
