//! `odis-worker bench …`: fixed, bounded workloads against the local PostgreSQL, on loopback,
//! that print their figures as a table and as one JSON line. Never run by the test suite or CI.
//!
//! Each benchmark creates its own scratch database on the configured server (or the embedded
//! cluster), migrates it, and drops it at the end, so figures never depend on leftover rows.
//!
//! May import: anything (a top-level entry point, like `app` and `replay`).

pub mod attack;
pub mod autoschedule;
pub mod cpu;
pub mod import;
pub mod inbox;
pub mod ingest;
pub mod jobs;
pub mod legacy_gen;
pub mod tools;

use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};

use crate::config::Config;
use crate::db::embedded::EmbeddedPostgres;

/// A throwaway database for one benchmark run.
pub struct ScratchDb {
    pub pool: PgPool,
    pub url: String,
    admin_url: String,
    name: String,
    embedded: Option<EmbeddedPostgres>,
}

impl ScratchDb {
    pub async fn create(config: &Config, max_connections: u32) -> anyhow::Result<Self> {
        Self::create_named(config, max_connections, "").await
    }

    /// Like [`ScratchDb::create`], for a benchmark that needs more than one scratch database:
    /// `suffix` (a constant of `[a-z_]`) tells them apart.
    pub async fn create_named(
        config: &Config,
        max_connections: u32,
        suffix: &str,
    ) -> anyhow::Result<Self> {
        let (base, embedded) = match &config.database_url {
            Some(u) => (u.clone(), None),
            None => {
                let pg = EmbeddedPostgres::start(&config.data_dir).await?;
                (pg.url(), Some(pg))
            }
        };
        // Built from our pid only (no input reaches it), hence safe to splice into DDL.
        let name = match suffix {
            "" => format!("odis_bench_{}", std::process::id()),
            s => format!("odis_bench_{}_{s}", std::process::id()),
        };
        let admin_url = replace_db(&base, "postgres");
        let url = replace_db(&base, &name);
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .context("connect to the server")?;
        crate::db::bench::recreate_database(&mut admin, &name).await?;
        admin.close().await?;
        let pool = crate::db::connect(&url, max_connections).await?;
        crate::db::migrate(&pool).await?;
        Ok(Self {
            pool,
            url,
            admin_url,
            name,
            embedded,
        })
    }

    pub async fn drop_db(self) {
        self.pool.close().await;
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            // Best effort at the end of a run: a leftover is dropped by the next run's create.
            let _ = crate::db::bench::drop_database(&mut admin, &self.name).await;
        }
        if let Some(pg) = self.embedded {
            pg.stop().await;
        }
    }
}

/// `postgres://u@h:p/db?x` with the database name replaced.
fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let without_db = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{without_db}/{db}?{q}"),
        None => format!("{without_db}/{db}"),
    }
}

/// Latency percentiles over a sample (sorted in place).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub fn percentiles(samples: &mut [Duration]) -> Percentiles {
    samples.sort_unstable();
    let at = |q: f64| -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let idx = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[idx.min(samples.len() - 1)].as_secs_f64() * 1000.0
    };
    Percentiles {
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_db_keeps_everything_else() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "x",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "x",
                "postgres://u:p@h/x?sslmode=disable",
            ),
            ("postgresql://h:1", "x", "postgresql://h:1/x"),
        ];
        for (url, db, expected) in cases {
            assert_eq!(replace_db(url, db), expected);
        }
    }

    #[test]
    fn percentiles_of_a_known_sample() {
        let mut s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = percentiles(&mut s);
        assert_eq!(
            (p.p50_ms.round(), p.p99_ms.round(), p.max_ms),
            (51.0, 99.0, 100.0)
        );
    }
}
