//! Voice tools benchmark: N concurrent simulated inbound calls, each asking
//! `check_availability_range` (14 days) and then booking (`book_appointment`, retrying on an
//! alternative when its slot was taken) on one shared busy calendar (a clinic with 1,000 future
//! appointments), over HTTP with real verification, on loopback. Prints p50/p95/p99 per tool
//! and the overbooking check (every live booking's slot within capacity; the command fails
//! otherwise).
//!
//! May import: anything (part of the `bench` entry point).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::cpu::{self, Spent};
use super::{percentiles, Percentiles, ScratchDb};
use crate::config::{Config, Secret};
use crate::http::router;
use crate::state::AppState;

#[derive(Debug, Clone, clap::Args)]
pub struct ToolsArgs {
    /// Concurrent simulated calls.
    #[arg(long, default_value_t = 50)]
    pub calls: usize,
    /// Future appointments on the shared calendar.
    #[arg(long, default_value_t = 1000)]
    pub appointments: i32,
    /// Rounds of `calls` concurrent calls (each round books more of the calendar).
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// Afterwards, this many `check_availability_range` requests one at a time: the machine
    /// time one request costs (client, server, PostgreSQL) and its transactions.
    #[arg(long, default_value_t = 50)]
    pub calibrate: usize,
    /// Database connections of the server under test (default: what `serve` opens).
    #[arg(long, default_value_t = crate::app::SERVE_POOL)]
    pub pool: u32,
}

#[derive(Debug, serde::Serialize)]
pub struct ToolsReport {
    pub calls: usize,
    pub pool: u32,
    pub rounds: usize,
    pub appointments: u64,
    pub range_requests: usize,
    pub range_latency: Percentiles,
    pub book_requests: usize,
    pub book_latency: Percentiles,
    pub booked: usize,
    pub slot_taken_answers: usize,
    pub errors: usize,
    pub overbooked_bookings: i64,
    pub capacity: i64,
    /// `check_availability_range` p99 of each round (the first one opens the pool's connections).
    pub range_p99_ms_by_round: Vec<f64>,
    /// Machine time of the concurrent rounds per request (range and booking requests together).
    pub cpu_per_request: Spent,
    /// One `check_availability_range` at a time (after the rounds, warm): machine time and
    /// database transactions per request.
    pub calibration_requests: usize,
    pub range_cpu_per_request: Spent,
    pub range_transactions_per_request: f64,
}

const ASSISTANT: &str = "asst_bench_tools";
const SECRET: &str = "bench-secret";
const CAPACITY: i64 = 2;

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    /// One tool call; its latency and parsed `result` (`None` on an HTTP failure).
    async fn tool(
        &self,
        call: &str,
        tc: &str,
        name: &str,
        args: Value,
    ) -> (Duration, Option<Value>) {
        let body = json!({"message": {"type": "tool-calls",
            "call": {"id": call, "type": "inboundPhoneCall", "assistantId": ASSISTANT},
            "toolCallList": [{"id": tc, "type": "function", "function": {"name": name, "arguments": args.to_string()}}]}});
        let t = Instant::now();
        let resp = self
            .http
            .post(&self.url)
            .header("x-vapi-secret", SECRET)
            .json(&body)
            .send()
            .await;
        let parsed = match resp {
            Ok(r) if r.status().is_success() => r.json::<Value>().await.ok(),
            _ => None,
        };
        let result = parsed
            .as_ref()
            .and_then(|v| v.pointer("/results/0/result"))
            .and_then(Value::as_str)
            .and_then(|s| serde_json::from_str(s).ok());
        (t.elapsed(), result)
    }
}

#[derive(Default)]
struct CallOutcome {
    range: Vec<Duration>,
    book: Vec<Duration>,
    booked: usize,
    taken: usize,
    errors: usize,
}

/// One simulated call: the 14-day range, then a booking of one of the first day's times, then
/// (when that was taken meanwhile) of the offered alternatives, at most 4 attempts.
async fn one_call(client: &Client, i: usize) -> CallOutcome {
    let mut out = CallOutcome::default();
    let call = format!("bench-call-{i:06}");
    let (d, range) = client
        .tool(
            &call,
            "range",
            "check_availability_range",
            json!({"days_ahead": 14}),
        )
        .await;
    out.range.push(d);
    let Some(range) = range.filter(|r| r.pointer("/success") == Some(&Value::Bool(true))) else {
        out.errors += 1;
        return out;
    };
    let first = &range["data"]["first_available"];
    let times = first["times"].as_array().cloned().unwrap_or_default();
    let Some(pick) = times.get(i % times.len().max(1)) else {
        return out;
    };
    let mut date = first["date"].as_str().unwrap_or_default().to_string();
    let mut time = pick["time_24h"].as_str().unwrap_or_default().to_string();
    for attempt in 0..4 {
        let args = json!({"date": date, "time": time, "client_name": format!("Caller {i}"),
                          "client_phone": "+14155550100", "patient_name": "Bench Pet"});
        let (d, r) = client
            .tool(&call, &format!("book-{attempt}"), "book_appointment", args)
            .await;
        out.book.push(d);
        let Some(r) = r else {
            out.errors += 1;
            return out;
        };
        if r.pointer("/success") == Some(&Value::Bool(true)) {
            out.booked += 1;
            return out;
        }
        if r["error"] != "slot_not_available" {
            out.errors += 1;
            return out;
        }
        out.taken += 1;
        let alts = r["data"]["alternative_times"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(alt) = alts.get(i % alts.len().max(1)) else {
            return out;
        };
        date = alt["date"].as_str().unwrap_or_default().to_string();
        time = alt["time_24h"].as_str().unwrap_or_default().to_string();
    }
    out
}

pub async fn run(config: Config, args: ToolsArgs) -> anyhow::Result<ToolsReport> {
    let calls = args.calls.max(1);
    let db = ScratchDb::create(&config, 4).await?;
    let result = run_on(&db, config, &args, calls).await;
    db.drop_db().await;
    result
}

async fn run_on(
    db: &ScratchDb,
    mut config: Config,
    args: &ToolsArgs,
    calls: usize,
) -> anyhow::Result<ToolsReport> {
    let clinic = crate::db::bench::seed_ingest_clinic(&db.pool, ASSISTANT).await?;
    let tz = crate::domain::clinic_policy::DEFAULT_TZ;
    let today = crate::domain::clock::local_date(tz, chrono::Utc::now());
    let appointments =
        crate::db::bench::seed_busy_calendar(&db.pool, clinic, today, 14, 15, args.appointments)
            .await?;
    crate::db::bench::vacuum_analyze(&db.pool).await?;

    config.vapi_webhook_secret = Some(Secret::for_bench(SECRET));
    // The server under test gets the pool `serve` opens (all connections open and warm).
    let served = crate::db::connect_service(&db.url, args.pool.max(2)).await?;
    let state = AppState::new(served.clone(), config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let client = std::sync::Arc::new(Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(calls)
            .build()?,
        url: format!("http://{addr}/webhooks/vapi"),
    });
    // The simulated callers run on their own threads, so their share of the machine (JSON,
    // HTTP) is measured apart from the server's (`bench::cpu`).
    let callers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(cpu::CLIENT_THREAD)
        .enable_all()
        .build()?;
    let measured = drive(db, &callers, &client, args, calls).await;
    callers.shutdown_background();
    server.abort();
    served.close().await;
    let (mut all, by_round, cpu_rounds, calibration) = measured?;
    let overbooked = crate::db::bench::overbooked(&db.pool, clinic, CAPACITY).await?;
    Ok(ToolsReport {
        calls,
        pool: args.pool.max(2),
        rounds: args.rounds.max(1),
        appointments,
        range_requests: all.range.len(),
        range_latency: percentiles(&mut all.range),
        book_requests: all.book.len(),
        book_latency: percentiles(&mut all.book),
        booked: all.booked,
        slot_taken_answers: all.taken,
        errors: all.errors,
        overbooked_bookings: overbooked,
        capacity: CAPACITY,
        range_p99_ms_by_round: by_round,
        cpu_per_request: cpu_rounds,
        calibration_requests: calibration.requests,
        range_cpu_per_request: calibration.cpu,
        range_transactions_per_request: calibration.transactions,
    })
}

struct Calibration {
    requests: usize,
    cpu: Spent,
    transactions: f64,
}

type Measured = (CallOutcome, Vec<f64>, Spent, Calibration);

/// The concurrent rounds, then the one-at-a-time calibration, callers on `callers`.
async fn drive(
    db: &ScratchDb,
    callers: &tokio::runtime::Runtime,
    client: &std::sync::Arc<Client>,
    args: &ToolsArgs,
    calls: usize,
) -> anyhow::Result<Measured> {
    let mut all = CallOutcome::default();
    let mut by_round = Vec::new();
    let before = cpu::snapshot(&crate::db::bench::backend_pids(&db.pool).await?);
    for round in 0..args.rounds.max(1) {
        let tasks: Vec<_> = (0..calls)
            .map(|i| {
                let client = client.clone();
                callers.spawn(async move { one_call(&client, round * calls + i).await })
            })
            .collect();
        let mut round_range = Vec::new();
        for t in tasks {
            let o = t.await.unwrap_or_else(|_| CallOutcome {
                errors: 1,
                ..Default::default()
            });
            round_range.extend(o.range.iter().copied());
            all.range.extend(o.range);
            all.book.extend(o.book);
            all.booked += o.booked;
            all.taken += o.taken;
            all.errors += o.errors;
        }
        by_round.push(percentiles(&mut round_range).p99_ms);
    }
    let after = cpu::snapshot(&crate::db::bench::backend_pids(&db.pool).await?);
    let rounds_cpu = cpu::spent(&before, &after).per(all.range.len() + all.book.len());
    let calibration = calibrate(db, callers, client, args.calibrate).await?;
    all.errors += calibration.1;
    Ok((all, by_round, rounds_cpu, calibration.0))
}

/// `n` range requests one after another: CPU and transactions per request. The statistics
/// collector publishes a backend's counts at most ten seconds after it goes idle
/// (`PGSTAT_IDLE_INTERVAL`), hence the pauses.
async fn calibrate(
    db: &ScratchDb,
    callers: &tokio::runtime::Runtime,
    client: &std::sync::Arc<Client>,
    n: usize,
) -> anyhow::Result<(Calibration, usize)> {
    let settle = || tokio::time::sleep(Duration::from_millis(11_000));
    settle().await;
    let xacts_before = crate::db::bench::transactions(&db.pool).await?;
    let before = cpu::snapshot(&crate::db::bench::backend_pids(&db.pool).await?);
    let client = client.clone();
    let errors = callers
        .spawn(async move {
            let mut errors = 0;
            for i in 0..n {
                let call = format!("bench-calibrate-{i:06}");
                let (_, r) = client
                    .tool(
                        &call,
                        "range",
                        "check_availability_range",
                        json!({"days_ahead": 14}),
                    )
                    .await;
                if r.is_none_or(|r| r.pointer("/success") != Some(&Value::Bool(true))) {
                    errors += 1;
                }
            }
            errors
        })
        .await
        .unwrap_or(n);
    let after = cpu::snapshot(&crate::db::bench::backend_pids(&db.pool).await?);
    settle().await;
    // Minus the two statistics reads of this function (one transaction each).
    let xacts = crate::db::bench::transactions(&db.pool).await? - xacts_before - 2;
    Ok((
        Calibration {
            requests: n,
            cpu: cpu::spent(&before, &after).per(n),
            transactions: xacts as f64 / n.max(1) as f64,
        },
        errors,
    ))
}

pub fn print(r: &ToolsReport) {
    println!(
        "voice tools: {} concurrent calls x {} round(s), calendar of {} appointments (capacity {}), {} database connections",
        r.calls, r.rounds, r.appointments, r.capacity, r.pool
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "tool", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (name, n, p) in [
        (
            "check_availability_range (14 d)",
            r.range_requests,
            &r.range_latency,
        ),
        ("book_appointment", r.book_requests, &r.book_latency),
    ] {
        println!(
            "{name:<34} {n:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms
        );
    }
    println!(
        "booked {} | slot taken (retried on an alternative) {} | errors {} | overbooked bookings {}",
        r.booked, r.slot_taken_answers, r.errors, r.overbooked_bookings
    );
    let rounds: Vec<String> = r
        .range_p99_ms_by_round
        .iter()
        .map(|p| format!("{p:.2}"))
        .collect();
    println!(
        "check_availability_range p99 by round (ms): {}",
        rounds.join(", ")
    );
    let c = &r.cpu_per_request;
    println!(
        "CPU ms per request, concurrent rounds: server {:.2} + PostgreSQL {:.2} = {:.2} (bench client {:.2})",
        c.server_ms,
        c.postgres_ms,
        c.service_ms(),
        c.client_ms
    );
    let c = &r.range_cpu_per_request;
    println!(
        "CPU ms per check_availability_range, {} one at a time: server {:.2} + PostgreSQL {:.2} = {:.2} (bench client {:.2}); {:.2} transactions",
        r.calibration_requests,
        c.server_ms,
        c.postgres_ms,
        c.service_ms(),
        c.client_ms,
        r.range_transactions_per_request
    );
}
