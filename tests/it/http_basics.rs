//! Health, readiness, request ids and metrics through the real router; the embedded cluster.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sqlx::PgPool;
use tower::ServiceExt;

use crate::helpers::app::{router, send, state};
use crate::helpers::sign::vapi_request;

#[sqlx::test(migrations = "./migrations")]
async fn healthz_and_readyz(pool: PgPool) {
    let st = state(&pool);
    let (status, json) = send(&st, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    // Schema current but the job queue's tables missing → not ready.
    let (status, json) = send(&st, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        json["reason"].as_str().unwrap().contains("apalis"),
        "{json}"
    );
    odis_worker::jobs::setup(&pool).await.unwrap();
    let (status, json) = send(&st, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(json["status"].as_str(), Some("ready"), "{json}");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["queue"]["pending"], 0);
    assert_eq!(json["queue"]["dead"], 0);

    // A migration the database has not applied → not ready, with the reason.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (status, json) = send(&st, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        json["reason"].as_str().unwrap().contains("pending"),
        "{json}"
    );

    // Database gone → not ready, healthz still fine.
    pool.close().await;
    let (status, _) = send(&st, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = send(&st, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
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

#[sqlx::test(migrations = "./migrations")]
async fn metrics_count_webhooks_and_requests(pool: PgPool) {
    let st = state(&pool);
    let (status, _) = send(
        &st,
        vapi_request(br#"{"message":{"type":"speech-update"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let forged = Request::post("/webhooks/vapi")
        .header("x-vapi-secret", "nope")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _) = send(&st, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let resp = router(st.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(
        axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    for needle in [
        r#"odis_webhooks_received_total{source="vapi",type="speech-update",result="skipped"}"#,
        r#"odis_webhooks_rejected_total{source="vapi",reason="secret mismatch"}"#,
        r#"odis_inbox_events{status="skipped"}"#,
        "odis_http_request_duration_seconds_bucket",
        r#"route="/webhooks/vapi""#,
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

/// The embedded cluster starts from nothing, serves a migrated database, and stops.
#[tokio::test]
async fn embedded_cluster_starts_migrates_and_stops() {
    // Under the system temp dir: as root the cluster runs as `postgres`, which must be able to
    // reach the directory (a checkout under /root would not be).
    let dir = std::env::temp_dir().join(format!("odis-embedded-test-{}", uuid::Uuid::new_v4()));
    let pg = match odis_worker::db::embedded::EmbeddedPostgres::start(&dir).await {
        Ok(pg) => pg,
        Err(odis_worker::db::embedded::EmbeddedError::BinariesNotFound) => {
            eprintln!("no PostgreSQL binaries on this machine: nothing to test");
            return;
        }
        Err(e) => panic!("embedded start failed: {e}"),
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
