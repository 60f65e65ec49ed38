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
//! - `odis_job_fetches_total{kind}` (fetch transactions, empty ones included) and
//!   `odis_jobs_fetched_total{kind}` (jobs they returned): their ratio is the mean fetch size
//! - `odis_provider_requests_total{provider,status}`, `odis_calls_in_flight` (gauge)
//! - `odis_http_db_errors_total{kind}`: database errors that made a request answer 503, by kind
//!   (`connection`: an outage; `query`: the database refused a statement, i.e. a bug)

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder on first use (the binary calls it at start-up; so do tests). `None` if another recorder was installed first
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
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    let elapsed = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16().to_string();
    metrics::counter!("odis_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("odis_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed);
    resp
}

/// The HTTP methods a label may name; any other (clients may invent methods) is `other`, so the
/// label set is closed (`docs/behaviour.md#ingress-limits`).
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

fn method_label(method: &axum::http::Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// One webhook outcome (`result`: processed, skipped, unmatched, invalid, failed, duplicate).
/// `event_type` is a label of a closed set (`webhooks::labels`), `other` for anything else.
pub fn webhook(source: &'static str, event_type: &'static str, result: &'static str) {
    metrics::counter!("odis_webhooks_received_total", "source" => source, "type" => event_type, "result" => result)
        .increment(1);
}

/// A rejected delivery (bad signature, not configured, too large).
pub fn webhook_rejected(source: &'static str, reason: &str) {
    metrics::counter!("odis_webhooks_received_total", "source" => source, "type" => "unknown", "result" => "rejected")
        .increment(1);
    metrics::counter!("odis_webhooks_rejected_total", "source" => source, "reason" => reason.to_string()).increment(1);
}

/// A database error answered 503 (`kind`: `connection` or `query`, see `error::DbErrorKind`).
pub fn http_db_error(kind: &'static str) {
    metrics::counter!("odis_http_db_errors_total", "kind" => kind).increment(1);
}

/// One provider HTTP request (`status`: the HTTP status code, or `connect_error`/`error`).
pub fn provider_request(provider: &'static str, status: &str) {
    metrics::counter!("odis_provider_requests_total", "provider" => provider, "status" => status.to_string())
        .increment(1);
}

/// One job outcome (`result`: enqueued, succeeded, retried, dead).
pub fn job(kind: &'static str, result: &'static str) {
    metrics::counter!("odis_jobs_total", "kind" => kind, "result" => result).increment(1);
}

/// One fetch of `kind`'s worker that returned `jobs` jobs.
pub fn job_fetch(kind: &str, jobs: usize) {
    metrics::counter!("odis_job_fetches_total", "kind" => kind.to_string()).increment(1);
    metrics::counter!("odis_jobs_fetched_total", "kind" => kind.to_string()).increment(jobs as u64);
}
