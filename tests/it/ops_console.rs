//! The operator console (`/ops`) through the real router: access (503 without `OPS_TOKEN`, 401
//! without login, signed session cookie, Bearer, throttled wrong tokens), CSRF on every POST,
//! every page rendering seeded data, escaping, masking, keyset pagination and the actions.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::app::{ops_state, router, send_text, state, OPS_TOKEN};
use crate::helpers::seed::{self, WebhookEventOpts};
use crate::helpers::sign::{vapi_request, Fixture};

/// A logged-in browser: the router it talks to, its session cookie and its CSRF token.
struct Console {
    app: Router,
    cookie: String,
    csrf: String,
}

impl Console {
    async fn login(app: Router) -> Self {
        let (status, headers, _) = send_text(&app, login_request(OPS_TOKEN, false)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let set_cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        let mut c = Self {
            app,
            cookie,
            csrf: String::new(),
        };
        let req = Request::get("/ops/inbox")
            .header(header::COOKIE, &c.cookie)
            .body(Body::empty())
            .unwrap();
        let (_, headers, _) = send_text(&c.app, req).await;
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let (status, page) = c.get("/ops/inbox").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        c.csrf = csrf_of(&page);
        c
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let req = Request::get(path)
            .header(header::COOKIE, &self.cookie)
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = send_text(&self.app, req).await;
        (status, body)
    }

    /// POSTs `form` (urlencoded) with the session cookie; `csrf` adds the session's token.
    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        csrf: bool,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        if csrf {
            pairs.push(("csrf", &self.csrf));
        }
        let body = urlencode(&pairs);
        let req = Request::post(path)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        send_text(&self.app, req).await
    }
}

fn urlencode(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://x/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or("").to_string()
}

fn login_request(token: &str, https: bool) -> Request<Body> {
    let mut req = Request::post("/ops/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if https {
        req = req.header("x-forwarded-proto", "https");
    }
    req.body(Body::from(urlencode(&[("token", token)])))
        .unwrap()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

fn bearer_get(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

async fn event_status(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM webhook_events WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn event(pool: &PgPool, delivery: &str, status: &str, payload: &str) -> Uuid {
    seed::webhook_event(
        pool,
        WebhookEventOpts {
            delivery_id: delivery.into(),
            event_type: Some("status-update".into()),
            status: status.into(),
            payload: payload.as_bytes().to_vec(),
            ..Default::default()
        },
    )
    .await
}

#[sqlx::test(migrations = "./migrations")]
async fn without_ops_token_every_route_answers_503(pool: PgPool) {
    let app = router(state(&pool));
    for req in [
        Request::get("/ops").body(Body::empty()).unwrap(),
        Request::get("/ops/inbox").body(Body::empty()).unwrap(),
        Request::get("/ops/static/htmx.min.js")
            .body(Body::empty())
            .unwrap(),
        login_request("anything-at-all-0123456789abcdef012", false),
        bearer_get("/ops/queue", OPS_TOKEN),
    ] {
        let path = req.uri().to_string();
        let (status, headers, body) = send_text(&app, req).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{path}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"], "not_configured", "{path}");
        assert!(json["reason"].as_str().unwrap().contains("OPS_TOKEN"));
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn without_login_pages_and_actions_answer_401_with_the_login_form(pool: PgPool) {
    let id = event(&pool, "d-1", "unmatched", "{}").await;
    let app = router(ops_state(&pool));
    let replay = format!("/ops/inbox/{id}/replay");
    for req in [
        Request::get("/ops/inbox").body(Body::empty()).unwrap(),
        Request::get("/ops/queue").body(Body::empty()).unwrap(),
        Request::post(replay.as_str()).body(Body::empty()).unwrap(),
        bearer_get("/ops/inbox", "not-the-token"),
        // A cookie we did not sign.
        Request::get("/ops/inbox")
            .header(header::COOKIE, "odis_ops=4102444800|forged")
            .body(Body::empty())
            .unwrap(),
    ] {
        let path = req.uri().to_string();
        let (status, _, body) = send_text(&app, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(body.contains("action=\"/ops/login\""), "{path}: {body}");
    }
    assert_eq!(event_status(&pool, id).await, "unmatched");
    // The login form and the static files need no login.
    for path in [
        "/ops/login",
        "/ops/static/htmx.min.js",
        "/ops/static/ops.css",
    ] {
        let req = Request::get(path).body(Body::empty()).unwrap();
        assert_eq!(send_text(&app, req).await.0, StatusCode::OK, "{path}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn login_gives_a_signed_strict_httponly_cookie_and_tampering_voids_it(pool: PgPool) {
    let app = router(ops_state(&pool));
    let (status, headers, _) = send_text(&app, login_request(OPS_TOKEN, false)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ops/inbox");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/ops", "Max-Age=28800"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert!(
        !cookie.contains(OPS_TOKEN),
        "the token is not in the cookie"
    );

    let (_, headers, _) = send_text(&app, login_request(OPS_TOKEN, true)).await;
    let secure = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(secure.contains("Secure"), "over https: {secure}");

    // Change one character of the signed value: refused.
    let pair = cookie.split(';').next().unwrap();
    let (name, value) = pair.split_once('=').unwrap();
    let mut chars: Vec<char> = value.chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == '0' { '1' } else { '0' };
    let tampered = format!("{name}={}", chars.into_iter().collect::<String>());
    for c in [tampered.as_str()] {
        let req = Request::get("/ops/inbox")
            .header(header::COOKIE, c)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send_text(&app, req).await.0, StatusCode::UNAUTHORIZED);
    }
    // A session signed under another OPS_TOKEN is refused too.
    let mut other = crate::helpers::app::config(crate::helpers::app::NO_PROVIDERS);
    other.ops_token = Some(odis_worker::config::Secret::new(
        "another-ops-token-0123456789abcdef-01234",
    ));
    let other_app = router(crate::helpers::app::state_with(&pool, other));
    let req = Request::get("/ops/inbox")
        .header(header::COOKIE, pair)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send_text(&other_app, req).await.0, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = "./migrations")]
async fn wrong_tokens_get_401_then_429_and_sessions_keep_working(pool: PgPool) {
    let app = router(ops_state(&pool));
    let console = Console::login(app.clone()).await;
    for i in 0..10 {
        let (status, _, body) = send_text(
            &app,
            login_request("wrong-token-0123456789abcdef-0123456", false),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(body.contains("Wrong token"));
    }
    // Throttled now, even with the right token, by form or Bearer.
    let (status, headers, _) = send_text(&app, login_request(OPS_TOKEN, false)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=301).contains(&retry), "{retry}");
    let (status, _, _) = send_text(&app, bearer_get("/ops/inbox", OPS_TOKEN)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // An existing session is not locked out.
    assert_eq!(console.get("/ops/inbox").await.0, StatusCode::OK);
}

#[sqlx::test(migrations = "./migrations")]
async fn posts_without_the_sessions_csrf_token_are_403_and_change_nothing(pool: PgPool) {
    let id = event(
        &pool,
        "d-1",
        "failed",
        r#"{"message":{"type":"speech-update"}}"#,
    )
    .await;
    let console = Console::login(router(ops_state(&pool))).await;
    let replay = format!("/ops/inbox/{id}/replay");
    let (status, _, _) = console.post(&replay, &[], false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = console.post(&replay, &[("csrf", "0000")], false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = console.post("/ops/logout", &[], false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(event_status(&pool, id).await, "failed");
    // A token of another session is not this session's.
    let other = Console::login(console.app.clone()).await;
    assert_ne!(other.csrf, console.csrf);
    let (status, _, _) = console.post(&replay, &[("csrf", &other.csrf)], false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(event_status(&pool, id).await, "failed");
}

#[sqlx::test(migrations = "./migrations")]
async fn replaying_from_the_console_runs_the_pipeline_and_changes_the_status(pool: PgPool) {
    const CLINIC: &str = "0f1c0000-0000-4000-8000-000000000001";
    seed::vapi_fixture_rows(&pool).await;
    sqlx::query("DELETE FROM vapi_assistant_mappings WHERE assistant_id = 'asst_inbound_fixture'")
        .execute(&pool)
        .await
        .unwrap();
    let st = ops_state(&pool);
    let raw = Fixture::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/vapi/inbound-status-3-in-progress.json"),
    )
    .unwrap()
    .raw_body()
    .to_vec();
    let (_, _, answer) = send_text(&router(st.clone()), vapi_request(&raw)).await;
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["status"], "unmatched", "{answer}");
    let id: Uuid = answer["event_id"].as_str().unwrap().parse().unwrap();

    seed::assistant_mapping(
        &pool,
        seed::AssistantMappingOpts {
            clinic_id: CLINIC.parse().unwrap(),
            assistant_id: "asst_inbound_fixture".into(),
            ..Default::default()
        },
    )
    .await;
    let console = Console::login(router(st)).await;
    let (status, page) = console.get(&format!("/ops/inbox/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"event-status\">unmatched<"), "{page}");
    let (status, headers, _) = console
        .post(&format!("/ops/inbox/{id}/replay"), &[], true)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(location, format!("/ops/inbox/{id}?replayed=processed"));
    assert_eq!(event_status(&pool, id).await, "processed");
    let (_, page) = console.get(&location).await;
    assert!(page.contains("id=\"event-status\">processed<"), "{page}");
    assert!(page.contains("id=\"replay-result\">processed<"));
    // The rows it produced are listed.
    assert!(page.contains("inbound_call"), "{page}");
}

#[sqlx::test(migrations = "./migrations")]
async fn replay_all_matching_confirms_the_count_and_enqueues_one_job_per_event(pool: PgPool) {
    odis_worker::db::queue::setup(&pool).await.unwrap();
    let mut unmatched = Vec::new();
    for i in 0..3 {
        unmatched.push(event(&pool, &format!("u-{i}"), "unmatched", "{}").await);
    }
    event(&pool, "p-0", "processed", "{}").await;
    seed::webhook_event(
        &pool,
        WebhookEventOpts {
            source: "clerk".into(),
            delivery_id: "c-0".into(),
            status: "unmatched".into(),
            ..Default::default()
        },
    )
    .await;
    let console = Console::login(router(ops_state(&pool))).await;
    let (status, page) = console
        .get("/ops/inbox/replay?source=vapi&status=unmatched")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"replay-count\">3<"), "{page}");

    let form = [("source", "vapi"), ("status", "unmatched")];
    // The operator confirmed 2, but 3 match now: asked again, nothing enqueued.
    let (status, _, page) = console
        .post(
            "/ops/inbox/replay",
            &[form[0], form[1], ("expected", "2")],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("now matches 3 events"), "{page}");
    assert!(
        crate::helpers::app::pending_jobs(&pool, "odis.reprocess_webhook")
            .await
            .is_empty()
    );

    let (status, headers, _) = console
        .post(
            "/ops/inbox/replay",
            &[form[0], form[1], ("expected", "3")],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::LOCATION]
        .to_str()
        .unwrap()
        .contains("notice=3+events+queued"));
    let mut queued: Vec<Uuid> = sqlx::query_scalar(
        "SELECT (convert_from(job, 'UTF8')::jsonb->>'event_id')::uuid FROM apalis.jobs \
         WHERE job_type = 'odis.reprocess_webhook' AND status = 'Pending'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    queued.sort();
    unmatched.sort();
    assert_eq!(queued, unmatched);
}

#[sqlx::test(migrations = "./migrations")]
async fn payload_markup_is_escaped_and_contacts_are_masked(pool: PgPool) {
    let payload = serde_json::json!({
        "message": {
            "type": "<script>alert('x')</script>",
            "customer": {"number": "+14155550142", "email": "jane.doe@example.com"},
            "transcript": format!("<img src=x onerror=alert(1)> call +1 415 555 0142 {}", "la ".repeat(300)),
        }
    });
    let id = seed::webhook_event(
        &pool,
        WebhookEventOpts {
            delivery_id: "<b>delivery</b>".into(),
            event_type: Some("<script>alert(1)</script>".into()),
            status: "failed".into(),
            last_error: Some("<i>boom</i> for jane.doe@example.com".into()),
            payload: serde_json::to_vec(&payload).unwrap(),
            ..Default::default()
        },
    )
    .await;
    let console = Console::login(router(ops_state(&pool))).await;
    for path in [format!("/ops/inbox/{id}"), "/ops/inbox".to_string()] {
        let (status, page) = console.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("<script>alert"), "{path}: unescaped script");
        assert!(!page.contains("<img src=x"), "{path}");
        assert!(!page.contains("<b>delivery"), "{path}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{path}: {page}"
        );
        assert!(
            !page.contains("4155550142") && !page.contains("415 555 0142"),
            "{path}"
        );
        assert!(!page.contains("jane.doe@"), "{path}");
    }
    let (_, page) = console.get(&format!("/ops/inbox/{id}")).await;
    assert!(page.contains("+1•••••0142"), "{page}");
    assert!(page.contains("j•••@example.com"));
    // The long transcript is folded out of the payload into a section of its own.
    assert!(
        page.contains("folded below as $.message.transcript"),
        "{page}"
    );
    assert!(page.contains("<summary>$.message.transcript"));
}

/// Seeds `n` vapi events received one second apart, newest last; returns their ids newest first.
async fn events_over_time(
    pool: &PgPool,
    n: usize,
    prefix: &str,
    base: chrono::DateTime<Utc>,
) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = event(pool, &format!("{prefix}-{i}"), "processed", "{}").await;
        sqlx::query("UPDATE webhook_events SET received_at = $2 WHERE id = $1")
            .bind(id)
            .bind(base + Duration::seconds(i as i64))
            .execute(pool)
            .await
            .unwrap();
        ids.push(id);
    }
    ids.reverse();
    ids
}

fn listed_ids(page: &str) -> Vec<Uuid> {
    page.split("href=\"/ops/inbox/")
        .skip(1)
        .filter_map(|s| s.get(..36)?.parse().ok())
        .collect()
}

fn next_link(page: &str) -> Option<String> {
    let at = page.find("id=\"older\"")?;
    let start = page[..at].rfind("href=\"")? + 6;
    Some(page[start..].split('"').next()?.replace("&amp;", "&"))
}

#[sqlx::test(migrations = "./migrations")]
async fn keyset_pages_stay_stable_while_events_arrive(pool: PgPool) {
    let base = Utc::now() - Duration::hours(2);
    let ids = events_over_time(&pool, 120, "old", base).await;
    // Two events in the same microsecond: the id breaks the tie, none is lost or repeated.
    sqlx::query("UPDATE webhook_events SET received_at = $1 WHERE id = ANY($2)")
        .bind(base + Duration::seconds(70))
        .bind(&ids[49..51])
        .execute(&pool)
        .await
        .unwrap();
    let mut expected: Vec<(chrono::DateTime<Utc>, Uuid)> =
        sqlx::query_as("SELECT received_at, id FROM webhook_events")
            .fetch_all(&pool)
            .await
            .unwrap();
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<Uuid> = expected.into_iter().map(|(_, id)| id).collect();

    let console = Console::login(router(ops_state(&pool))).await;
    let (_, page1) = console.get("/ops/inbox?source=vapi").await;
    let first = listed_ids(&page1);
    assert_eq!(first, expected[..50]);
    // New deliveries arrive between page views (newer than everything listed).
    events_over_time(&pool, 10, "new", Utc::now()).await;
    let mut seen = first;
    let mut next = next_link(&page1);
    while let Some(link) = next {
        assert!(link.contains("source=vapi"), "the filter is kept: {link}");
        let (status, page) = console.get(&link).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(listed_ids(&page));
        next = next_link(&page);
    }
    assert_eq!(seen, expected, "every old event exactly once, in order");
}

#[sqlx::test(migrations = "./migrations")]
async fn inbox_filters_and_search(pool: PgPool) {
    // Through the real route: the ingest keeps the VAPI call id the search finds.
    let st = ops_state(&pool);
    let body = br#"{"message":{"type":"status-update","status":"ringing","call":{"id":"call-xyz-1","assistantId":"asst-unknown"}}}"#;
    let (_, _, answer) = send_text(&router(st.clone()), vapi_request(body)).await;
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["status"], "skipped", "{answer}");
    let a: Uuid = answer["event_id"].as_str().unwrap().parse().unwrap();
    let b = event(&pool, "delivery-bbb", "processed", "{}").await;
    let console = Console::login(router(st)).await;
    let cases: [(&str, Vec<Uuid>); 5] = [
        ("status=skipped", vec![a]),
        ("status=processed", vec![b]),
        ("q=delivery-bbb", vec![b]),
        ("q=call-xyz-1", vec![a]),
        ("source=clerk", vec![]),
    ];
    for (qs, want) in cases {
        let (status, page) = console.get(&format!("/ops/inbox?{qs}")).await;
        assert_eq!(status, StatusCode::OK, "{qs}");
        assert_eq!(listed_ids(&page), want, "{qs}");
    }
    let (status, page) = console.get(&format!("/ops/inbox?q={a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed_ids(&page), vec![a]);
    let (status, page) = console.get("/ops/inbox?status=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("status"), "{page}");
}

#[sqlx::test(migrations = "./migrations")]
async fn every_page_renders_seeded_data_with_contacts_masked(pool: PgPool) {
    let dc = seed::discharge_case(&pool, "America/New_York").await;
    // Outbound: a failed call with the provider's error, a queued email.
    let call = seed::outbound_call(
        &pool,
        seed::OutboundCallOpts {
            clinic_id: dc.clinic_id,
            case_id: dc.case_id,
            customer_phone: Some("+14155550142".into()),
            status: "failed".into(),
            metadata: Some(
                serde_json::json!({"error": "VAPI 400: customer.number +14155550142 invalid"}),
            ),
            ..Default::default()
        },
    )
    .await;
    seed::outbound_email(
        &pool,
        seed::OutboundEmailOpts {
            clinic_id: dc.clinic_id,
            case_id: dc.case_id,
            recipient_email: "dana.owner@example.com".into(),
            ..Default::default()
        },
    )
    .await;
    // A discharge batch half done.
    let batch = seed::discharge_batch(
        &pool,
        seed::DischargeBatchOpts {
            clinic_id: dc.clinic_id,
            status: "processing".into(),
            total_cases: Some(2),
            ..Default::default()
        },
    )
    .await;
    for status in ["success", "pending"] {
        seed::discharge_batch_item(
            &pool,
            seed::DischargeBatchItemOpts {
                batch_id: batch,
                case_id: dc.case_id,
                status: status.into(),
                ..Default::default()
            },
        )
        .await;
    }
    // An auto-scheduling run with one clinic's skips.
    sqlx::query(
        "INSERT INTO auto_scheduling_runs (status, results, total_cases_processed, total_errors) \
         VALUES ('completed', $1, 4, 0)",
    )
    .bind(
        serde_json::json!([{"clinicName": "Seeded Vet", "casesProcessed": 4,
        "emailsScheduled": 1, "callsScheduled": 2, "skippedCount": 3,
        "skippedByReason": {"opted_out": 3}, "errors": []}]),
    )
    .execute(&pool)
    .await
    .unwrap();
    // A dead job with its last error.
    odis_worker::db::queue::enqueue_dispatch_call(&pool, call, None)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Killed', attempts = 1, done_at = now(), \
         last_result = '{\"Err\": \"RESEND_API_KEY is not configured\"}'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let ev = event(&pool, "d-seeded", "unmatched", "{}").await;

    let console = Console::login(router(ops_state(&pool))).await;
    let pages: [(&str, &[&str]); 7] = [
        ("/ops/inbox", &["unmatched", &ev.to_string()[..8]]),
        (&format!("/ops/inbox/{ev}"), &["d-seeded", "unmatched"]),
        (
            "/ops/queue",
            &[
                "odis.dispatch_call",
                "RESEND_API_KEY is not configured",
                "/retry",
            ],
        ),
        (
            "/ops/periodic",
            &[
                "auto-schedule",
                "sweep-due",
                "inbox-retry",
                "Los_Angeles",
                "UTC)",
            ],
        ),
        ("/ops/runs", &["Seeded Vet", "opted_out: 3"]),
        (
            "/ops/batches",
            &[
                "processing",
                "1 / 2",
                &format!("/ops/batches/{batch}/cancel"),
            ],
        ),
        (
            "/ops/outbound",
            &["+1•••••0142", "d•••@example.com", "invalid"],
        ),
    ];
    for (path, wanted) in pages {
        let (status, page) = console.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        for w in wanted {
            assert!(page.contains(w), "{path} lacks {w:?}: {page}");
        }
        assert!(!page.contains("4155550142"), "{path}: unmasked phone");
        assert!(!page.contains("dana.owner@"), "{path}: unmasked e-mail");
    }
    // The live counts, as JSON for scripts.
    let req = Request::get("/ops/live")
        .header(header::COOKIE, &console.cookie)
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send_text(&console.app, req).await;
    assert_eq!(status, StatusCode::OK);
    let live: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(live["inbox"]["unmatched"], 1);
    assert_eq!(live["queue"]["dead"], 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn queue_periodic_and_batch_actions(pool: PgPool) {
    let dc = seed::discharge_case(&pool, "America/New_York").await;
    let call = seed::outbound_call(
        &pool,
        seed::OutboundCallOpts {
            clinic_id: dc.clinic_id,
            case_id: dc.case_id,
            scheduled_for: Some(Utc::now() + Duration::days(1)),
            ..Default::default()
        },
    )
    .await;
    odis_worker::db::queue::enqueue_dispatch_call(&pool, call, None)
        .await
        .unwrap();
    odis_worker::db::queue::enqueue_dispatch_call(&pool, call, None)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE apalis.jobs SET status = 'Failed', attempts = max_attempts, done_at = now()",
    )
    .execute(&pool)
    .await
    .unwrap();
    let jobs: Vec<String> = sqlx::query_scalar("SELECT id FROM apalis.jobs ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let st = ops_state(&pool);
    let console = Console::login(router(st.clone())).await;

    let (status, headers, _) = console
        .post(&format!("/ops/queue/{}/retry", jobs[0]), &[], true)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/ops/queue?notice="));
    // A script retries nothing twice: the job is no longer dead.
    let req = Request::post(format!("/ops/queue/{}/retry", jobs[0]))
        .header(header::AUTHORIZATION, format!("Bearer {OPS_TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send_text(&console.app, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["ok"],
        false
    );
    let (status, _, _) = console
        .post(&format!("/ops/queue/{}/discard", jobs[1]), &[], true)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let left: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT id, status, attempts FROM apalis.jobs ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(left, vec![(jobs[0].clone(), "Pending".to_string(), 0)]);

    // Run now: a tick of its own, recorded with its result.
    let (status, _, _) = console.post("/ops/periodic/sweep-due/run", &[], true).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (claimed_by, result): (String, Option<serde_json::Value>) =
        sqlx::query_as("SELECT claimed_by, result FROM job_ticks WHERE name = 'sweep-due'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(claimed_by.starts_with("ops:"), "{claimed_by}");
    assert!(result.is_some_and(|r| r.is_object()));
    let (_, page) = console.get("/ops/periodic").await;
    assert!(page.contains(&claimed_by), "{page}");
    let (status, _, _) = console
        .post("/ops/periodic/no-such-job/run", &[], true)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Cancel a running batch; an unknown batch is 404.
    let batch = seed::discharge_batch(
        &pool,
        seed::DischargeBatchOpts {
            clinic_id: dc.clinic_id,
            status: "processing".into(),
            ..Default::default()
        },
    )
    .await;
    let (status, _, _) = console
        .post(&format!("/ops/batches/{batch}/cancel"), &[], true)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let status: String = sqlx::query_scalar("SELECT status FROM discharge_batches WHERE id = $1")
        .bind(batch)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "cancelled");
    let (status, _, _) = console
        .post(
            &format!("/ops/batches/{}/cancel", Uuid::new_v4()),
            &[],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
