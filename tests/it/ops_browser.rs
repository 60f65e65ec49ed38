//! The operator console in a real browser: headless Chromium (Debian's `chromium`) driven through
//! `chromedriver` by fantoccini. Logs in, opens the inbox, filters `unmatched`, replays one event,
//! sees its status change, and saves a screenshot of every page under `target/screenshots/`.
//!
//! Ignored by the default `cargo test` (it needs the browser and takes seconds); `.ci/run`
//! installs the browser when missing and runs it: `scripts/test --test it ops_browser -- --ignored`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use sqlx::PgPool;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::helpers::app::{ops_state, router, send, OPS_TOKEN};
use crate::helpers::seed;
use crate::helpers::sign::{vapi_request, Fixture};

const CLINIC: &str = "0f1c0000-0000-4000-8000-000000000001";

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> PathBuf {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("chromedriver"))
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,900"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a chromedriver session")
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("write screenshot");
}

/// An unmatched VAPI event that becomes processable once its assistant mapping exists.
async fn replayable_event(pool: &PgPool) -> Uuid {
    seed::vapi_fixture_rows(pool).await;
    sqlx::query("DELETE FROM vapi_assistant_mappings WHERE assistant_id = 'asst_inbound_fixture'")
        .execute(pool)
        .await
        .unwrap();
    let raw = Fixture::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/vapi/inbound-status-3-in-progress.json"),
    )
    .unwrap()
    .raw_body()
    .to_vec();
    let (_, answer) = send(&ops_state(pool), vapi_request(&raw)).await;
    assert_eq!(answer["status"], "unmatched", "{answer}");
    // Something else in the inbox, so the filter has work to do.
    let (_, other) = send(
        &ops_state(pool),
        vapi_request(br#"{"message":{"type":"speech-update","status":"started","role":"user"}}"#),
    )
    .await;
    assert_ne!(other["status"], "unmatched", "{other}");
    seed::assistant_mapping(
        pool,
        seed::AssistantMappingOpts {
            clinic_id: CLINIC.parse().unwrap(),
            assistant_id: "asst_inbound_fixture".into(),
            ..Default::default()
        },
    )
    .await;
    answer["event_id"].as_str().unwrap().parse().unwrap()
}

#[sqlx::test(migrations = "./migrations")]
#[ignore = "needs chromium + chromedriver; .ci/run runs it"]
async fn ops_browser_login_filter_replay_and_screenshots(pool: PgPool) {
    let event_id = replayable_event(&pool).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(odis_worker::http::server::serve(
        listener,
        router(ops_state(&pool)),
        async move {
            let _ = stopped.await;
        },
    ));
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    let result = drive(&c, &base, event_id).await;
    shot(&c, "last").await;
    let _ = c.close().await;
    let _ = stop.send(());
    let _ = server.await;
    result.unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM webhook_events WHERE id = $1")
        .bind(event_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "processed");
}

async fn drive(c: &Client, base: &str, event_id: Uuid) -> Result<(), fantoccini::error::CmdError> {
    // Not logged in: the login form.
    c.goto(&format!("{base}/ops/inbox")).await?;
    shot(c, "login").await;
    c.find(Locator::Css("#token"))
        .await?
        .send_keys(OPS_TOKEN)
        .await?;
    c.find(Locator::Css("form[action='/ops/login'] button"))
        .await?
        .click()
        .await?;
    c.wait().for_element(Locator::Css("table#inbox")).await?;
    assert!(c.current_url().await?.path().ends_with("/ops/inbox"));

    // Filter unmatched: only our event is listed.
    c.find(Locator::Css("#status-filter"))
        .await?
        .select_by_value("unmatched")
        .await?;
    c.find(Locator::Css("#apply-filters"))
        .await?
        .click()
        .await?;
    // The filtered page renders the filter as selected.
    c.wait()
        .for_element(Locator::Css(
            "#status-filter option[value='unmatched'][selected]",
        ))
        .await?;
    let links = c.find_all(Locator::Css("a.event-link")).await?;
    assert_eq!(links.len(), 1, "one unmatched event");
    // The live counts were loaded by htmx.
    c.wait().for_element(Locator::Css("#live .badge")).await?;
    shot(c, "inbox").await;

    // Open it and replay it: its status changes from unmatched to processed.
    links[0].click().await?;
    let status = c.wait().for_element(Locator::Css("#event-status")).await?;
    assert_eq!(status.text().await?, "unmatched");
    assert!(c
        .current_url()
        .await?
        .path()
        .ends_with(&event_id.to_string()));
    shot(c, "event").await;
    c.find(Locator::Css("#replay")).await?.click().await?;
    let result = c.wait().for_element(Locator::Css("#replay-result")).await?;
    assert_eq!(result.text().await?, "processed");
    assert_eq!(
        c.find(Locator::Css("#event-status")).await?.text().await?,
        "processed"
    );
    shot(c, "event-replayed").await;

    for page in ["queue", "periodic", "runs", "batches", "outbound"] {
        c.goto(&format!("{base}/ops/{page}")).await?;
        c.wait().for_element(Locator::Css("main h1")).await?;
        shot(c, page).await;
    }
    Ok(())
}
