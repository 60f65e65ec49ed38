//! The database: pool construction, the Schema V2 migrator, the embedded dev cluster, and
//! **all SQL of the service**, one module per table or aggregate, each a set of named functions
//! taking an executor (`docs/behaviour.md`). Nothing outside `db/` calls `sqlx::query*`.
//!
//! May import: `domain`, `config`, `metrics`.

pub mod auto_scheduling;
pub mod bench;
pub mod bookings;
pub mod call_analysis;
pub mod cases;
pub mod clinic_messages;
pub mod clinics;
pub mod discharge_batches;
pub mod embedded;
pub mod identity;
pub mod import_target;
pub mod inbound_calls;
pub mod job_ticks;
pub mod legacy_fixture;
pub mod legacy_source;
pub mod outbound_calls;
pub mod outbound_emails;
pub mod provider_limits;
pub mod queue;
pub mod queue_fetch;
pub mod refills;
pub mod schedule;
pub mod slack;
pub mod tool_clinic;
pub mod tool_results;
pub mod vapi_assistants;
pub mod webhook_events;

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// The service's own migrations (`migrations/`), tracked in `public._sqlx_migrations`.
/// The job queue (apalis-postgres) keeps its tables and its own migration history in the
/// `apalis` schema, so the two histories never see each other's versions.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        // Fail fast when the database is down, so webhooks answer 503 (senders retry) instead
        // of holding connections open until the sender's own timeout.
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}

/// The pool of `serve`, the process a voice caller waits on: all `max_connections` are opened
/// (concurrently) before it returns and kept (the pool reopens what it reaps), and each new
/// connection first runs the statements of a `tool-calls` answer ([`warm_up`]). A
/// connection's first statements otherwise pay for the backend's catalog loading and their
/// own parsing and planning: the first burst of calls after a start, a deploy or a connection's
/// replacement waited twice as long (docs/benchmarks.md, voice tools). Open it on a migrated
/// database (the warm-up reads the tools' tables).
pub async fn connect_service(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    connect_service_with(url.parse()?, max_connections).await
}

/// [`connect_service`] from parsed options.
pub async fn connect_service_with(
    options: sqlx::postgres::PgConnectOptions,
    max_connections: u32,
) -> Result<PgPool, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _meta| Box::pin(warm_up(conn)))
        .connect_lazy_with(options);
    // All at once, not one after another (which is how the pool would open its minimum): a
    // remote database is tens of milliseconds away, and twenty handshakes and warm-ups in a row
    // would outlast the acquire timeout and fail the start.
    let opened = futures::future::join_all((0..max_connections).map(|_| pool.acquire())).await;
    let mut held = Vec::with_capacity(opened.len());
    let mut refused = None;
    for conn in opened {
        match conn {
            Ok(c) => held.push(c),
            Err(e) => refused = Some(e),
        }
    }
    match (held.is_empty(), refused) {
        (true, Some(e)) => return Err(e),
        (false, Some(e)) => tracing::warn!(
            error = %e,
            opened = held.len(),
            "not every service connection could be opened; the pool opens the rest when needed"
        ),
        _ => {}
    }
    drop(held);
    Ok(pool)
}

/// Executions of a prepared statement PostgreSQL plans with the parameters' values before it
/// compares them with a generic plan (a constant of PostgreSQL's plan cache).
const CUSTOM_PLANS_BEFORE_GENERIC: usize = 5;

/// Runs the read statements of a `tool-calls` answer on `conn`, with keys that match
/// nothing: the backend loads those tables' catalog entries and the connection keeps the
/// prepared statements. A database error (say, a table a newer migration adds) only leaves the
/// connection cold; a broken connection is reported and not used.
async fn warm_up(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let none = vapi_assistants::CallKeys::default();
    let now = chrono::Utc::now();
    let reads = async {
        // PostgreSQL plans a prepared statement anew for its first five executions on a
        // connection (custom plans, ~1 ms each for the context statement) before it may settle
        // on a cached generic plan: the warm-up spends those five here, not a caller's.
        for _ in 0..CUSTOM_PLANS_BEFORE_GENERIC {
            tool_clinic::load_for_call(&mut *conn, &none, None, None).await?;
            tool_clinic::load_for_call(&mut *conn, &none, None, Some((now, now))).await?;
            schedule::busy_intervals(&mut *conn, uuid::Uuid::nil(), now, now).await?;
        }
        webhook_events::prepare_insert_settled(&mut *conn).await?;
        Ok::<(), sqlx::Error>(())
    };
    match reads.await {
        Err(sqlx::Error::Database(e)) => {
            tracing::warn!(error = %e, "connection warm-up failed; the connection stays cold");
            Ok(())
        }
        other => other,
    }
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// A round trip to the database.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// Versions embedded in this binary that the database has not applied successfully.
pub async fn pending_migrations(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let table_exists: bool =
        sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    let applied: Vec<i64> = if table_exists {
        sqlx::query_scalar("SELECT version FROM public._sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    Ok(MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect())
}
