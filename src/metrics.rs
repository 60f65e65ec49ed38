//! Prometheus metrics: the process-wide recorder, the HTTP latency middleware, and `/metrics`.
//!
//! Counters and histograms are recorded where things happen (webhooks, jobs, providers) with
//! the `metrics` macros; gauges that describe database state (inbox backlog, queue depth) are
//! computed by SQL when `/metrics` is scraped, so they are right even with several processes.
//!
//! Metric names (stable; dashboards rely on them):
//! - `odis_http_requests_total{method,route,status}`, `odis_http_request_duration_seconds{method,route}`
//! - `odis_webhooks_received_total{source,type,result}` (result: processed, skipped, unmatched,
//!   invalid, failed, duplicate, rejected) and `odis_webhooks_rejected_total{source,reason}`
//! - `odis_inbox_events{status}` (gauge, from `webhook_events`)
//! - `odis_jobs_total{kind,result}` (enqueued, succeeded, retried, dead), `odis_queue_depth{kind}`,
//!   `odis_queue_oldest_due_seconds` (gauges, from the queue tables)
//! - `odis_provider_requests_total{provider,status}`, `odis_calls_in_flight` (gauge)

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::http::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder on first use. `None` if another recorder was installed first
/// (then `/metrics` says so instead of serving an empty page).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .ok()?;
            builder.install_recorder().ok()
        })
        .as_ref()
}

/// Records request count and latency by matched route (not raw path: ids would explode the labels).
pub async fn track_http(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let elapsed = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16().to_string();
    metrics::counter!("odis_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("odis_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed);
    resp
}

/// `GET /metrics`: refreshes the database-derived gauges, then renders the text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed\n",
        )
            .into_response();
    };
    if let Err(e) = refresh_db_gauges(&state).await {
        tracing::warn!(error = %e, "could not refresh database gauges");
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

async fn refresh_db_gauges(state: &AppState) -> Result<(), sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM webhook_events GROUP BY status")
            .fetch_all(&state.pool)
            .await?;
    for status in [
        "pending",
        "processed",
        "skipped",
        "unmatched",
        "invalid",
        "failed",
    ] {
        let n = rows
            .iter()
            .find(|(s, _)| s == status)
            .map(|(_, n)| *n)
            .unwrap_or(0);
        metrics::gauge!("odis_inbox_events", "status" => status).set(n as f64);
    }
    refresh_queue_gauges(state).await
}

/// Queue depth by job kind and the age of the oldest due job, from apalis's own table.
async fn refresh_queue_gauges(state: &AppState) -> Result<(), sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('apalis.jobs') IS NOT NULL")
        .fetch_one(&state.pool)
        .await?;
    if !exists {
        return Ok(());
    }
    let depth: Vec<(String, i64)> = sqlx::query_as(
        "SELECT job_type, count(*) FROM apalis.jobs
         WHERE status IN ('Pending', 'Queued', 'Running') GROUP BY job_type",
    )
    .fetch_all(&state.pool)
    .await?;
    for (kind, n) in depth {
        metrics::gauge!("odis_queue_depth", "kind" => kind).set(n as f64);
    }
    let oldest: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - min(run_at))::float8 FROM apalis.jobs
         WHERE status IN ('Pending', 'Queued') AND run_at <= now()",
    )
    .fetch_one(&state.pool)
    .await?;
    metrics::gauge!("odis_queue_oldest_due_seconds").set(oldest.unwrap_or(0.0));
    Ok(())
}

/// One webhook outcome (`result`: processed, skipped, unmatched, invalid, failed, duplicate).
pub fn webhook(source: &'static str, event_type: Option<&str>, result: &str) {
    // Event types come from the sender: bound the label's cardinality to known-looking names.
    let t = event_type
        .filter(|t| {
            t.len() <= 48
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        })
        .unwrap_or("other")
        .to_string();
    metrics::counter!("odis_webhooks_received_total", "source" => source, "type" => t, "result" => result.to_string())
        .increment(1);
}

/// A rejected delivery (bad signature, not configured, too large).
pub fn webhook_rejected(source: &'static str, reason: &str) {
    metrics::counter!("odis_webhooks_received_total", "source" => source, "type" => "unknown", "result" => "rejected")
        .increment(1);
    metrics::counter!("odis_webhooks_rejected_total", "source" => source, "reason" => reason.to_string()).increment(1);
}

/// One provider HTTP request (`status`: the HTTP status code, or `connect_error`/`error`).
pub fn provider_request(provider: &'static str, status: &str) {
    metrics::counter!("odis_provider_requests_total", "provider" => provider, "status" => status.to_string())
        .increment(1);
}
