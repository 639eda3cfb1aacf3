//! SQLite's checkpoints (copying the write-ahead log back into the database file) on a task
//! of their own, so that no reporter waits for one. Keeps the commit path to its own work:
//! a receipt is still shown only after its commit's fsync of the log (`group.rs`).
//!
//! Why (issue 14): SQLite runs a checkpoint inside whichever commit finds the log past its
//! threshold (1,000 pages), and the group commit's writer is the one that commits under load:
//! a batch that crossed the threshold also copied the log into the database file and synced
//! that, on the one writer every reporter's receipt waits for. Here the log is copied by a
//! `PASSIVE` checkpoint on a pooled connection, which waits for no reader and no writer and
//! runs beside the writer: every `BUSY` while there is something to copy (small, frequent
//! copies: at 100 ms the copies were large enough to stall the writer's own syncs and the p99
//! of a submission doubled), backing off to `IDLE` while nothing is written and woken by the
//! writer's next batch (`LogWatch`). SQLite's own checkpoint stays as a safety net at
//! `SAFETY_NET_PAGES` pages, for a process without this task (a command-line run holds the
//! store only briefly, and closing the last connection checkpoints the log too) and for
//! writes outside the group commit during the task's back-off.
//!
//! A copied log is written again from its start only when a write transaction begins with
//! every page of it copied and no reader in it. Under a steady flow of reports that never
//! happened (the writer commits between any two looks of this task), so the log grew until the
//! safety net made every commit checkpoint as well, and commits took up to 146 ms. Past
//! `RESTART_PAGES` the task therefore asks the group commit's writer to copy the last pages
//! itself, between two batches (`catch_up`): its next batch then starts the log over. (Taking
//! the writer turn here and running `RESTART`, tried first, held the writer 10 to 20 ms each
//! time: SQLite's busy handler sleeps in steps while it waits for the readers.)
//!
//! While the log is that long, the task looks again as soon as the writer's next batch is
//! committed (not a fixed `BUSY` later), and asks the writer only once a look found every
//! page copied (`asks_writer`): the writer then has at most the batches since that look to
//! copy. Asked on the log's size alone, the writer's copies took 15 to 66 ms (one batch in
//! eight waited for one), and took 40 % more of the writer's time in all (issue 14,
//! docs/performance.md § Pages per report).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::oneshot;

/// How often the log is copied while there is something to copy.
pub(super) const BUSY: Duration = Duration::from_millis(25);

/// The longest wait between two looks while nothing is written.
pub(super) const IDLE: Duration = Duration::from_secs(1);

/// The log size (4 KiB pages, 40 MiB) past which a commit still checkpoints itself (see
/// above); the task keeps the log far below it.
pub(super) const SAFETY_NET_PAGES: &str = "10000";

/// The log size (4 KiB pages, 8 MiB) past which the group commit's writer is asked to start
/// the log over (see above).
pub(super) const RESTART_PAGES: i64 = 2000;

/// What the checkpoint task and the group commit's writer tell each other.
#[derive(Default)]
pub(super) struct LogWatch {
    /// Raised by the task when the log should be started over (`catch_up`).
    restart: AtomicBool,
    /// Told by the writer after each batch, so that the task, backing off while nothing was
    /// written, looks at once: a flood that starts after a quiet spell (a poster campaign)
    /// would otherwise fill the log for up to `IDLE` and reach the safety net, whose copy in
    /// the commit held a batch 60 ms.
    written: tokio::sync::Notify,
}

impl LogWatch {
    /// A batch was committed.
    pub(super) fn written(&self) {
        self.written.notify_one();
    }
}

/// Copies what is left of the log on the writer's own connection, between two of its
/// transactions, when the task asked for it: with every page copied, the writer's next
/// transaction starts the log over unless a reader is still in it (then the task asks again
/// in its next round). A `PASSIVE` copy waits for nobody; it copies only what was committed
/// since the task's last round.
pub(super) async fn catch_up(log: &LogWatch, writer: &SqlitePool) {
    if log.restart.swap(false, Ordering::Relaxed)
        && let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(writer)
            .await
    {
        tracing::debug!(error = %e, "checkpoint before a batch");
    }
}

/// Whether the writer should copy the rest of the log (`catch_up`): only when the log is long
/// enough to start over and the task's own look just copied all of it, so that the writer
/// has only what was committed since then to copy.
fn asks_writer(log: i64, done: i64) -> bool {
    log > RESTART_PAGES && done == log
}

/// The running task; it stops when this is dropped (with its store).
pub(super) struct Checkpointer {
    _stop: oneshot::Sender<()>,
}

impl Checkpointer {
    pub(super) fn start(pool: SqlitePool, watch: Arc<LogWatch>) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut wait = BUSY;
            let mut last_log = -1;
            // The log is long: the next look right after the writer's next batch.
            let mut close_behind = false;
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(wait) => {}
                    _ = watch.written.notified(), if wait > BUSY || close_behind => {}
                }
                // (busy, pages in the log, pages copied). A failure (the database busy with
                // another process's checkpoint, the pool closing) is left to the next round or
                // to SQLite's own checkpoint.
                let copied = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&pool)
                    .await;
                if let Ok((_, log, done)) = copied {
                    watch
                        .restart
                        .store(asks_writer(log, done), Ordering::Relaxed);
                }
                close_behind = matches!(copied, Ok((_, log, _)) if log > RESTART_PAGES);
                wait = match copied {
                    // Nothing written since the last look, all of it copied: look again
                    // later, up to `IDLE`.
                    Ok((_, log, done)) if log == last_log && done == log => (wait * 2).min(IDLE),
                    Ok((_, log, _)) => {
                        last_log = log;
                        BUSY
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "background checkpoint");
                        IDLE
                    }
                };
            }
        });
        Self { _stop: stop }
    }
}

#[cfg(test)]
mod tests {
    use super::{IDLE, RESTART_PAGES, asks_writer};

    /// The writer is asked to copy only after a look that copied the whole long log; a log
    /// the task is still behind on (a reader held it back, or the look raced a batch) is left
    /// to the task's next look, right after the next batch.
    #[test]
    fn the_writer_is_asked_only_when_little_is_left_to_copy() {
        assert!(asks_writer(RESTART_PAGES + 1, RESTART_PAGES + 1));
        assert!(!asks_writer(RESTART_PAGES + 500, RESTART_PAGES));
        assert!(!asks_writer(RESTART_PAGES, RESTART_PAGES));
        assert!(!asks_writer(100, 100));
    }

    /// Reporter writes back to back after a quiet spell, as in a flood of reports: the task
    /// wakes with the first batch, and the log is started over now and then, so its file
    /// stays far below SQLite's own checkpoint threshold (`SAFETY_NET_PAGES`), which it
    /// reached (and then every commit checkpointed) when only copied `PASSIVE`ly.
    #[tokio::test]
    async fn a_steady_flow_of_writes_keeps_the_log_small() {
        let (dir, store) = super::super::backends::scratch_store().await;
        sqlx::query("CREATE TABLE t (data BLOB)")
            .execute(&store.pool)
            .await
            .unwrap();
        // A quiet spell first: the task backs off to `IDLE` and must wake with the first batch.
        tokio::time::sleep(IDLE * 2).await;
        // About 16,000 pages of log in all: 1,000 commits of 8 values of 4 KiB (each a page
        // of its own and a page of the table), in turn on the group-commit writer's own
        // connection (a script) and on the pool's writer connection (steps): the log must be
        // started over whichever of the two wrote last.
        let value = std::sync::Arc::new(vec![7u8; 4096]);
        for i in 0..1000 {
            let value = value.clone();
            if i % 2 == 0 {
                store
                    .grouped_script(move || {
                        let mut s = super::super::script::Script::default();
                        for _ in 0..8 {
                            s.push(
                                "INSERT INTO t (data) VALUES ($1)",
                                vec![value.as_slice().into()],
                            );
                        }
                        s
                    })
                    .await
                    .unwrap();
                continue;
            }
            store
                .grouped(move |tx| {
                    let value = value.clone();
                    Box::pin(async move {
                        for _ in 0..8 {
                            sqlx::query("INSERT INTO t (data) VALUES ($1)")
                                .bind(value.as_slice())
                                .execute(&mut **tx)
                                .await?;
                        }
                        Ok(())
                    })
                })
                .await
                .unwrap();
        }
        let log = std::fs::metadata(dir.path().join("test.db-wal"))
            .unwrap()
            .len();
        let pages = log / 4120;
        assert!(
            pages < 5000,
            "the log grew to {pages} pages: not copied and started over in time"
        );
    }
}
