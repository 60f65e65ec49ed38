//! The production storage's driver: what apalis-core's `Persisted` does (register the worker,
//! heartbeat and take over orphans, fetch, write results and locks, put back what it could not
//! start on shutdown), but without waiting for one step before starting the next.
//!
//! `Persisted` runs one step at a time: acknowledge, then fetch, then hand out the batch, then
//! acknowledge again. With cheap jobs each cycle is two statements and two commits in a row while
//! the jobs are done long before, and only one of the two cores works at a time
//! (`docs/benchmarks.md`, "Job engine"). Here
//! * results and locks ride in the next fetch's statement (`sql::ack_and_fetch`), and are written
//!   on their own only when no fetch is coming (every slot busy) or at shutdown;
//! * while a fetch is in flight and the queue has a backlog (the last fetch came back full), a
//!   second fetch may run beside it, for the slots the first did not ask for — so one fetch is
//!   being answered while the jobs of the other run and report;
//! * a heartbeat runs beside fetches instead of holding them up.
//!
//! Kept from `Persisted`: a fetch never asks for more jobs than the worker has free slots (those
//! in flight and those fetched but not yet started count as taken), so a worker never holds a job
//! it cannot start; an empty fetch parks the worker until its poll strategy (interval, or a
//! `LISTEN` wake-up) wakes it, so an idle worker costs one fetch per wake-up as before; any error
//! stops the worker (apalis's monitor restarts it) and jobs it held are taken over by another
//! worker once its heartbeats stop. Two statements in flight may deadlock each other; the victim
//! is sent again rather than stopping the worker ([`super::sql::ack_and_fetch`]).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apalis_core::worker::context::WorkerContext;
use apalis_postgres::{Config, Error, PgTask};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio::time::Sleep;

use super::report::Reports;
use super::sql::{self, Acks};
use super::FetchStats;

/// At most this many fetches of one worker are in flight at once (two cores: one statement being
/// answered while the process works through the other's jobs).
pub const FETCHES_IN_FLIGHT: usize = 2;
/// A fetch beside one already in flight only when it can ask for at least this many jobs, so
/// kinds with a few slots (provider- or pool-bound) fetch one at a time as before.
pub const PARALLEL_FETCH_MIN: usize = 64;
/// Acknowledgements written on their own (every slot busy) in flight at once.
const ACKS_IN_FLIGHT: usize = 2;

type Step<T> = BoxFuture<'static, Result<T, Error>>;

struct Fetched {
    asked: usize,
    tasks: Vec<PgTask>,
    results: usize,
}

/// How many jobs the next fetch asks for, from what is free and what is already spoken for.
///
/// `free`: slots not running a job (apalis reserves one for the job it is about to pull before
/// it asks for it, and that one counts as free); `promised`: jobs fetched but not yet started
/// plus jobs asked for by fetches in flight. One fetch at a time takes what is free up to
/// `per_fetch`; a second one beside it only on a backlog and for at least
/// [`PARALLEL_FETCH_MIN`] jobs.
pub fn next_fetch(
    free: usize,
    promised: usize,
    in_flight: usize,
    backlog: bool,
    per_fetch: usize,
) -> usize {
    let open = free.saturating_sub(promised).min(per_fetch.max(1));
    match in_flight {
        0 => open,
        n if n < FETCHES_IN_FLIGHT && backlog && open >= PARALLEL_FETCH_MIN => open,
        _ => 0,
    }
}

pub struct Pipeline {
    pool: PgPool,
    config: Config,
    slots: Arc<Semaphore>,
    concurrency: usize,
    stats: Arc<FetchStats>,
    reports: Reports,
    registered: bool,
    registering: Option<Step<()>>,
    heartbeat: Option<Step<()>>,
    next_heartbeat: Option<Pin<Box<Sleep>>>,
    fetches: FuturesUnordered<Step<Fetched>>,
    requested: usize,
    writes: FuturesUnordered<Step<()>>,
    buffer: VecDeque<PgTask>,
    backlog: bool,
    dead: bool,
}

impl Pipeline {
    pub fn new(
        pool: &PgPool,
        config: Config,
        slots: Arc<Semaphore>,
        concurrency: usize,
        stats: Arc<FetchStats>,
        reports: Reports,
    ) -> Self {
        Self {
            pool: pool.clone(),
            config,
            slots,
            concurrency: concurrency.max(1),
            stats,
            reports,
            registered: false,
            registering: None,
            heartbeat: None,
            next_heartbeat: None,
            fetches: FuturesUnordered::new(),
            requested: 0,
            writes: FuturesUnordered::new(),
            buffer: VecDeque::new(),
            backlog: false,
            dead: false,
        }
    }

    /// Jobs one fetch asks for at most: all the slots, or half of them each when two fetches
    /// may overlap.
    fn per_fetch(&self) -> usize {
        if self.concurrency >= 2 * PARALLEL_FETCH_MIN {
            self.concurrency.div_ceil(FETCHES_IN_FLIGHT)
        } else {
            self.concurrency
        }
    }

    fn fail<T>(&mut self, e: Error) -> Poll<Result<T, Error>> {
        tracing::warn!(queue = %self.config.queue, error = %e, "job storage failed; the worker stops");
        self.dead = true;
        Poll::Ready(Err(e))
    }

    /// Registration first; then heartbeats (beside everything else) and the writes in flight;
    /// reports are written on their own when every slot is busy (no fetch will take them).
    pub fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Error>> {
        if self.dead {
            return Poll::Ready(Ok(()));
        }
        if !self.registered {
            match self.poll_registration(cx, worker) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
        }
        if let Poll::Ready(Err(e)) = self.poll_heartbeat(cx, worker) {
            return self.fail(e);
        }
        if self.slots.available_permits() == 0 {
            self.write_reports(worker);
        }
        if let Poll::Ready(Err(e)) = self.poll_writes(cx) {
            return self.fail(e);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_registration(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Error>> {
        let (pool, config, w) = (self.pool.clone(), self.config.clone(), worker.clone());
        let registering = self.registering.get_or_insert_with(|| {
            async move { super::register(&pool, &config, &w).await }.boxed()
        });
        match registering.poll_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => self.fail(e),
            Poll::Ready(Ok(())) => {
                self.registering = None;
                self.registered = true;
                self.heartbeat_done(cx, worker);
                Poll::Ready(Ok(()))
            }
        }
    }

    /// Tells apalis the worker is alive and arms the next heartbeat.
    fn heartbeat_done(&mut self, cx: &mut Context<'_>, worker: &WorkerContext) {
        worker.heartbeat(cx);
        let mut timer = Box::pin(tokio::time::sleep(self.config.heartbeat_interval));
        // Registers the waker, so the worker is polled when the heartbeat is due.
        let _ = timer.as_mut().poll(cx);
        self.next_heartbeat = Some(timer);
    }

    fn poll_heartbeat(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Error>> {
        if self.heartbeat.is_none() {
            let due = match self.next_heartbeat.as_mut() {
                Some(timer) => timer.as_mut().poll(cx).is_ready(),
                None => false,
            };
            if !due {
                return Poll::Pending;
            }
            let (pool, config, w) = (self.pool.clone(), self.config.clone(), worker.clone());
            self.next_heartbeat = None;
            self.heartbeat =
                Some(async move { super::heartbeat(&pool, &config, &w).await }.boxed());
        }
        let Some(beat) = self.heartbeat.as_mut() else {
            return Poll::Pending;
        };
        match beat.poll_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                self.heartbeat = None;
                if result.is_ok() {
                    self.heartbeat_done(cx, worker);
                }
                Poll::Ready(result)
            }
        }
    }

    /// Drives standalone acknowledgements and re-enqueues; ready with the first error, else
    /// once none is left.
    fn poll_writes(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            match self.writes.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(()))) => {}
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Writes the waiting reports in a statement of their own (the caller polls it), unless
    /// enough such writes are in flight already.
    fn write_reports(&mut self, worker: &WorkerContext) {
        if !self.reports.is_empty() && self.writes.len() < ACKS_IN_FLIGHT {
            self.push_ack(worker);
        }
    }

    fn push_ack(&mut self, worker: &WorkerContext) {
        let acks = self.reports.take();
        let (pool, stats, name) = (
            self.pool.clone(),
            self.stats.clone(),
            worker.name().to_owned(),
        );
        let queue = self.config.queue.to_string();
        self.writes.push(
            async move {
                sql::ack_and_fetch(&pool, &name, &queue, 0, &acks).await?;
                stats.record_ack(acks.ids.len());
                Ok(())
            }
            .boxed(),
        );
    }

    /// Starts a fetch if [`next_fetch`] allows one, carrying the waiting reports.
    fn start_fetch(&mut self, worker: &WorkerContext) -> bool {
        let free = self.slots.available_permits() + 1;
        let promised = self.buffer.len() + self.requested;
        let n = next_fetch(
            free,
            promised,
            self.fetches.len(),
            self.backlog,
            self.per_fetch(),
        );
        if n == 0 {
            return false;
        }
        self.requested += n;
        let acks: Acks = self.reports.take();
        let (pool, name) = (self.pool.clone(), worker.name().to_owned());
        let queue = self.config.queue.to_string();
        self.fetches.push(
            async move {
                let tasks = sql::ack_and_fetch(&pool, &name, &queue, n, &acks).await?;
                Ok(Fetched {
                    asked: n,
                    tasks,
                    results: acks.ids.len(),
                })
            }
            .boxed(),
        );
        true
    }

    fn record(&mut self, fetched: &Fetched) {
        self.requested = self.requested.saturating_sub(fetched.asked);
        self.backlog = fetched.tasks.len() >= fetched.asked;
        self.stats
            .record_fetch(self.config.queue.as_ref(), fetched.tasks.len());
        if fetched.results > 0 {
            self.stats.record_results_in_fetch(fetched.results);
        }
    }

    /// The next job: from what was fetched, else from a fetch in flight, else a new fetch.
    pub fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<PgTask, Error>>> {
        if self.dead {
            return Poll::Ready(None);
        }
        loop {
            if let Some(task) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(task)));
            }
            match self.fetches.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(fetched))) => {
                    self.record(&fetched);
                    let empty = fetched.tasks.is_empty();
                    self.buffer.extend(fetched.tasks);
                    if empty && self.fetches.is_empty() {
                        // Nothing due: wait for the poll strategy to wake the worker (apalis's
                        // worker loop registered its waker). Reports that arrived while this
                        // fetch was out would wait for that wake-up: they go on their own.
                        self.write_reports(worker);
                        if let Poll::Ready(Err(e)) = self.poll_writes(cx) {
                            return self.fail(e).map(Some);
                        }
                        return Poll::Pending;
                    }
                    continue;
                }
                Poll::Ready(Some(Err(e))) => return self.fail(e).map(Some),
                Poll::Ready(None) | Poll::Pending => {}
            }
            if !self.start_fetch(worker) {
                return Poll::Pending;
            }
        }
    }

    /// Shutdown: lets fetches in flight finish and puts back every job fetched but not started,
    /// writes the last reports (every job has finished by now), waits for everything in flight.
    pub fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Result<(), Error>> {
        loop {
            match self.fetches.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(fetched))) => {
                    self.record(&fetched);
                    self.buffer.extend(fetched.tasks);
                    continue;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => {}
                Poll::Pending => return Poll::Pending,
            }
            if !self.buffer.is_empty() {
                let tasks: Vec<PgTask> = self.buffer.drain(..).collect();
                let (pool, config, w) = (self.pool.clone(), self.config.clone(), worker.clone());
                self.writes
                    .push(async move { super::reenqueue(&pool, &config, &w, tasks).await }.boxed());
            }
            if self.registered && !self.reports.is_empty() {
                self.push_ack(worker);
            }
            for step in [&mut self.registering, &mut self.heartbeat] {
                if let Some(future) = step.as_mut() {
                    if future.poll_unpin(cx).is_pending() {
                        return Poll::Pending;
                    }
                    *step = None;
                }
            }
            return match self.poll_writes(cx) {
                Poll::Ready(Ok(())) if !self.reports.is_empty() => continue,
                other => other,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fetch_takes_what_is_free_and_never_more() {
        // 500 slots, all free, nothing promised: the whole per-fetch share.
        assert_eq!(next_fetch(500, 0, 0, false, 250), 250);
        assert_eq!(next_fetch(500, 0, 0, false, 500), 500);
        // Some running, some fetched and not yet started: only the rest.
        assert_eq!(next_fetch(40, 15, 0, false, 500), 25);
        assert_eq!(next_fetch(3, 3, 0, false, 500), 0);
        assert_eq!(next_fetch(3, 7, 0, false, 500), 0);
    }

    #[test]
    fn a_second_fetch_runs_beside_the_first_only_on_a_backlog_and_for_enough_jobs() {
        // The first asked for 250 of 500: a second for the other 250 when the queue had more.
        assert_eq!(next_fetch(500, 250, 1, true, 250), 250);
        // No backlog (the last fetch came back short, e.g. the queue is empty): one at a time,
        // so an idle worker still sends one fetch per wake-up.
        assert_eq!(next_fetch(500, 250, 1, false, 250), 0);
        // Too few slots left for a fetch of its own.
        assert_eq!(next_fetch(300, 250, 1, true, 250), 0);
        // Never more than two in flight.
        assert_eq!(next_fetch(1000, 500, 2, true, 250), 0);
    }
}
