//! The subcommands' bodies: open the database, run what was asked, shut down cleanly.

use std::net::SocketAddr;

use anyhow::Context;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db::embedded::EmbeddedPostgres;
use crate::http;
use crate::state::AppState;

/// The service database: a pool on `DATABASE_URL`, or on the embedded cluster when unset.
pub struct Database {
    pub pool: PgPool,
    url: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects (starting the embedded cluster if needed) and applies pending migrations.
    pub async fn open(config: &Config, max_connections: u32) -> anyhow::Result<Self> {
        let (url, embedded) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let pg = EmbeddedPostgres::start(&config.data_dir).await?;
                let url = pg.url();
                tracing::info!(
                    database_url = %url,
                    data_dir = %config.data_dir.display(),
                    "DATABASE_URL not set: using the embedded PostgreSQL cluster"
                );
                (url, Some(pg))
            }
        };
        let pool = match crate::db::connect(&url, max_connections).await {
            Ok(pool) => pool,
            Err(e) => {
                if let Some(pg) = embedded {
                    pg.stop().await;
                }
                return Err(anyhow::Error::new(e).context("cannot connect to the database"));
            }
        };
        let db = Self {
            pool,
            url,
            embedded,
        };
        if let Err(e) = crate::db::migrate(&db.pool).await {
            db.close().await;
            return Err(anyhow::Error::new(e).context("applying migrations failed"));
        }
        // The job queue's own tables, in schema `apalis` with their own migration history
        // (`apalis._sqlx_migrations`), so neither migrator sees the other's versions.
        if let Err(e) = crate::db::queue::setup(&db.pool).await {
            db.close().await;
            return Err(anyhow::Error::new(e).context("setting up the job queue tables failed"));
        }
        Ok(db)
    }

    /// [`Database::open`] for `serve`: migrates over a small pool, then serves from
    /// [`crate::db::connect_service`]'s warm pool of `max_connections`.
    pub async fn open_service(config: &Config, max_connections: u32) -> anyhow::Result<Self> {
        let mut db = Self::open(config, 2).await?;
        match crate::db::connect_service(&db.url, max_connections).await {
            Ok(pool) => {
                std::mem::replace(&mut db.pool, pool).close().await;
                Ok(db)
            }
            Err(e) => {
                db.close().await;
                Err(anyhow::Error::new(e).context("cannot open the service's connections"))
            }
        }
    }

    pub async fn close(self) {
        self.pool.close().await;
        if let Some(pg) = self.embedded {
            pg.stop().await;
        }
    }
}

/// Cancels `token` on SIGTERM or SIGINT (Ctrl-C).
pub fn spawn_signal_handler(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::warn!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
            _ = term => tracing::info!("SIGTERM received, shutting down"),
        }
        token.cancel();
    });
}

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let db = Database::open(&config, 2).await?;
    let pending = crate::db::pending_migrations(&db.pool).await;
    db.close().await;
    let pending = pending.context("reading migration state")?;
    anyhow::ensure!(pending.is_empty(), "migrations still pending: {pending:?}");
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "database is up to date"
    );
    Ok(())
}

/// Database connections of `serve` (HTTP and job workers together); `bench tools` uses the same.
pub const SERVE_POOL: u32 = 20;

/// `import-legacy`: migrates the target (like `serve`), runs the import, prints the table and
/// the JSON report. Skipped rows are not an error; an unreachable database is.
pub async fn import_legacy(
    config: Config,
    opts: crate::import::ImportOptions,
) -> anyhow::Result<()> {
    let db = Database::open(&config, 2).await?;
    let result = crate::import::run(&db.pool, &opts).await;
    db.close().await;
    let report = result.context("import-legacy failed")?;
    print!("{}", report.table());
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// HTTP server and job workers in one process (the default way to run the service).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());
    let db = Database::open_service(&config, SERVE_POOL).await?;
    let addr = SocketAddr::from(([0, 0, 0, 0], config.port));
    let state = match AppState::new(db.pool.clone(), config) {
        Ok(state) => state,
        Err(e) => {
            db.close().await;
            return Err(e.into());
        }
    };

    let workers = tokio::spawn(crate::jobs::run_workers(state.clone(), shutdown.clone()));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            shutdown.cancel();
            let _ = workers.await;
            db.close().await;
            return Err(anyhow::Error::new(e).context(format!("cannot listen on {addr}")));
        }
    };
    tracing::info!(%addr, "listening");
    let server = http::server::serve(
        listener,
        http::router(state),
        shutdown.clone().cancelled_owned(),
    )
    .await;
    // Whatever stopped the server stops the workers too.
    shutdown.cancel();
    match workers.await {
        Ok(Err(e)) => tracing::error!(error = %e, "job workers stopped with an error"),
        Err(e) => tracing::error!(error = %e, "job workers panicked"),
        Ok(Ok(())) => {}
    }
    db.close().await;
    server.context("HTTP server failed")
}

/// Job workers only, no HTTP.
pub async fn worker(config: Config) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());
    let db = Database::open(&config, 10).await?;
    let result = match AppState::new(db.pool.clone(), config) {
        Ok(state) => crate::jobs::run_workers(state, shutdown).await,
        Err(e) => Err(e.into()),
    };
    db.close().await;
    result
}

/// `replay`: fixture files, or inbox events when `inbox` is given; prints a summary.
pub async fn replay(
    config: Config,
    paths: Vec<std::path::PathBuf>,
    inbox: Option<crate::replay::InboxFilter>,
) -> anyhow::Result<()> {
    let db = Database::open(&config, 4).await?;
    let result = match AppState::new(db.pool.clone(), config) {
        Ok(state) => match inbox {
            Some(filter) => crate::replay::replay_inbox(&state, &filter).await,
            None => crate::replay::replay_files(&state, &paths).await,
        },
        Err(e) => Err(e.into()),
    };
    db.close().await;
    let summary = result?;
    println!("{}", serde_json::to_string(&summary)?);
    anyhow::ensure!(
        summary.unexpected.is_empty(),
        "{} file(s) did not end as their `expect` says",
        summary.unexpected.len()
    );
    Ok(())
}

/// `odis-worker jobs`: the catalogue with each entry's next run; with `DATABASE_URL` set, also
/// which most recent ticks ran and which were missed (no database needed otherwise, and an
/// unreachable one only leaves that column out).
pub async fn jobs_list(config: &Config) -> anyhow::Result<()> {
    let catalogue = crate::jobs::catalogue::Catalogue::load_default()?;
    let latest = match &config.database_url {
        Some(url) => latest_ticks(url).await,
        None => None,
    };
    print!("{}", catalogue.listing(chrono::Utc::now(), latest.as_ref()));
    Ok(())
}

async fn latest_ticks(
    url: &str,
) -> Option<std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>> {
    let read = async {
        let pool = crate::db::connect(url, 1).await?;
        let rows = crate::db::job_ticks::latest_per_entry(&pool).await;
        pool.close().await;
        rows
    };
    match read.await {
        Ok(rows) => Some(rows.into_iter().collect()),
        Err(e) => {
            eprintln!("odis-worker jobs: cannot read job_ticks ({e}); missed ticks not shown");
            None
        }
    }
}

/// `odis-worker jobs run NAME`: runs one catalogue entry now and prints its result as JSON.
pub async fn jobs_run(config: Config, name: &str) -> anyhow::Result<()> {
    let catalogue = crate::jobs::catalogue::Catalogue::load_default()?;
    let entry = catalogue.get(name).ok_or_else(|| {
        let known: Vec<&str> = catalogue.entries.iter().map(|e| e.name.as_str()).collect();
        anyhow::anyhow!(
            "no catalogue entry named {name:?} (entries: {})",
            known.join(", ")
        )
    })?;
    let job = entry.job;
    let retention = entry.retention.clone();
    let db = Database::open(&config, 4).await?;
    let result = match AppState::new(db.pool.clone(), config) {
        Ok(ctx) => crate::jobs::catalogue::run_now(&ctx, job, Some(&retention))
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    db.close().await;
    let value = result.with_context(|| format!("running {name}"))?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}
