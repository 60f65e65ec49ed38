//! Health, readiness, request ids and metrics through the real router; the embedded cluster.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sqlx::PgPool;
use tower::ServiceExt;

use crate::helpers::app::{router, send, state, AppState};
use crate::helpers::cluster;
use crate::helpers::sign::vapi_request;

/// What a step of [`healthz_and_readyz`] does to the database before probing.
enum Change {
    Nothing,
    SetUpTheJobQueue,
    ForgetTheLastMigration,
    CloseThePool,
}

/// `/readyz` follows the database step by step; `/healthz` stays fine throughout.
#[sqlx::test(migrations = "./migrations")]
async fn healthz_and_readyz(pool: PgPool) {
    let st = state(&pool);
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let unavailable = StatusCode::SERVICE_UNAVAILABLE;
    // (step, change, /readyz status, a word of its reason)
    let steps = [
        (
            "schema current, the job queue's tables missing",
            Change::Nothing,
            unavailable,
            Some("apalis"),
        ),
        (
            "the job queue set up",
            Change::SetUpTheJobQueue,
            StatusCode::OK,
            None,
        ),
        (
            "a migration the database has not applied",
            Change::ForgetTheLastMigration,
            unavailable,
            Some("pending"),
        ),
        ("the database gone", Change::CloseThePool, unavailable, None),
    ];
    for (step, change, status, reason) in steps {
        match change {
            Change::Nothing => {}
            Change::SetUpTheJobQueue => odis_worker::jobs::setup(&pool).await.unwrap(),
            Change::ForgetTheLastMigration => {
                sqlx::query(
                    "DELETE FROM _sqlx_migrations \
                     WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
                )
                .execute(&pool)
                .await
                .unwrap();
            }
            Change::CloseThePool => pool.close().await,
        }
        let (got, json) = send(&st, get("/readyz")).await;
        assert_eq!(got, status, "{step}: {json}");
        if let Some(word) = reason {
            let said = json["reason"].as_str().unwrap_or_default();
            assert!(said.contains(word), "{step}: {json}");
        }
        if status == StatusCode::OK {
            assert_eq!(json["status"].as_str(), Some("ready"), "{step}: {json}");
            assert_eq!(json["queue"]["pending"], 0, "{step}: {json}");
            assert_eq!(json["queue"]["dead"], 0, "{step}: {json}");
        }
        let (got, json) = send(&st, get("/healthz")).await;
        assert_eq!(
            (got, json["status"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{step}: healthz"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn request_ids_are_generated_or_propagated(pool: PgPool) {
    let app = router(state(&pool));
    let resp = app
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let generated = resp
        .headers()
        .get("x-request-id")
        .expect("generated id")
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let resp = app
        .oneshot(
            Request::get("/healthz")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.headers().get("x-request-id").unwrap(), "abc-123");
}

/// `/metrics` as text.
async fn scrape(st: &AppState) -> String {
    let resp = router(st.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    String::from_utf8(
        axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap()
}

/// The value of one series (`name{labels}`) in a scrape; `None` if absent.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        Some(value.trim().parse().expect("a number"))
    })
}

/// The metrics recorder is process-wide and every test of this binary records into it, so this
/// test never asserts absolute counts of shared series: the webhook it counts has a message type
/// of its own (a label no other test produces), and for the series other tests share (rejections,
/// HTTP requests) it asserts that they grew by at least its own requests.
#[sqlx::test(migrations = "./migrations")]
async fn metrics_count_webhooks_and_requests(pool: PgPool) {
    let st = state(&pool);
    // Event types are a closed label set: an unknown type counts as `other`.
    let probe = format!("metrics-probe-{}", uuid::Uuid::new_v4().simple());
    let shared = [
        (
            r#"odis_webhooks_received_total{source="vapi",type="other",result="skipped"}"#,
            1.0,
        ),
        (
            r#"odis_webhooks_rejected_total{source="vapi",reason="secret mismatch"}"#,
            1.0,
        ),
        (
            r#"odis_webhooks_received_total{source="vapi",type="unknown",result="rejected"}"#,
            1.0,
        ),
        (
            r#"odis_http_requests_total{method="POST",route="/webhooks/vapi",status="200"}"#,
            1.0,
        ),
        (
            r#"odis_http_requests_total{method="POST",route="/webhooks/vapi",status="401"}"#,
            1.0,
        ),
        (
            r#"odis_http_request_duration_seconds_count{method="POST",route="/webhooks/vapi"}"#,
            2.0,
        ),
    ];
    let before = scrape(&st).await;

    let body = serde_json::to_vec(&serde_json::json!({"message": {"type": probe}})).unwrap();
    let (status, json) = send(&st, vapi_request(&body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "skipped", "{json}");
    let forged = Request::post("/webhooks/vapi")
        .header("x-vapi-secret", "nope")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _) = send(&st, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let after = scrape(&st).await;
    assert!(
        !after.contains(&probe),
        "an invented event type became a label"
    );
    for (series, grew_by) in shared {
        let (was, is) = (
            metric(&before, series).unwrap_or(0.0),
            metric(&after, series),
        );
        assert!(
            is.is_some_and(|is| is >= was + grew_by),
            "{series} went from {was} to {is:?}, expected +{grew_by} at least, in:\n{after}"
        );
    }
    for needle in [
        r#"odis_inbox_events{status="skipped"}"#,
        "odis_http_request_duration_seconds_bucket",
    ] {
        assert!(after.contains(needle), "missing {needle} in:\n{after}");
    }
}

/// The embedded cluster starts from nothing, serves a migrated database, and stops.
#[tokio::test]
async fn embedded_cluster_starts_migrates_and_stops() {
    let Some((pg, dir)) = cluster::private_cluster("embedded_cluster").await else {
        return;
    };
    let pool = odis_worker::db::connect(&pg.url(), 2)
        .await
        .expect("connect");
    odis_worker::db::migrate(&pool).await.expect("migrate");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(tables >= 44, "{tables} tables");
    assert!(odis_worker::db::pending_migrations(&pool)
        .await
        .unwrap()
        .is_empty());
    pool.close().await;
    let url = pg.url();
    pg.stop().await;
    assert!(
        odis_worker::db::connect(&url, 1).await.is_err(),
        "cluster still answering after stop"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
