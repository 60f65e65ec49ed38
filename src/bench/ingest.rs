//! Webhook ingest benchmark: signed VAPI end-of-call reports posted over HTTP by N concurrent
//! clients to a real `serve` router on loopback, against the ceiling of the same database work
//! (inbox row committed, then one transaction writing the call, the analysis and the event's
//! status) done with plain SQL from the same number of connections. A second, paced phase
//! offers a fixed rate (default 200 requests/s) and measures latency from each request's
//! scheduled send time, so queueing in the load generator counts.
//!
//! May import: anything (part of the `bench` entry point).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;
use tokio::sync::Semaphore;

use super::{percentiles, Percentiles, ScratchDb};
use crate::config::{Config, Secret};
use crate::http::router;
use crate::state::AppState;

#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// Concurrent HTTP clients (and SQL connections for the ceiling).
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Requests in the closed-loop phase.
    #[arg(long, default_value_t = 4000)]
    pub requests: usize,
    /// Offered rate of the paced phase, requests per second.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Duration of the paced phase, seconds.
    #[arg(long, default_value_t = 10)]
    pub paced_seconds: u64,
}

#[derive(Debug, serde::Serialize)]
pub struct IngestReport {
    pub clients: usize,
    pub requests: usize,
    pub body_bytes: usize,
    pub http_rps: f64,
    pub http_latency: Percentiles,
    pub http_errors: usize,
    pub ceiling_rps: f64,
    pub ceiling_latency: Percentiles,
    pub ceiling_errors: usize,
    pub ratio_to_ceiling: f64,
    /// The rate the paced phase offered.
    pub paced_rate: f64,
    /// Successful responses per second over the paced phase (first send to last response).
    pub paced_achieved_rps: f64,
    pub paced_requests: usize,
    /// From each request's scheduled send time to its response.
    pub paced_latency: Percentiles,
    pub paced_errors: usize,
}

const ASSISTANT: &str = "asst_bench_inbound";
const SECRET: &str = "bench-secret";

/// A realistic inbound end-of-call report (~30 KB: a 5-minute call's transcript and messages).
pub fn end_of_call_report(call_id: &str) -> serde_json::Value {
    let lines = [
        ("AI", "Thank you for calling Riverside Animal Hospital, this is Ava. How can I help you today?"),
        ("User", "Hi, my dog Bella had surgery last week and I have a question about her medication."),
        ("AI", "Of course. Can I have your name and the best number to reach you?"),
        ("User", "It's Maria Lopez, and my number is 415 555 0142."),
        ("AI", "Thanks Maria. What would you like to know about Bella's medication?"),
        ("User", "She's on carprofen and she seems a bit sleepy. Is that normal?"),
        ("AI", "Some drowsiness can be expected. Is she eating and drinking normally?"),
        ("User", "Yes, she ate breakfast this morning and she's drinking water."),
    ];
    let mut transcript = String::new();
    let mut messages = Vec::new();
    let start_ms: i64 = 1_764_000_000_000;
    for i in 0..64 {
        let (who, text) = lines[i % lines.len()];
        transcript.push_str(&format!("{who}: {text}\n"));
        messages.push(json!({
            "role": if who == "AI" { "bot" } else { "user" },
            "message": text,
            "time": start_ms + (i as i64) * 4_500,
            "endTime": start_ms + (i as i64) * 4_500 + 3_900,
            "secondsFromStart": (i as f64) * 4.5,
            "duration": 3_900,
        }));
    }
    json!({
        "message": {
            "type": "end-of-call-report",
            "timestamp": start_ms + 300_000,
            "endedReason": "customer-ended-call",
            "startedAt": "2026-11-25T17:00:00.000Z",
            "endedAt": "2026-11-25T17:05:00.000Z",
            "cost": 0.4123,
            "costs": [
                {"type": "transport", "provider": "twilio", "minutes": 5.0, "cost": 0.07},
                {"type": "transcriber", "cost": 0.05},
                {"type": "model", "cost": 0.18},
                {"type": "voice", "cost": 0.09},
                {"type": "vapi", "cost": 0.0223}
            ],
            "artifact": {
                "transcript": transcript,
                "messages": messages,
                "recordingUrl": format!("https://storage.vapi.ai/{call_id}-mono.wav"),
                "stereoRecordingUrl": format!("https://storage.vapi.ai/{call_id}-stereo.wav"),
            },
            "analysis": {
                "summary": "Maria Lopez called about Bella's post-surgery drowsiness on carprofen; advised it can be normal, eating and drinking well.",
                "successEvaluation": "true",
                "structuredData": {
                    "caller_name": "Maria Lopez",
                    "caller_phone": "+14155550142",
                    "pet_name": "Bella",
                    "outcome": "info_provided",
                    "attention": {"types": [], "severity": null}
                }
            },
            "call": {
                "id": call_id,
                "orgId": "00000000-0000-4000-8000-00000000b0b0",
                "type": "inboundPhoneCall",
                "status": crate::domain::status::CallStatus::Ended.as_str(),
                "assistantId": ASSISTANT,
                "phoneNumberId": "pn_bench",
                "customer": {"number": "+14155550142"},
                "createdAt": "2026-11-25T16:59:58.000Z",
                "updatedAt": "2026-11-25T17:05:01.000Z",
                "startedAt": "2026-11-25T17:00:00.000Z",
                "endedAt": "2026-11-25T17:05:00.000Z",
                "endedReason": "customer-ended-call"
            }
        }
    })
}

fn bodies(prefix: &str, n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            let id = format!("{prefix}-{i:08}");
            Bytes::from(serde_json::to_vec(&end_of_call_report(&id)).unwrap_or_default())
        })
        .collect()
}

pub async fn run(config: Config, args: IngestArgs) -> anyhow::Result<IngestReport> {
    let clients = args.clients.max(1);
    let db = ScratchDb::create(&config, (clients as u32 + 4).max(8)).await?;
    let result = run_on(&db, config, &args, clients).await;
    db.drop_db().await;
    result
}

async fn run_on(
    db: &ScratchDb,
    mut config: Config,
    args: &IngestArgs,
    clients: usize,
) -> anyhow::Result<IngestReport> {
    crate::db::bench::seed_ingest_clinic(&db.pool, ASSISTANT).await?;

    // --- HTTP, closed loop -------------------------------------------------------------
    config.vapi_webhook_secret = Some(Secret::for_bench(SECRET));
    let state = AppState::new(db.pool.clone(), config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let url = format!("http://{addr}/webhooks/vapi");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;

    let http_bodies = Arc::new(bodies("bench-http", args.requests));
    let body_bytes = http_bodies.first().map(|b| b.len()).unwrap_or(0);
    let (http_elapsed, mut http_lat, http_errors) = closed_loop(clients, http_bodies.len(), {
        let bodies = http_bodies.clone();
        let http = http.clone();
        let url = url.clone();
        move |i| {
            let req = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-vapi-secret", SECRET)
                .body(bodies[i].clone());
            async move { matches!(req.send().await, Ok(r) if r.status().is_success()) }
        }
    })
    .await;

    // --- ceiling: the same database work by plain SQL -----------------------------------
    let sql_bodies = Arc::new(bodies("bench-sql", args.requests));
    let (sql_elapsed, mut sql_lat, ceiling_errors) = closed_loop(clients, sql_bodies.len(), {
        let bodies = sql_bodies.clone();
        let pool = db.pool.clone();
        move |i| {
            let pool = pool.clone();
            let body = bodies[i].clone();
            async move {
                let delivery_id = format!("ceiling-{i}");
                crate::db::bench::ceiling_insert(&pool, ASSISTANT, &delivery_id, &body)
                    .await
                    .is_ok()
            }
        }
    })
    .await;

    // --- HTTP, paced at a fixed offered rate -------------------------------------------
    let paced_n = (args.rate * args.paced_seconds as f64).round() as usize;
    let paced = paced(&http, &url, args.rate, clients, paced_n).await;
    let mut paced_lat = paced.latencies;
    server.abort();

    // Rates count successes only: a phase that fails fast must not look fast.
    let http_rps = args.requests.saturating_sub(http_errors) as f64 / http_elapsed.as_secs_f64();
    let ceiling_rps =
        args.requests.saturating_sub(ceiling_errors) as f64 / sql_elapsed.as_secs_f64();
    Ok(IngestReport {
        clients,
        requests: args.requests,
        body_bytes,
        http_rps,
        http_latency: percentiles(&mut http_lat),
        http_errors,
        ceiling_rps,
        ceiling_latency: percentiles(&mut sql_lat),
        ceiling_errors,
        ratio_to_ceiling: http_rps / ceiling_rps,
        paced_rate: args.rate,
        paced_achieved_rps: paced.achieved_rps,
        paced_requests: paced_n,
        paced_latency: percentiles(&mut paced_lat),
        paced_errors: paced.errors,
    })
}

/// What the paced phase saw.
struct Paced {
    /// From each request's scheduled send time to its response (or failure).
    latencies: Vec<Duration>,
    errors: usize,
    /// Successful responses per second, from the first scheduled send to the last response.
    achieved_rps: f64,
}

/// Offers `n` requests at `rate` per second (at most `clients × 8` in flight). A request that
/// has to wait for a free slot is late, and its latency counts from when it was due, not from
/// when it was finally sent (no coordinated omission).
async fn paced(http: &reqwest::Client, url: &str, rate: f64, clients: usize, n: usize) -> Paced {
    let paced_bodies = Arc::new(bodies("bench-paced", n));
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let limit = Arc::new(Semaphore::new(clients * 8));
    let mut handles = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let req = http
            .post(url)
            .header("content-type", "application/json")
            .header("x-vapi-secret", SECRET)
            .body(paced_bodies[i].clone());
        handles.push(tokio::spawn(async move {
            let ok = matches!(req.send().await, Ok(r) if r.status().is_success());
            drop(permit);
            let done = Instant::now();
            (done.duration_since(due), done, ok)
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    let mut errors = n.saturating_sub(handles.len());
    let mut last = start;
    let mut ok_count = 0usize;
    for h in handles {
        match h.await {
            Ok((latency, done, ok)) => {
                latencies.push(latency);
                last = last.max(done);
                if ok {
                    ok_count += 1;
                } else {
                    errors += 1;
                }
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = last.duration_since(start).as_secs_f64();
    Paced {
        latencies,
        errors,
        achieved_rps: if elapsed > 0.0 {
            ok_count as f64 / elapsed
        } else {
            0.0
        },
    }
}

/// Runs `n` operations from `workers` concurrent loops; returns elapsed, latencies, failures.
async fn closed_loop<F, Fut>(workers: usize, n: usize, op: F) -> (Duration, Vec<Duration>, usize)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let next = next.clone();
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                if !op(i).await {
                    errors += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::with_capacity(n);
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    (start.elapsed(), all, errors)
}

pub fn print(r: &IngestReport) {
    println!(
        "webhook ingest: {} clients, {} requests of {} bytes",
        r.clients, r.requests, r.body_bytes
    );
    println!(
        "{:<34} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "phase", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"
    );
    let row = |name: &str, rps: f64, p: &Percentiles, errors: usize| {
        println!(
            "{name:<34} {rps:>10.1} {:>9.2} {:>9.2} {:>9.2} {errors:>9}",
            p.p50_ms, p.p95_ms, p.p99_ms
        );
    };
    row(
        "HTTP + verify + inbox + process",
        r.http_rps,
        &r.http_latency,
        r.http_errors,
    );
    row(
        "ceiling: same SQL, no service code",
        r.ceiling_rps,
        &r.ceiling_latency,
        r.ceiling_errors,
    );
    row(
        &format!("HTTP paced, offered {:.0} req/s", r.paced_rate),
        r.paced_achieved_rps,
        &r.paced_latency,
        r.paced_errors,
    );
    println!("ratio HTTP / ceiling: {:.2}", r.ratio_to_ceiling);
}
