//! The console's inbox on a large table: N events are seeded (set-based, `db::bench`), then the
//! real `/ops/inbox` page is requested through the router (Bearer, HTML rendered) for: the first
//! page, a page half-way down (keyset cursor), the `unmatched` filter, `vapi` + `unmatched`, a
//! search by VAPI call id; and the count of a replay-all confirmation. Each `--rounds` times →
//! p50/p95 ms. The same deep page by OFFSET is timed beside it for comparison.

use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde::Serialize;
use tower::ServiceExt;

use super::{percentiles, Percentiles, ScratchDb};
use crate::config::{Config, Secret};
use crate::db::bench as bench_db;
use crate::state::AppState;

#[derive(Debug, Clone, clap::Args)]
pub struct InboxArgs {
    /// Events in the inbox.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: i64,
    /// Requests per scenario.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
}

#[derive(Debug, Serialize)]
pub struct Scenario {
    pub name: String,
    pub latency: Percentiles,
}

#[derive(Debug, Serialize)]
pub struct InboxReport {
    pub events: i64,
    pub seed_secs: f64,
    pub scenarios: Vec<Scenario>,
}

const TOKEN: &str = "bench-ops-token-0123456789abcdef-0123456789";

pub async fn run(config: Config, args: InboxArgs) -> anyhow::Result<InboxReport> {
    let db = ScratchDb::create(&config, 8).await?;
    let result = measure(&db, config, &args).await;
    db.drop_db().await;
    result
}

async fn measure(
    db: &ScratchDb,
    mut config: Config,
    args: &InboxArgs,
) -> anyhow::Result<InboxReport> {
    let n = args.events.max(100);
    let started = Instant::now();
    bench_db::seed_inbox_events(&db.pool, n).await?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!("  {n} events seeded in {seed_secs:.1} s");
    config.ops_token = Some(Secret::new(TOKEN));
    let state = AppState::new(db.pool.clone(), config)?;
    let app = crate::http::router(state);
    let (at, id) = bench_db::inbox_cursor_at(&db.pool, n / 2).await?;
    let deep = format!(
        "before={}_{id}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );
    let pages = [
        ("first page", "/ops/inbox".to_string()),
        ("page at the middle (keyset)", format!("/ops/inbox?{deep}")),
        (
            "status=unmatched",
            "/ops/inbox?status=unmatched".to_string(),
        ),
        (
            "status=unmatched, middle",
            format!("/ops/inbox?status=unmatched&{deep}"),
        ),
        (
            "source=vapi&status=unmatched",
            "/ops/inbox?source=vapi&status=unmatched".to_string(),
        ),
        (
            "search by VAPI call id",
            // A VAPI event's call id (every third event is a VAPI one).
            format!("/ops/inbox?q=call-{}", n / 2 - (n / 2) % 3),
        ),
        (
            "replay-all count (unmatched)",
            "/ops/inbox/replay?status=unmatched".to_string(),
        ),
    ];
    let mut scenarios = Vec::new();
    for (name, path) in pages {
        let mut samples = Vec::with_capacity(args.rounds);
        for _ in 0..args.rounds {
            samples.push(get(&app, &path).await.with_context(|| path.clone())?);
        }
        scenarios.push(Scenario {
            name: name.into(),
            latency: percentiles(&mut samples),
        });
    }
    let mut samples = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        let t = Instant::now();
        bench_db::inbox_offset_page(&db.pool, n / 2, 50).await?;
        samples.push(t.elapsed());
    }
    scenarios.push(Scenario {
        name: "middle page by OFFSET (SQL only, for comparison)".into(),
        latency: percentiles(&mut samples),
    });
    Ok(InboxReport {
        events: n,
        seed_secs,
        scenarios,
    })
}

async fn get(app: &axum::Router, path: &str) -> anyhow::Result<Duration> {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())?;
    let t = Instant::now();
    let resp = app.clone().oneshot(req).await?;
    let status = resp.status();
    axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    anyhow::ensure!(status == StatusCode::OK, "answered {status}");
    Ok(t.elapsed())
}

pub fn print(r: &InboxReport) {
    println!(
        "inbox of {} events (seeded in {:.1} s)",
        r.events, r.seed_secs
    );
    println!(
        "{:<50} {:>8} {:>8} {:>8}",
        "scenario", "p50 ms", "p95 ms", "max ms"
    );
    for s in &r.scenarios {
        println!(
            "{:<50} {:>8.1} {:>8.1} {:>8.1}",
            s.name, s.latency.p50_ms, s.latency.p95_ms, s.latency.max_ms
        );
    }
}
