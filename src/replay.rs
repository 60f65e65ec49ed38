//! `odis-worker replay`: push recorded fixtures, or stored inbox events, through the very same
//! pipeline the webhook routes use (no signature check: the operator is trusted).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use uuid::Uuid;

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
        Processed::Invalid { .. } => "invalid".into(),
        Processed::Failed(_) => "failed".into(),
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
        let delivery = Fixture::load(&file)?.to_delivery(&file)?;
        let ingested = inbox::ingest(state, &delivery).await?;
        let name = match &ingested.result {
            IngestResult::DuplicateOf(s) => format!("duplicate ({})", s.as_str()),
            IngestResult::Fresh(p) => result_name(p),
        };
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
    let statuses: Vec<String> = if filter.statuses.is_empty() {
        vec!["unmatched".into(), "failed".into()]
    } else {
        filter
            .statuses
            .iter()
            .map(|s| s.as_str().to_string())
            .collect()
    };
    let ids: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "SELECT id, source, event_type FROM webhook_events
         WHERE ($1::uuid IS NULL OR id = $1)
           AND ($1::uuid IS NOT NULL OR status = ANY($2))
           AND ($3::text IS NULL OR source = $3)
           AND ($4::timestamptz IS NULL OR received_at >= $4)
         ORDER BY received_at, id",
    )
    .bind(filter.id)
    .bind(&statuses)
    .bind(filter.source.map(|s| s.as_str()))
    .bind(filter.since)
    .fetch_all(&state.pool)
    .await?;
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
