//! Group commit for SQLite's reporter writes (a new case or a reply, each with its queued
//! reporter audit actions; a reporter action that writes nothing else, such as opening the
//! mailbox; the start of an upload and its chunks): whatever is queued when the write lock
//! comes free is written in ONE transaction (with a savepoint per request only when one of
//! them failed, below), and every request is answered only after that commit (and its fsync)
//! returned, so a receipt still follows its commit. One fsync then covers many reports, where
//! each used to pay its own: on a disk that does a few hundred fsyncs a second, that was the
//! ceiling on submissions and the cause of their tail latency.
//!
//! One request's failure fails no other. A batch is first written without savepoints (each
//! savepoint is two more statements and makes SQLite copy every page the request touches
//! into its statement journal); if any request fails, that attempt is rolled back and the
//! batch written again, each request inside its own savepoint, so a statement that fails
//! rolls back to its savepoint and only that request gets the error. A failing request (a
//! replayed receipt, an upload already claimed) therefore costs its batch one more attempt,
//! never the others' reports. If the batch cannot commit (or a failure took the whole
//! transaction with it), each request of the batch is run again alone, in its own
//! transaction. The writes go to tables without a rowid under random keys, so writing them
//! together (in arrival order) records no filing order that separate commits did not.
//!
//! A request that is statements only (a new case, a queued action, an upload's start: a
//! `Work::Script`) is written on the writer's own connection, on the writer's own thread
//! (`direct.rs`, ADR 0008): no hand-off per statement. A request that reads as it goes (a
//! reply's next number, the audit chain's head, an upload's chunks: `Work::Steps`) is written
//! on the pool's writer connection, in a transaction of the same batch's turn after the
//! scripts' commit. Both hold the process's writer turn, so they never wait on each other's
//! locks.
//!
//! The batch is written by a task spawned (on the writer's own thread, `WriterThread`) when
//! the first request finds no writer running and ending when the queue is empty, so a
//! reporter who goes away mid-request cannot leave a batch half-written or other reporters
//! waiting. It takes the process's writer turn (`SqliteStore::write_tx`) like every other
//! write transaction, batch by batch.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::BoxFuture;
use sqlx::SqlitePool;
use tokio::sync::oneshot;

use super::StoreResult;
use super::backends::SqliteWrite;
use super::direct::Direct;
use super::script::Script;

/// Statements that read as they go, on the batch's transaction on the pool's writer
/// connection.
pub(super) type Steps =
    Box<dyn for<'c> Fn(&'c mut SqliteWrite) -> BoxFuture<'c, StoreResult<()>> + Send + Sync>;

/// One request's statements, run on the batch's transaction. `Fn`, not `FnOnce`: a request
/// is run again when its batch's first try fails.
pub(super) enum Work {
    /// Statements only, built for each run: on the writer's own connection.
    Script(Box<dyn Fn() -> Script + Send + Sync>),
    /// Statements that read as they go: on the pool's writer connection.
    Steps(Steps),
}

impl Work {
    /// On the pool's writer connection: steps always, scripts when the writer's own
    /// connection is not there (its thread or its file could not be had).
    async fn on_pool(&self, tx: &mut SqliteWrite) -> StoreResult<()> {
        match self {
            Work::Script(script) => script().run_sqlite(tx).await,
            Work::Steps(steps) => steps(tx).await,
        }
    }
}

/// The most requests one transaction takes; the rest wait for the next batch.
const MAX_BATCH: usize = 128;

struct Job {
    work: Work,
    done: oneshot::Sender<StoreResult<()>>,
}

impl Job {
    fn is_script(&self) -> bool {
        matches!(self.work, Work::Script(_))
    }

    /// Its statements, built again for this run; a step job has none (never asked).
    fn script(&self) -> Script {
        match &self.work {
            Work::Script(script) => script(),
            Work::Steps(_) => Script::default(),
        }
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// A writer task is running and will take every queued job before it ends.
    running: bool,
}

/// The queue of reporter writes waiting for the next batch.
#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<Queue>,
    /// Where the writer task runs (`WriterThread`); `None` if that thread could not start.
    thread: std::sync::OnceLock<Option<WriterThread>>,
    /// The writer's own connection, opened by the first batch on the writer's thread.
    direct: Mutex<DirectState>,
}

#[derive(Default)]
enum DirectState {
    #[default]
    Unopened,
    Open(Direct),
    /// It could not be opened (logged once): scripts go to the pool's writer connection.
    Unavailable,
}

/// A thread of the writer task's own. Each report's statements are a hand-off to the
/// connection's thread and an answer back; on the server's runtime, the answer waited until
/// a runtime thread finished what it was running, often a report's cryptography (half a
/// millisecond), so the writer lost that much per report. On this thread the answer is
/// taken up as soon as the operating system runs it.
struct WriterThread {
    handle: tokio::runtime::Handle,
    /// Dropped with the store's queue: the thread then ends.
    _stop: oneshot::Sender<()>,
}

impl WriterThread {
    fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("speakup-writer".into())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Self {
            handle,
            _stop: stop,
        })
    }
}

/// Where the writer task opens its transactions: the writer connection's pool and the
/// process's writer turn.
#[derive(Clone)]
pub(super) struct Writer {
    pub pool: SqlitePool,
    pub turn: Arc<tokio::sync::Mutex<()>>,
    /// Shared with the checkpoint task (`checkpoints::LogWatch`).
    pub log: Arc<super::checkpoints::LogWatch>,
    /// The database file, for the writer's own connection; `None` for a database with no
    /// file of its own (in memory), which a second connection would not see.
    pub path: Option<PathBuf>,
}

impl Writer {
    /// `BEGIN IMMEDIATE` once this process's turn comes (see `SqliteStore::write_tx`).
    async fn begin(&self) -> Result<SqliteWrite, sqlx::Error> {
        let turn = self.turn.clone().lock_owned().await;
        SqliteWrite::begin(&self.pool, turn).await
    }
}

impl GroupCommit {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` in the next batch; returns once the batch has committed (or with this
    /// request's own error).
    pub async fn run(self: &Arc<Self>, writer: &Writer, work: Work) -> StoreResult<()> {
        let (done, answer) = oneshot::channel();
        let start = {
            let mut q = self.queue();
            q.jobs.push_back(Job { work, done });
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            let task = |own_thread| drain(self.clone(), writer.clone(), own_thread);
            let thread = self.thread.get_or_init(|| {
                WriterThread::start()
                    .inspect_err(|e| tracing::warn!(error = %e, "no thread for the writer"))
                    .ok()
            });
            match thread {
                Some(t) => drop(t.handle.spawn(task(true))),
                // On the server's runtime, a commit's fsync would hold one of its threads:
                // everything goes through the pool's connection then.
                None => drop(tokio::spawn(task(false))),
            }
        }
        // The sender is dropped unanswered only if the writer task died (a panic, or the
        // runtime shutting down): nothing was promised, so this is an error like any other.
        answer.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    /// The next batch, or `None` (and the writer task ends) when nothing is queued.
    fn next_batch(&self) -> Option<Vec<Job>> {
        let mut q = self.queue();
        if q.jobs.is_empty() {
            q.running = false;
            return None;
        }
        let n = q.jobs.len().min(MAX_BATCH);
        Some(q.jobs.drain(..n).collect())
    }

    fn direct(&self) -> std::sync::MutexGuard<'_, DirectState> {
        self.direct.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens the writer's own connection if it was not tried yet; whether it is there.
    fn direct_ready(&self, writer: &Writer) -> bool {
        let mut state = self.direct();
        if let DirectState::Unopened = *state {
            *state = match writer.path.as_deref().map(Direct::open) {
                Some(Ok(d)) => DirectState::Open(d),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the writer's own connection did not open; \
                        reporter writes go through the pool's writer connection");
                    DirectState::Unavailable
                }
                None => DirectState::Unavailable,
            };
        }
        matches!(*state, DirectState::Open(_))
    }

    /// The batch's scripts on the writer's own connection, on this (the writer's) thread:
    /// one transaction; if it fails as a whole, each script in a transaction of its own.
    fn write_direct(&self, jobs: &[Job]) -> Vec<StoreResult<()>> {
        let state = self.direct();
        let DirectState::Open(d) = &*state else {
            let e = || rusqlite::Error::InvalidPath(PathBuf::from("(not open)")).into();
            return jobs.iter().map(|_| Err(e())).collect();
        };
        together_direct(d, jobs).unwrap_or_else(|_| {
            d.rollback();
            jobs.iter().map(|job| d.alone(&job.script())).collect()
        })
    }
}

/// If the writer task panics, the queue must not stay marked as served: the waiting
/// requests get an error (their senders are dropped) and the next request starts a new task.
struct Unwinding<'a>(&'a GroupCommit);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.queue();
            q.running = false;
            q.jobs.clear();
        }
    }
}

/// The writer task: batch after batch until the queue is empty. `own_thread`: it runs on
/// the writer's own thread, where its own connection may block.
async fn drain(group: Arc<GroupCommit>, writer: Writer, own_thread: bool) {
    let _guard = Unwinding(&group);
    loop {
        // The turn first, then the batch: requests that arrive while an earlier transaction
        // (a batch, an officer's action) commits join this one.
        let turn = writer.turn.clone().lock_owned().await;
        let Some(jobs) = group.next_batch() else {
            return;
        };
        // Between two batches, holding the turn (the connection is free): the rest of the log
        // copied when the checkpoint task asks, so that this batch starts it over.
        super::checkpoints::catch_up(&writer.log, &writer.pool).await;
        let (scripts, steps): (Vec<Job>, Vec<Job>) = if own_thread && group.direct_ready(&writer) {
            jobs.into_iter().partition(Job::is_script)
        } else {
            (Vec::new(), jobs)
        };
        if !scripts.is_empty() {
            let results = group.write_direct(&scripts);
            for (job, result) in scripts.into_iter().zip(results) {
                let _ = job.done.send(result);
            }
        }
        if !steps.is_empty() {
            on_pool(&writer, turn, steps).await;
        }
        writer.log.written();
    }
}

/// Jobs written on the pool's writer connection, holding the writer's `turn`.
async fn on_pool(writer: &Writer, turn: tokio::sync::OwnedMutexGuard<()>, jobs: Vec<Job>) {
    let tx = match SqliteWrite::begin(&writer.pool, turn).await {
        Ok(tx) => tx,
        Err(e) => {
            // No transaction (the database is locked by another process beyond the busy
            // timeout, or unreachable): each request gets the error, as it would alone.
            let msg = e.to_string();
            for job in jobs {
                let _ = job
                    .done
                    .send(Err(sqlx::Error::Protocol(msg.clone()).into()));
            }
            return;
        }
    };
    match together(writer, tx, &jobs).await {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.done.send(result);
            }
        }
        Err(_) => {
            for job in jobs {
                let result = alone(writer, &job.work).await;
                let _ = job.done.send(result);
            }
        }
    }
}

/// `together` on the writer's own connection: first without savepoints, then (if a job
/// failed) again, each job in a savepoint. `Err` when the transaction as a whole failed.
fn together_direct(d: &Direct, jobs: &[Job]) -> Result<Vec<StoreResult<()>>, rusqlite::Error> {
    d.begin()?;
    if let [job] = jobs {
        let result = d.script(&job.script());
        match result {
            Ok(()) => d.commit()?,
            Err(_) => d.rollback(),
        }
        return Ok(vec![result]);
    }
    if jobs.iter().all(|job| d.script(&job.script()).is_ok()) {
        d.commit()?;
        return Ok(jobs.iter().map(|_| Ok(())).collect());
    }
    d.rollback();
    d.begin()?;
    let mut results = Vec::with_capacity(jobs.len());
    d.run("SAVEPOINT grouped")?;
    for (i, job) in jobs.iter().enumerate() {
        if i > 0 {
            d.run("RELEASE grouped; SAVEPOINT grouped")?;
        }
        let result = d.script(&job.script());
        if result.is_err() {
            d.run("ROLLBACK TO grouped")?;
        }
        results.push(result);
    }
    d.commit()?;
    Ok(results)
}

/// The batch in one transaction: first without savepoints, then (if a job failed) again,
/// each job in a savepoint. `Err` when the transaction as a whole failed: nothing of the
/// batch is committed then.
async fn together(
    writer: &Writer,
    mut tx: SqliteWrite,
    jobs: &[Job],
) -> Result<Vec<StoreResult<()>>, sqlx::Error> {
    if let [job] = jobs {
        // Alone in its transaction (the usual case when few write at once): its failure can
        // fail nothing else, so it needs no savepoint.
        let result = job.work.on_pool(&mut tx).await;
        if result.is_ok() {
            tx.commit().await?;
        }
        return Ok(vec![result]);
    }
    // First try: each job in turn, no savepoints.
    let mut written = true;
    for job in jobs {
        if job.work.on_pool(&mut tx).await.is_err() {
            written = false;
            break;
        }
    }
    if written {
        tx.commit().await?;
        return Ok(jobs.iter().map(|_| Ok(())).collect());
    }
    isolated(tx.again(&writer.pool).await?, jobs).await
}

/// The batch in one transaction, each job in a savepoint, so a job's failure undoes only
/// its own statements.
async fn isolated(mut tx: SqliteWrite, jobs: &[Job]) -> Result<Vec<StoreResult<()>>, sqlx::Error> {
    let mut results = Vec::with_capacity(jobs.len());
    sqlx::query("SAVEPOINT grouped").execute(&mut *tx).await?;
    for (i, job) in jobs.iter().enumerate() {
        if i > 0 {
            // The last job's savepoint released and the next one's begun in one hand-off to
            // the connection's thread (the writer runs every statement in turn).
            sqlx::raw_sql("RELEASE grouped; SAVEPOINT grouped")
                .execute(&mut *tx)
                .await?;
        }
        let result = job.work.on_pool(&mut tx).await;
        if result.is_err() {
            // Fails if the error ended the whole transaction: then the batch is run again,
            // job by job.
            sqlx::query("ROLLBACK TO grouped").execute(&mut *tx).await?;
        }
        results.push(result);
    }
    // The commit ends the last savepoint with the transaction.
    tx.commit().await?;
    Ok(results)
}

/// One job in a transaction of its own (after its batch failed as a whole).
async fn alone(writer: &Writer, work: &Work) -> StoreResult<()> {
    let mut tx = writer.begin().await?;
    work.on_pool(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch is written on the writer's own thread, not on the runtime of the request
    /// that started it (see `WriterThread`).
    #[tokio::test]
    async fn batches_are_written_on_the_writers_thread() {
        let (_dir, store) = super::super::backends::scratch_store().await;
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        store
            .grouped(move |_tx| {
                let s = s.clone();
                Box::pin(async move {
                    *s.lock().unwrap() = std::thread::current().name().map(str::to_owned);
                    Ok(())
                })
            })
            .await
            .unwrap();
        assert_eq!(seen.lock().unwrap().as_deref(), Some("speakup-writer"));
    }

    /// Scripts are written on the writer's own connection, the same one batch after batch,
    /// and not on the pool's writer connection: a table of the connection's own (`TEMP`)
    /// grows from one script to the next and is not there for a step job.
    #[tokio::test]
    async fn scripts_are_written_on_the_writers_own_connection() {
        let (_dir, store) = super::super::backends::scratch_store().await;
        sqlx::query("CREATE TABLE seen (n INTEGER)")
            .execute(&store.pool)
            .await
            .unwrap();
        for _ in 0..2 {
            store
                .grouped_script(|| {
                    let mut s = Script::default();
                    s.push("CREATE TEMP TABLE IF NOT EXISTS mine (x)", vec![]);
                    s.push("INSERT INTO mine VALUES (1)", vec![]);
                    s.push("INSERT INTO seen SELECT COUNT(*) FROM mine", vec![]);
                    s
                })
                .await
                .unwrap();
        }
        let seen: Vec<i64> = sqlx::query_scalar("SELECT n FROM seen ORDER BY n")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(seen, [1, 2]);
        let on_pool = Arc::new(Mutex::new(None));
        let o = on_pool.clone();
        store
            .grouped(move |tx| {
                let o = o.clone();
                Box::pin(async move {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM sqlite_temp_master WHERE name = 'mine'",
                    )
                    .fetch_one(&mut **tx)
                    .await?;
                    *o.lock().unwrap() = Some(n);
                    Ok(())
                })
            })
            .await
            .unwrap();
        assert_eq!(*on_pool.lock().unwrap(), Some(0));
    }
}
