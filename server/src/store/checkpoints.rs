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
//! of a submission doubled), backing off to `IDLE` while nothing is written. SQLite's own
//! checkpoint stays as a safety net at `SAFETY_NET_PAGES` pages, for a burst that arrives
//! while the task is backing off and for a process without this task (a command-line run
//! holds the store only briefly, and closing the last connection checkpoints the log too).

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::oneshot;

/// How often the log is copied while there is something to copy.
pub(super) const BUSY: Duration = Duration::from_millis(25);

/// The longest wait between two looks while nothing is written.
pub(super) const IDLE: Duration = Duration::from_secs(1);

/// The log size (4 KiB pages, 40 MiB) past which a commit still checkpoints itself. An upload
/// at full speed (about 180 MiB/s) writes that in a fifth of a second, so a burst that starts
/// while the task waits `IDLE` is copied by the commit that crosses it, as before this task,
/// until the task is back at `BUSY`.
pub(super) const SAFETY_NET_PAGES: &str = "10000";

/// The running task; it stops when this is dropped (with its store).
pub(super) struct Checkpointer {
    _stop: oneshot::Sender<()>,
}

impl Checkpointer {
    pub(super) fn start(pool: SqlitePool) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut wait = BUSY;
            let mut last_log = -1;
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                // (busy, pages in the log, pages copied). A failure (the database busy with
                // another process's checkpoint, the pool closing) is left to the next round or
                // to SQLite's own checkpoint.
                let copied = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&pool)
                    .await;
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
