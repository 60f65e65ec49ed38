//! `odis-worker replay`: push recorded fixtures, or stored inbox events, through the very same
//! pipeline the webhook routes use (no signature check: the operator is trusted;
//! `docs/behaviour.md#replay`).
//!
//! May import: `domain`, `db`, `state`, `webhooks`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::webhook_events as events;
use crate::state::AppState;
use crate::webhooks::fixtures::{self, Fixture};
use crate::webhooks::inbox::{self, EventStatus, IngestResult, Processed, Source};

#[derive(Debug, Default, Clone)]
pub struct InboxFilter {
    pub source: Option<Source>,
    /// Statuses to re-process (default: `unmatched`, `failed`).
    pub statuses: Vec<EventStatus>,
    pub id: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
}

/// Counts of what happened, by result name; printed as the summary.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    pub total: usize,
    pub results: BTreeMap<String, usize>,
    /// Files whose `expect.status` differs from what happened (`file: expected X, got Y`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unexpected: Vec<String>,
}

impl Summary {
    fn add(&mut self, result: &str) {
        self.total += 1;
        *self.results.entry(result.to_string()).or_default() += 1;
    }
}

fn result_name(p: &Processed) -> String {
    match p {
        Processed::Done(o) => o.status.as_str().to_string(),
        Processed::Invalid { .. } => EventStatus::Invalid.as_str().into(),
        Processed::Failed(_) => EventStatus::Failed.as_str().into(),
        Processed::Busy => "busy".into(),
        Processed::NotFound => "not_found".into(),
    }
}

pub async fn replay_files(state: &AppState, paths: &[PathBuf]) -> anyhow::Result<Summary> {
    let files = fixtures::collect(paths)?;
    anyhow::ensure!(
        !files.is_empty(),
        "no *.json fixture files found in {paths:?}"
    );
    let mut summary = Summary::default();
    for file in files {
        let fixture = Fixture::load(&file)?;
        let delivery = fixture.to_delivery(&file)?;
        let ingested = inbox::ingest(state, &delivery).await?;
        let name = match &ingested.result {
            IngestResult::DuplicateOf(s) => format!("duplicate ({})", s.as_str()),
            IngestResult::Fresh(p) => result_name(p),
        };
        // A first replay must end where the file says; a repeat is a duplicate of that.
        if let (IngestResult::Fresh(_), Some(want)) = (
            &ingested.result,
            fixture.expect.as_ref().and_then(|e| e.status.as_deref()),
        ) {
            if want != name {
                summary
                    .unexpected
                    .push(format!("{}: expected {want}, got {name}", file.display()));
            }
        }
        println!(
            "{:<60} {:<7} {:<28} {}",
            file.display(),
            delivery.source,
            delivery.event_type.as_deref().unwrap_or("-"),
            name
        );
        summary.add(&name);
    }
    Ok(summary)
}

pub async fn replay_inbox(state: &AppState, filter: &InboxFilter) -> anyhow::Result<Summary> {
    const DEFAULT_STATUSES: &[EventStatus] = &[EventStatus::Unmatched, EventStatus::Failed];
    let selection = events::ReplaySelection {
        id: filter.id,
        statuses: if filter.statuses.is_empty() {
            DEFAULT_STATUSES
        } else {
            &filter.statuses
        },
        source: filter.source.map(Source::as_str),
        since: filter.since,
    };
    let ids = events::replay_candidates(&state.pool, &selection).await?;
    let mut summary = Summary::default();
    for (id, source, event_type) in ids {
        let name = result_name(&inbox::process(state, id).await?);
        println!(
            "{id} {source:<7} {:<28} {name}",
            event_type.as_deref().unwrap_or("-")
        );
        summary.add(&name);
    }
    Ok(summary)
}
