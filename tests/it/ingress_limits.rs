//! What unauthenticated traffic can cost the server (`docs/behaviour.md#ingress-limits`), over
//! real sockets against the real server loop (`http::server`): checks made before a body is
//! read, the body budget, header-read and idle timeouts, JSON bodies on every error (including
//! hyper's own), bounded metric labels, QStash dedupe on what is signed, and poison events.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::helpers::app::{self, send, AppState};
use crate::helpers::sign::{self, CLERK_SECRET, VAPI_SECRET};
use odis_worker::http::server::{serve_with, Limits};

/// The real server on a loopback port; stopped when the guard is dropped.
struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn start(state: AppState, limits: Limits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let router = app::router(state);
    tokio::spawn(serve_with(
        listener,
        router,
        limits,
        stop.clone().cancelled_owned(),
    ));
    Server { addr, stop }
}

/// One HTTP response read off a socket: status and the body parsed as JSON.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// Reads one response (up to `Content-Length`) within `within`; `None` if the server sent
/// nothing before closing or in time.
async fn read_answer(stream: &mut TcpStream, within: Duration) -> Option<Answer> {
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= pos + 4 + length {
                let status = head.get(9..12)?.parse().ok()?;
                let body =
                    serde_json::from_slice(&buf[pos + 4..pos + 4 + length]).unwrap_or(Value::Null);
                return Some(Answer { status, head, body });
            }
        }
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends a request head only (no body bytes) and returns the stream.
async fn send_head(addr: SocketAddr, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

const BIG: usize = 8 * 1024 * 1024 - 1;

#[sqlx::test(migrations = "./migrations")]
async fn unauthenticated_requests_are_refused_before_their_body_is_read(pool: PgPool) {
    let server = start(app::state(&pool), Limits::default()).await;
    let stale = sign::now() - 3_600;
    let heads = [
        // VAPI: wrong shared secret.
        format!("POST /webhooks/vapi HTTP/1.1\r\nhost: x\r\nx-vapi-secret: nope\r\ncontent-length: {BIG}\r\n\r\n"),
        // VAPI: HMAC credential with a stale timestamp.
        format!("POST /webhooks/vapi HTTP/1.1\r\nhost: x\r\nx-signature: 00\r\nx-timestamp: {stale}\r\ncontent-length: {BIG}\r\n\r\n"),
        // Clerk: stale Svix timestamp.
        format!("POST /webhooks/clerk HTTP/1.1\r\nhost: x\r\nsvix-id: msg_1\r\nsvix-timestamp: {stale}\r\nsvix-signature: v1,AAAA\r\ncontent-length: {BIG}\r\n\r\n"),
        // Clerk: no signature header.
        format!("POST /webhooks/clerk HTTP/1.1\r\nhost: x\r\nsvix-id: msg_1\r\nsvix-timestamp: {}\r\ncontent-length: {BIG}\r\n\r\n", sign::now()),
        // QStash: a token signed with another key (the token is checked without the body).
        format!(
            "POST /webhooks/qstash/execute-call HTTP/1.1\r\nhost: x\r\nupstash-signature: {}\r\ncontent-length: {BIG}\r\n\r\n",
            sign::qstash_token("sig_wrong", "/webhooks/qstash/execute-call", b"{}", sign::now())
        ),
    ];
    for head in heads {
        let mut stream = send_head(server.addr, &head).await;
        // Not one body byte was sent: the answer can only come from the headers.
        let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
        let answer = answer.unwrap_or_else(|| panic!("no answer before the body to {head}"));
        assert_eq!(answer.status, 401, "{head}: {answer:?}");
        assert_eq!(answer.body["error"], "unauthorized", "{answer:?}");
    }
    // A declared body over the limit is a 413 at once, even with valid credentials.
    let head = format!(
        "POST /webhooks/vapi HTTP/1.1\r\nhost: x\r\nx-vapi-secret: {VAPI_SECRET}\r\ncontent-length: {}\r\n\r\n",
        BIG + 2
    );
    let mut stream = send_head(server.addr, &head).await;
    let answer = read_answer(&mut stream, Duration::from_secs(5))
        .await
        .expect("413 at once");
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(answer.body["error"], "payload_too_large");
}

/// Clerk headers that pass every pre-body check (fresh, present) but carry a forged signature:
/// the body must be read to refuse it, so these are what the budget bounds.
fn forged_clerk_head(length: usize) -> String {
    format!(
        "POST /webhooks/clerk HTTP/1.1\r\nhost: x\r\nsvix-id: msg_forged\r\nsvix-timestamp: {}\r\nsvix-signature: v1,AAAA\r\ncontent-length: {length}\r\n\r\n",
        sign::now()
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn bodies_beyond_the_budget_wait_outside_with_retry_after(pool: PgPool) {
    let mut state = app::state(&pool);
    // A budget of two 1 MiB bodies, so the test sends little.
    state.body_budget = Arc::new(Semaphore::new(2 * 1024 * 1024));
    let budget = state.body_budget.clone();
    let server = start(state, Limits::default()).await;
    const MIB: usize = 1024 * 1024;
    // Two slow senders hold the whole budget (half of each body sent).
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut s = send_head(server.addr, &forged_clerk_head(MIB)).await;
        s.write_all(&vec![b' '; MIB / 2]).await.unwrap();
        holders.push(s);
    }
    // Wait until both reservations are taken.
    for _ in 0..100 {
        if budget.available_permits() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        budget.available_permits(),
        0,
        "the slow bodies did not reserve the budget"
    );
    let mut third = send_head(server.addr, &forged_clerk_head(MIB)).await;
    let answer = read_answer(&mut third, Duration::from_secs(5))
        .await
        .expect("503 at once");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.body["error"], "busy");
    assert!(
        answer.head.to_ascii_lowercase().contains("retry-after: 2"),
        "{}",
        answer.head
    );

    // The holders finish: refused for their forged signature, and the budget comes back.
    for mut s in holders {
        s.write_all(&vec![b' '; MIB / 2]).await.unwrap();
        let answer = read_answer(&mut s, Duration::from_secs(5))
            .await
            .expect("answer");
        assert_eq!(answer.status, 401, "{answer:?}");
    }
    for _ in 0..100 {
        if budget.available_permits() == 2 * MIB {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(budget.available_permits(), 2 * MIB, "budget not given back");
}

#[sqlx::test(migrations = "./migrations")]
async fn slow_headers_and_idle_connections_are_closed(pool: PgPool) {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(1_500),
    };
    let server = start(app::state(&pool), limits).await;
    // Slowloris: a head that never ends.
    let mut slow = send_head(server.addr, "POST /webhooks/vapi HTTP/1.1\r\nhost: x\r\n").await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = slow.write_all(b"x-drip: 1\r\n").await;
    }
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a slow head was not disconnected");

    // A connection that sends nothing at all.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "an idle connection was not closed");
}

#[sqlx::test(migrations = "./migrations")]
async fn every_error_answer_is_json(pool: PgPool) {
    let mut state = app::state(&pool);
    state.body_read_timeout = Duration::from_millis(300);
    let server = start(state, Limits::default()).await;
    let huge_header = "a".repeat(100 * 1024);
    let cases: Vec<(String, u16, &str)> = vec![
        ("GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n".into(), 404, "not_found"),
        ("GET /webhooks/vapi HTTP/1.1\r\nhost: x\r\n\r\n".into(), 405, "method_not_allowed"),
        // A body promised and never sent.
        (
            format!("POST /webhooks/vapi HTTP/1.1\r\nhost: x\r\nx-vapi-secret: {VAPI_SECRET}\r\ncontent-length: 100\r\n\r\n"),
            408,
            "request_timeout",
        ),
        // hyper's own answers.
        (
            format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {huge_header}\r\n\r\n"),
            431,
            "headers_too_large",
        ),
        ("NOT HTTP AT ALL\r\n\r\n".into(), 400, "bad_request"),
    ];
    for (request, status, error) in cases {
        let mut stream = send_head(server.addr, &request).await;
        let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
        let answer = answer.unwrap_or_else(|| panic!("no answer to {}", &request[..20]));
        assert_eq!(answer.status, status, "{answer:?}");
        assert_eq!(answer.body["error"], error, "{answer:?}");
        assert!(answer
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/json"));
    }
}

/// The series of `/metrics` with `name`.
fn series(name: &str) -> Vec<String> {
    let text = odis_worker::metrics::handle().expect("recorder").render();
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(str::to_owned)
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn junk_requests_add_no_metric_series(pool: PgPool) {
    let state = app::state(&pool);
    let server = start(state.clone(), Limits::default()).await;
    // Warm the closed labels these requests can produce.
    let mut stream = send_head(server.addr, "JUNK0 /x/0 HTTP/1.1\r\nhost: x\r\n\r\n").await;
    read_answer(&mut stream, Duration::from_secs(5))
        .await
        .expect("answer");
    let before = series("odis_http_requests_total").len();
    for i in 1..=1_000 {
        let request = format!("JUNK{i} /x/{i} HTTP/1.1\r\nhost: x\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = read_answer(&mut stream, Duration::from_secs(5))
            .await
            .expect("answer");
        assert_eq!(answer.status, 404);
    }
    for i in 0..50 {
        let body = json!({"message": {"type": format!("junk-type-{i}")}}).to_string();
        let (status, _) = send(&state, sign::vapi_request(body.as_bytes())).await;
        assert!(status.is_success() || status.is_client_error(), "{status}");
    }
    let after = series("odis_http_requests_total");
    let junk: Vec<&String> = after
        .iter()
        .filter(|l| l.contains("JUNK") || l.contains("/x/"))
        .collect();
    assert!(junk.is_empty(), "junk in labels: {junk:?}");
    // Other tests of this process may add a few legitimate series meanwhile; 1,000 junk
    // requests would have added 1,000.
    assert!(
        after.len() < before + 20,
        "{} series before, {} after",
        before,
        after.len()
    );
    let webhook_junk: Vec<String> = series("odis_webhooks_received_total")
        .into_iter()
        .filter(|l| l.contains("junk-type"))
        .collect();
    assert!(webhook_junk.is_empty(), "{webhook_junk:?}");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_replayed_qstash_token_is_one_delivery(pool: PgPool) {
    odis_worker::jobs::setup(&pool).await.unwrap();
    let state = app::state(&pool);
    let path = "/webhooks/qstash/auto-schedule";
    let body = br#"{"dryRun":true}"#;
    let token = sign::qstash_token(sign::QSTASH_CURRENT, path, body, sign::now());
    let mut statuses = Vec::new();
    for message_id in ["msg_a", "msg_b", "msg_c"] {
        let req = axum::http::Request::post(path)
            .header("content-type", "application/json")
            .header("upstash-message-id", message_id)
            .header("upstash-signature", &token)
            .body(axum::body::Body::from(body.to_vec()))
            .unwrap();
        let (status, answer) = send(&state, req).await;
        let error: Option<String> =
            sqlx::query_scalar("SELECT max(last_error) FROM webhook_events")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(status, 200, "{answer} {error:?}");
        statuses.push(answer["status"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, ["processed", "duplicate", "duplicate"]);
    let (events, jobs): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM webhook_events WHERE source = 'qstash'),
                (SELECT count(*) FROM apalis.jobs WHERE job_type = 'odis.auto_schedule_run')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((events, jobs), (1, 1));
    // The header id is still there for the operator.
    let header: Option<String> =
        sqlx::query_scalar("SELECT headers->>'upstash-message-id' FROM webhook_events")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(header.as_deref(), Some("msg_a"));
}

#[sqlx::test(migrations = "./migrations")]
async fn an_empty_svix_id_is_a_bad_request(pool: PgPool) {
    let state = app::state(&pool);
    let body = br#"{"type":"user.created","data":{}}"#;
    let ts = sign::now();
    let req = axum::http::Request::post("/webhooks/clerk")
        .header("svix-id", "")
        .header("svix-timestamp", ts.to_string())
        .header(
            "svix-signature",
            sign::svix_signature(CLERK_SECRET, "", ts, body),
        )
        .body(axum::body::Body::from(body.to_vec()))
        .unwrap();
    let (status, answer) = send(&state, req).await;
    assert_eq!(
        (status.as_u16(), &answer["field"]),
        (400, &json!("svix-id")),
        "{answer}"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

/// (status, attempts, next retry set) of the only inbox event.
async fn only_event(pool: &PgPool) -> (String, i32, bool) {
    sqlx::query_as("SELECT status, attempts, next_attempt_at IS NOT NULL FROM webhook_events")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_poison_event_counts_its_attempts(pool: PgPool) {
    let state = app::state(&pool);
    // A type with U+0000: before, the skip note could not be stored and the event stayed
    // `pending` with 0 attempts, re-enqueued forever.
    let body = json!({"type": "user.nothing\u{0000}", "data": {}, "timestamp": 1}).to_string();
    let (status, answer) = send(&state, sign::clerk_request("msg_nul", body.as_bytes())).await;
    assert_eq!(status, 200, "{answer}");
    let (event_status, attempts, _) = only_event(&pool).await;
    assert_eq!((event_status.as_str(), attempts), ("skipped", 1));

    // Whatever makes storing the outcome fail, the attempt still counts (here: a trigger
    // refusing every outcome but `failed`).
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.status <> 'failed' THEN RAISE EXCEPTION 'outcome refused'; END IF;
         RETURN NEW; END $$;
         CREATE TRIGGER refuse_outcome BEFORE UPDATE ON webhook_events
         FOR EACH ROW WHEN (NEW.status <> OLD.status) EXECUTE FUNCTION refuse_outcome();
         DELETE FROM webhook_events;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let body = json!({"type": "user.nothing", "data": {}, "timestamp": 1}).to_string();
    let (status, answer) = send(&state, sign::clerk_request("msg_refused", body.as_bytes())).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(only_event(&pool).await, ("failed".into(), 1, true));
}
