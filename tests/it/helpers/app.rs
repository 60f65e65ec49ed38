//! The service in-process: configuration, an `AppState` on the test database, the real axum
//! router driven one request at a time, and an `AppState` whose providers are fakes on loopback
//! (wiremock); plus reading back what the jobs did to their rows.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

pub use odis_worker::config::Config;
pub use odis_worker::http::router;
use odis_worker::providers::resend::ResendClient;
use odis_worker::providers::vapi::VapiClient;
pub use odis_worker::state::AppState;

pub const PUBLIC_BASE_URL: &str = "https://odis.test";

/// A loopback address nothing answers on (the discard port), for providers a test never reaches.
pub const NO_PROVIDERS: &str = "http://127.0.0.1:9";

/// Config with every secret set and every provider on `provider_base` (a loopback fake).
pub fn config(provider_base: &str) -> Config {
    let mut c = job_config(provider_base);
    c.public_base_url = Some(PUBLIC_BASE_URL.into());
    c
}

/// The jobs' config: every secret and key set, every provider on `provider_base`.
pub fn job_config(provider_base: &str) -> Config {
    Config::for_tests("postgres://unused@127.0.0.1/unused", provider_base)
}

pub fn state(pool: &PgPool) -> AppState {
    state_with(pool, config(NO_PROVIDERS))
}

pub fn state_with(pool: &PgPool, config: Config) -> AppState {
    // The binary installs the recorder at start-up; tests share one process-wide recorder.
    let _ = odis_worker::metrics::handle();
    AppState::new(pool.clone(), config).expect("provider clients")
}

/// Sends one request through the real router; returns status and the body parsed as JSON
/// (`Value::Null` when it is not JSON).
pub async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router(state.clone())
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A context whose providers live on `base_url` (a wiremock server), with short timeouts.
pub fn context(pool: &PgPool, base_url: &str) -> AppState {
    context_with(pool, job_config(base_url))
}

/// [`context`] with a config of the test's own; provider timeouts are 500 ms.
pub fn context_with(pool: &PgPool, config: Config) -> AppState {
    let mut ctx = AppState::from_parts(pool.clone(), Arc::new(config)).unwrap();
    ctx.vapi = VapiClient::new(
        &ctx.config.vapi_base_url,
        ctx.config.vapi_api_key.clone(),
        Duration::from_millis(500),
    )
    .unwrap();
    ctx.resend = resend_client(&ctx, Duration::from_millis(500));
    ctx
}

/// A Resend client on the context's Resend base URL with the given timeout.
pub fn resend_client(ctx: &AppState, timeout: Duration) -> ResendClient {
    ResendClient::new(
        &ctx.config.resend_base_url,
        ctx.config.resend_api_key.clone(),
        timeout,
    )
    .unwrap()
}

/// The database the `#[sqlx::test]` pool points at, as a URL for child processes: the
/// harness's `DATABASE_URL` (whichever server `scripts/test` chose, with its user, password and
/// parameters) with the test's database name, never anything but loopback.
pub fn database_url(pool: &PgPool) -> String {
    let db = pool
        .connect_options()
        .get_database()
        .expect("the test pool names its database")
        .to_string();
    let harness = std::env::var("DATABASE_URL").expect("the harness sets DATABASE_URL");
    let mut url = reqwest::Url::parse(&harness).expect("DATABASE_URL is a URL");
    let host = url.host_str().unwrap_or_default();
    assert!(
        ["127.0.0.1", "localhost", "[::1]"].contains(&host),
        "tests only talk to a loopback server, not {host}"
    );
    url.set_path(&format!("/{db}"));
    url.to_string()
}

/// `SELECT count(*) FROM <from>` (`from` is a table with an optional WHERE of literals).
pub async fn count_rows(pool: &PgPool, from: &str) -> i64 {
    // Test code, literal table names only.
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {from}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn call_row(pool: &PgPool, id: Uuid) -> (String, Option<String>, Value) {
    sqlx::query_as("SELECT status, vapi_call_id, metadata FROM outbound_calls WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn email_row(pool: &PgPool, id: Uuid) -> (String, Option<String>, Value) {
    sqlx::query_as("SELECT status, resend_email_id, metadata FROM outbound_emails WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Pending apalis jobs of `queue` and their delay from now in seconds.
pub async fn pending_jobs(pool: &PgPool, queue: &str) -> Vec<f64> {
    sqlx::query_scalar(
        "SELECT extract(epoch FROM run_at - now())::float8 FROM apalis.jobs WHERE job_type = $1 AND status = 'Pending'",
    )
    .bind(queue)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The current value of one series of the process-wide metrics recorder, e.g.
/// `odis_http_db_errors_total{kind="connection"}` (0 when it was never recorded).
pub fn metric(series: &str) -> f64 {
    let Some(handle) = odis_worker::metrics::handle() else {
        return 0.0;
    };
    handle
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The operator console's token in tests.
pub const OPS_TOKEN: &str = "test-ops-token-0123456789abcdef-0123456789";

/// [`state`] with the operator console enabled (`OPS_TOKEN` = [`OPS_TOKEN`]).
pub fn ops_state(pool: &PgPool) -> AppState {
    let mut c = config(NO_PROVIDERS);
    c.ops_token = Some(odis_worker::config::Secret::new(OPS_TOKEN));
    state_with(pool, c)
}

/// Sends one request through `app` (a router kept across requests); returns status, headers
/// and the body as text.
pub async fn send_text(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app
        .clone()
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}
