//! What a worker's jobs report back to its storage: started (to be marked `Running`) and
//! finished (the result to store). The layer below replaces apalis-core's `TaskPersistLayer`,
//! which sends the same two events through a channel that only its `Persisted` driver can read;
//! here they wait in a shared list until the next fetch takes them along (`sql::ack_and_fetch`).
//! Stored exactly as apalis stores them: status, attempt, `last_result` = `{"Ok": value}` or
//! `{"Err": "message"}`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use apalis_core::error::BoxDynError;
use apalis_core::task::Task;
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use tower::{Layer, Service};

use super::sql::Acks;

#[derive(Debug)]
enum Report {
    Started(String),
    Finished {
        id: String,
        status: String,
        attempt: usize,
        result: Value,
    },
}

/// Reports not yet written, shared by a worker's jobs and its storage.
#[derive(Clone, Debug, Default)]
pub struct Reports(Arc<Mutex<Vec<Report>>>);

impl Reports {
    fn push(&self, report: Report) {
        if let Ok(mut reports) = self.0.lock() {
            reports.push(report);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.lock().map(|r| r.is_empty()).unwrap_or(true)
    }

    /// Takes every report, as one acknowledgement: results in id order (rows are then locked
    /// in a fixed order), and the started jobs that have not finished meanwhile.
    pub fn take(&self) -> Acks {
        let reports = match self.0.lock() {
            Ok(mut reports) => std::mem::take(&mut *reports),
            Err(_) => Vec::new(),
        };
        let mut finished = Vec::new();
        let mut started = Vec::new();
        for report in reports {
            match report {
                Report::Started(id) => started.push(id),
                Report::Finished {
                    id,
                    status,
                    attempt,
                    result,
                } => finished.push((id, status, attempt, result)),
            }
        }
        finished.sort_by(|a, b| a.0.cmp(&b.0));
        let done: HashSet<&String> = finished.iter().map(|f| &f.0).collect();
        started.retain(|id| !done.contains(id));
        started.sort();
        let mut acks = Acks {
            locks: started,
            ..Acks::default()
        };
        for (id, status, attempt, result) in finished {
            acks.ids.push(id);
            acks.statuses.push(status);
            acks.attempts
                .push(i32::try_from(attempt).unwrap_or(i32::MAX));
            acks.results.push(result);
        }
        acks
    }
}

/// Reports each job's start (when `lock`) and its outcome (when `results`) to [`Reports`].
#[derive(Clone, Debug)]
pub struct ReportLayer {
    pub reports: Reports,
    pub lock: bool,
    pub results: bool,
}

impl<S> Layer<S> for ReportLayer {
    type Service = ReportService<S>;

    fn layer(&self, inner: S) -> ReportService<S> {
        ReportService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ReportService<S> {
    inner: S,
    layer: ReportLayer,
}

impl<S, Args> Service<Task<Args>> for ReportService<S>
where
    S: Service<Task<Args>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxDynError>,
    S::Response: Serialize + Send,
    Args: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<S::Response, BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxDynError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, task: Task<Args>) -> Self::Future {
        let ctx = task.ctx().clone();
        let run = self.inner.call(task);
        let layer = self.layer.clone();
        Box::pin(async move {
            let id = ctx.task_id().map(ToString::to_string);
            if let (true, Some(id)) = (layer.lock, &id) {
                layer.reports.push(Report::Started(id.clone()));
            }
            let outcome = run.await.map_err(Into::into);
            if let (true, Some(id)) = (layer.results, id) {
                let result: Result<Value, String> = match &outcome {
                    Ok(v) => serde_json::to_value(v).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                layer.reports.push(Report::Finished {
                    id,
                    status: ctx.status().to_string(),
                    attempt: ctx.attempt(),
                    result: serde_json::to_value(&result).unwrap_or(Value::Null),
                });
            }
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(id: &str) -> Report {
        Report::Finished {
            id: id.into(),
            status: "Done".into(),
            attempt: 1,
            result: serde_json::json!({"Ok": null}),
        }
    }

    #[test]
    fn an_acknowledgement_orders_results_by_id_and_drops_locks_of_finished_jobs() {
        let reports = Reports::default();
        for r in [
            Report::Started("b".into()),
            Report::Started("c".into()),
            Report::Started("a".into()),
            finished("b"),
            finished("a"),
        ] {
            reports.push(r);
        }
        let acks = reports.take();
        assert_eq!(acks.ids, ["a", "b"]);
        assert_eq!(acks.statuses, ["Done", "Done"]);
        assert_eq!(acks.attempts, [1, 1]);
        assert_eq!(acks.locks, ["c"]);
        assert!(reports.is_empty());
        assert!(reports.take().is_empty());
    }
}
