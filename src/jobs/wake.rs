//! Waking idle workers when a job is inserted (`docs/behaviour.md#jobs`).
//!
//! apalis-postgres's insert trigger notifies `apalis::job::insert` for every job that is due at
//! once. One listener connection per process receives them and wakes the worker of the named
//! queue, which then fetches immediately instead of at its next poll. Polling stays as the
//! fallback (delayed jobs, and any notification lost while the listener reconnects).
//!
//! apalis-postgres's own `PostgresStorageFactory` shares a listener the same way, but its task
//! `unwrap()`s the connection and the channel sends: a database that is down at start-up, or a
//! dropped connection, would end it for good. This one is supervised: it reconnects with
//! back-off and, after a reconnect, wakes every queue once (notifications are not queued while
//! nobody listens). The SQL side (channel, connection) is in `db::queue`.
//!
//! May import: `db`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::queue;

/// Back-off of the listener's reconnects: from 100 ms doubling to 10 s.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// A wake-up signal per queue, fed by one listener.
#[derive(Clone, Default)]
pub struct Wakeups {
    queues: Arc<HashMap<&'static str, Arc<Notify>>>,
}

/// What a worker's poll strategy consumes: one item per wake-up.
pub type WakeStream = Pin<Box<dyn Stream<Item = ()> + Send + Sync>>;

impl Wakeups {
    pub fn new(queues: &[&'static str]) -> Self {
        let map = queues
            .iter()
            .map(|q| (*q, Arc::new(Notify::new())))
            .collect();
        Self {
            queues: Arc::new(map),
        }
    }

    /// The wake-ups of `queue` (never any for a queue this hub was not built with).
    pub fn stream(&self, queue: &str) -> WakeStream {
        match self.queues.get(queue) {
            Some(notify) => Box::pin(futures::stream::unfold(notify.clone(), |n| async move {
                n.notified().await;
                Some(((), n))
            })),
            None => Box::pin(futures::stream::pending()),
        }
    }

    /// Wakes `queue`'s worker; a wake-up for a worker that is busy is kept (one), so its next
    /// fetch comes at once.
    pub fn wake(&self, queue: &str) {
        if let Some(n) = self.queues.get(queue) {
            n.notify_one();
        }
    }

    fn wake_all(&self) {
        for n in self.queues.values() {
            n.notify_one();
        }
    }

    /// Listens until `shutdown`, reconnecting with back-off.
    pub async fn run(self, pool: PgPool, shutdown: CancellationToken) {
        let mut backoff = RECONNECT_MIN;
        loop {
            let connected = tokio::select! {
                _ = shutdown.cancelled() => return,
                l = queue::listen_for_inserts(&pool) => l,
            };
            let mut listener = match connected {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "job wake-up listener cannot connect");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(RECONNECT_MAX);
                    continue;
                }
            };
            backoff = RECONNECT_MIN;
            // Whatever was inserted while nobody listened.
            self.wake_all();
            loop {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    n = listener.try_recv() => n,
                };
                match next {
                    Ok(Some(n)) => {
                        if let Some(q) = queue::inserted_queue(n.payload()) {
                            self.wake(&q);
                        }
                    }
                    // The connection was lost (the next try_recv reconnects): notifications
                    // in between are gone, so wake everyone once.
                    Ok(None) => self.wake_all(),
                    Err(e) => {
                        tracing::warn!(error = %e, "job wake-up listener lost its connection");
                        break;
                    }
                }
            }
        }
    }
}
