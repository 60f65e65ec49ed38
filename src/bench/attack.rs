//! `odis-worker bench attack`: what unauthenticated clients can cost a real `odis-worker serve`
//! (`docs/behaviour.md#ingress-limits`). The server runs as a child process on a scratch
//! database; its resident memory (`VmRSS`, sampled every 20 ms, and the kernel's `VmHWM` peak)
//! is read from `/proc` while:
//!
//! 1. **forged bodies**: N connections each send a full body of B bytes to `/webhooks/clerk` with
//!    fresh Svix headers and a forged signature (the body must be read to refuse it, so these
//!    are bounded only by the body budget);
//! 2. **unauthenticated bodies**: the same to `/webhooks/vapi` with a wrong secret (refused
//!    from the headers);
//! 3. **slowloris**: S connections drip header lines once a second and never finish.
//!
//! Prints the answers by status, the peak RSS of each phase and how long slow heads were kept.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ScratchDb;
use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct AttackArgs {
    /// Concurrent connections of each body phase.
    #[arg(long, default_value_t = 100)]
    pub connections: usize,
    /// Body bytes each connection sends (default: the 8 MiB limit minus one).
    #[arg(long, default_value_t = 8 * 1024 * 1024 - 1)]
    pub body_bytes: usize,
    /// Slowloris connections.
    #[arg(long, default_value_t = 200)]
    pub slowloris: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct PhaseReport {
    pub name: &'static str,
    pub seconds: f64,
    /// Answers by HTTP status (`closed`: the connection ended without an answer).
    pub answers: BTreeMap<String, usize>,
    pub peak_rss_mb: f64,
}

#[derive(Debug, serde::Serialize)]
pub struct AttackReport {
    pub connections: usize,
    pub body_bytes: usize,
    pub baseline_rss_mb: f64,
    pub phases: Vec<PhaseReport>,
    /// Slow heads closed by the server, and the longest any was kept (seconds).
    pub slowloris_closed: usize,
    pub slowloris_longest_seconds: f64,
    /// `VmHWM` of the server at the end: the highest resident size it ever had.
    pub server_high_water_mb: f64,
}

const SECRET: &str = "bench-attack-secret";
const CLERK_SECRET: &str = "whsec_YmVuY2gtYXR0YWNrLWNsZXJrLXNlY3JldA==";

pub async fn run(config: Config, args: AttackArgs) -> anyhow::Result<AttackReport> {
    let db = ScratchDb::create(&config, 4).await?;
    let port = free_port()?;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("PORT", port.to_string())
        .env("VAPI_WEBHOOK_SECRET", SECRET)
        .env("CLERK_WEBHOOK_SECRET", CLERK_SECRET)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("start odis-worker serve")?;
    let pid = child.id().context("server pid")?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    wait_ready(addr).await?;
    let report = attack(addr, pid, &args).await;
    let _ = child.kill().await;
    db.drop_db().await;
    report
}

async fn attack(
    addr: std::net::SocketAddr,
    pid: u32,
    args: &AttackArgs,
) -> anyhow::Result<AttackReport> {
    let baseline = rss_mb(pid, "VmRSS:").unwrap_or(0.0);
    let now = chrono::Utc::now().timestamp();
    let clerk = format!(
        "POST /webhooks/clerk HTTP/1.1\r\nhost: x\r\nsvix-id: msg_attack\r\nsvix-timestamp: {now}\r\n\
         svix-signature: v1,AAAA\r\ncontent-length: {}\r\n\r\n",
        args.body_bytes
    );
    let vapi = format!(
        "POST /webhooks/vapi HTTP/1.1\r\nhost: x\r\nx-vapi-secret: wrong\r\ncontent-length: {}\r\n\r\n",
        args.body_bytes
    );
    let mut phases = Vec::new();
    for (name, head) in [
        ("forged clerk bodies", clerk),
        ("unauthenticated vapi bodies", vapi),
    ] {
        phases.push(body_phase(name, addr, pid, head, args).await);
    }
    let (closed, longest) = slowloris(addr, args.slowloris).await;
    Ok(AttackReport {
        connections: args.connections,
        body_bytes: args.body_bytes,
        baseline_rss_mb: baseline,
        phases,
        slowloris_closed: closed,
        slowloris_longest_seconds: longest,
        server_high_water_mb: rss_mb(pid, "VmHWM:").unwrap_or(0.0),
    })
}

/// N connections each sending `head` and its whole body, while the server's RSS is sampled.
async fn body_phase(
    name: &'static str,
    addr: std::net::SocketAddr,
    pid: u32,
    head: String,
    args: &AttackArgs,
) -> PhaseReport {
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = tokio::spawn(sample_rss(pid, peak.clone()));
    let started = Instant::now();
    let chunk = Arc::new(vec![b' '; 64 * 1024]);
    let clients: Vec<_> = (0..args.connections)
        .map(|_| {
            let (head, chunk, bytes) = (head.clone(), chunk.clone(), args.body_bytes);
            tokio::spawn(async move { send_body(addr, &head, &chunk, bytes).await })
        })
        .collect();
    let mut answers = BTreeMap::new();
    for client in clients {
        let status = client.await.unwrap_or_else(|_| "panicked".into());
        *answers.entry(status).or_insert(0) += 1;
    }
    sampling.abort();
    PhaseReport {
        name,
        seconds: started.elapsed().as_secs_f64(),
        answers,
        peak_rss_mb: peak.load(Ordering::Relaxed) as f64 / 1024.0,
    }
}

/// Sends a head and up to `bytes` of body (stopping when the server answers or closes); the
/// answer's status, or `closed`.
async fn send_body(addr: std::net::SocketAddr, head: &str, chunk: &[u8], bytes: usize) -> String {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return "connect failed".into();
    };
    let (mut reader, mut writer) = stream.split();
    let write = async {
        writer.write_all(head.as_bytes()).await?;
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            writer.write_all(&chunk[..n]).await?;
            left -= n;
        }
        std::io::Result::Ok(())
    };
    let mut answer = [0u8; 12];
    let read = reader.read_exact(&mut answer);
    tokio::pin!(read);
    let status = tokio::select! {
        r = &mut read => r.ok().map(|_| answer),
        _ = write => tokio::time::timeout(Duration::from_secs(30), &mut read).await.ok().and_then(Result::ok).map(|_| answer),
    };
    match status {
        Some(a) => String::from_utf8_lossy(&a[9..12]).into_owned(),
        None => "closed".into(),
    }
}

/// `S` connections dripping one header line a second; how many the server closed and the
/// longest one was kept open (bounded at 30 s).
async fn slowloris(addr: std::net::SocketAddr, connections: usize) -> (usize, f64) {
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(async move {
                let started = Instant::now();
                let mut stream = TcpStream::connect(addr).await.ok()?;
                stream
                    .write_all(b"POST /webhooks/vapi HTTP/1.1\r\n")
                    .await
                    .ok()?;
                while started.elapsed() < Duration::from_secs(30) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if stream.write_all(b"x-drip: 1\r\n").await.is_err() {
                        return Some(started.elapsed().as_secs_f64());
                    }
                    let mut probe = [0u8; 1];
                    let read =
                        tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe));
                    if let Ok(Ok(0)) = read.await {
                        return Some(started.elapsed().as_secs_f64());
                    }
                }
                None
            })
        })
        .collect();
    let mut closed = 0;
    let mut longest: f64 = 0.0;
    for task in tasks {
        match task.await.ok().flatten() {
            Some(secs) => {
                closed += 1;
                longest = longest.max(secs);
            }
            None => longest = longest.max(30.0),
        }
    }
    (closed, longest)
}

async fn sample_rss(pid: u32, peak_kb: Arc<AtomicU64>) {
    loop {
        if let Some(mb) = rss_mb(pid, "VmRSS:") {
            peak_kb.fetch_max((mb * 1024.0) as u64, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `/proc/<pid>/status` field in MB (`VmRSS:`, `VmHWM:`).
fn rss_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Ok(mut s) = TcpStream::connect(addr).await {
            let _ = s
                .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
                .await;
            let mut buf = [0u8; 12];
            if s.read_exact(&mut buf).await.is_ok() && &buf[9..12] == b"200" {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server did not become ready on {addr}")
}

pub fn print(r: &AttackReport) {
    println!(
        "attack: {} connections × {} body bytes; server baseline RSS {:.0} MB",
        r.connections, r.body_bytes, r.baseline_rss_mb
    );
    println!(
        "{:<30} {:>8} {:>14}  answers",
        "phase", "seconds", "peak RSS (MB)"
    );
    for p in &r.phases {
        println!(
            "{:<30} {:>8.1} {:>14.0}  {:?}",
            p.name, p.seconds, p.peak_rss_mb, p.answers
        );
    }
    println!(
        "slowloris: {} closed by the server, longest kept {:.1} s; server high-water RSS {:.0} MB",
        r.slowloris_closed, r.slowloris_longest_seconds, r.server_high_water_mb
    );
}
