//! The audit chain in the database: appending a row inside the caller's transaction (so an
//! action and its row commit together), reporter actions queued with their day only (inside
//! the transaction of the reporter's write they record, or alone when the action writes
//! nothing else) and moved into the chain once the day is over, failed sign-ins counted per window and folded into
//! one row when the window closes (never a row changed after the fact), and reading the chain
//! back. Appending begins by locking the head row, so the chain never forks.

use sqlx::Row;
use time::Date;

use super::backends::{PostgresStore, SqliteStore, day_from_db, day_to_db};
use super::{AuditEntry, AuditRecord, StoreResult};
use crate::domain::audit::{FailureWindow, REPORTER_ACTOR, chain_hash, day_start};

#[async_trait::async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends to the chain on its own: for actions whose only write is their audit row
    /// (opening a case, a download, a reveal, an export). Returns the new row's number.
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<i64>;

    /// Queues a reporter action with its day only (see migrations 0002), on its own: for
    /// reporter actions whose only write is this row (opening the mailbox). An action that
    /// writes something else passes its [`ReporterAction`](super::ReporterAction)s to that
    /// write instead (`create_case`, `add_reporter_reply`, `confirm_minutes`), which queues
    /// them in its own transaction.
    async fn queue_reporter_audit(
        &self,
        day: Date,
        action: &str,
        case_ref: &str,
    ) -> StoreResult<()>;

    /// Moves queued reporter actions of days before `before` into the chain.
    async fn flush_reporter_audit(&self, before: Date) -> StoreResult<u64>;

    /// How many days of reporter actions wait in the queue (1 on a day with any; more means
    /// the hourly move into the chain is not happening). Days only: no count of actions.
    async fn pending_reporter_days(&self) -> StoreResult<i64>;

    /// Counts a failed sign-in in its bucket's window (migration 0009), in one transaction
    /// that holds the chain's head, so concurrent failures are counted one after another:
    /// the first failure of a window is appended to the chain as `entry`; later ones within
    /// `window` seconds of it only raise the window's count. A window that is over is closed
    /// first, with its summary row. Returns whether `entry` was appended.
    async fn count_login_failure(
        &self,
        bucket: &str,
        entry: &AuditEntry,
        window: i64,
    ) -> StoreResult<bool>;

    /// Closes windows of failed sign-ins, each with its summary row when it counted more than
    /// its first failure: `bucket`'s (at the account's next successful sign-in), or every
    /// window opened before `opened_before` (the hourly maintenance run).
    async fn close_login_failures(
        &self,
        bucket: Option<&str>,
        opened_before: i64,
    ) -> StoreResult<u64>;

    /// Rows with `seq > after`, oldest first, at most `limit`.
    async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRecord>>;

    async fn audit_head(&self) -> StoreResult<(i64, Vec<u8>)>;

    /// One page of the auditor's view: rows with `seq < before` that match `q`, newest
    /// first, at most `limit`. Filtering happens in the database, so a page costs the same
    /// however long the log is.
    async fn audit_search(
        &self,
        q: &AuditSearch,
        before: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRecord>>;

    /// One case's rows with one of `actions`, oldest first (the case page's history of who
    /// was given or denied access).
    async fn case_audit(&self, case_ref: &str, actions: &[&str]) -> StoreResult<Vec<AuditRecord>>;
}

/// What the auditor filters on: a part of the actor (matched case-insensitively), one exact
/// action, a part of the case reference. Empty means "any".
#[derive(Debug, Default, Clone)]
pub struct AuditSearch {
    pub actor: String,
    pub action: String,
    pub case_ref: String,
}

/// A `LIKE` pattern matching `part` anywhere, with `\`, `%` and `_` taken literally.
fn contains_pattern(part: &str) -> String {
    let mut p = String::with_capacity(part.len() + 2);
    p.push('%');
    for c in part.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

macro_rules! audit_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        impl $store {
            /// Appends an audit row inside the caller's transaction, so an action and its row
            /// commit together or not at all.
            pub(super) async fn append_in(tx: &mut $tx, e: &AuditEntry) -> StoreResult<i64> {
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut **tx)
                    .await?;
                let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&mut **tx)
                    .await?;
                let prev: Vec<u8> = head.try_get("hash")?;
                let seq: i64 = head.try_get::<i64, _>("seq")? + 1;
                let hash = chain_hash(&prev, seq, e);
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, actor, action, case_ref, detail, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(seq)
                .bind(e.at)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.case_ref)
                .bind(&e.detail)
                .bind(&prev)
                .bind(hash.as_slice())
                .execute(&mut **tx)
                .await?;
                sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                    .bind(seq)
                    .bind(hash.as_slice())
                    .execute(&mut **tx)
                    .await?;
                Ok(seq)
            }

            /// Ends a change to who receives cases (accounts, entities' and triage groups'
            /// members): when it changed `changed` rows, appends its audit row, commits and tells
            /// the intake's directory cache (`app::holder_cache`); when it changed nothing, writes
            /// nothing (the transaction rolls back on drop) and says false.
            pub(super) async fn commit_directory_change(
                mut tx: $tx,
                changed: u64,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                if changed == 0 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                Self::commit_directory(tx).await?;
                Ok(true)
            }

            /// Commits a transaction that changed who receives cases, moving the directory's
            /// version with it (`directory_version`, read by `app::holder_cache` before it
            /// trusts its copy, so every process sees the change from this commit on), and
            /// tells this process's cache at once.
            pub(super) async fn commit_directory(mut tx: $tx) -> StoreResult<()> {
                sqlx::query("UPDATE directory_version SET version = version + 1 WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                super::accounts::changed();
                Ok(())
            }

            /// Queues reporter actions about `case_ref` inside the caller's transaction (the
            /// reporter's write they record), so they commit with it or not at all. Random
            /// keys and days only, as when queued alone.
            pub(super) async fn queue_in(
                tx: &mut $tx,
                case_ref: &str,
                actions: &[super::ReporterAction],
            ) -> StoreResult<()> {
                let mut s = super::script::Script::default();
                queue_script(&mut s, case_ref, actions);
                Self::run_script(tx, s).await
            }
        }

        impl $store {
            /// Closes the failure windows that match (see `close_login_failures`) inside the
            /// caller's transaction, which already holds the chain's head.
            async fn close_windows_in(
                tx: &mut $tx,
                bucket: Option<&str>,
                opened_before: i64,
            ) -> StoreResult<u64> {
                let rows = sqlx::query(
                    "SELECT bucket, opened_at, last_at, failures \
                     FROM login_failure_windows WHERE (bucket = $1 OR $2) AND opened_at < $3 \
                     ORDER BY opened_at, bucket",
                )
                .bind(bucket.unwrap_or_default())
                .bind(bucket.is_none())
                .bind(opened_before)
                .fetch_all(&mut **tx)
                .await?;
                for r in &rows {
                    let bucket: String = r.try_get("bucket")?;
                    let reasons = sqlx::query(
                        "SELECT reason, failures FROM login_failure_reasons WHERE bucket = $1",
                    )
                    .bind(&bucket)
                    .fetch_all(&mut **tx)
                    .await?
                    .iter()
                    .map(|c| Ok((c.try_get("reason")?, c.try_get("failures")?)))
                    .collect::<StoreResult<Vec<(String, i64)>>>()?;
                    let window = FailureWindow {
                        opened_at: r.try_get("opened_at")?,
                        last_at: r.try_get("last_at")?,
                        failures: r.try_get("failures")?,
                        reasons,
                        bucket,
                    };
                    if let Some(summary) = window.summary() {
                        Self::append_in(tx, &summary).await?;
                    }
                    sqlx::query("DELETE FROM login_failure_reasons WHERE bucket = $1")
                        .bind(&window.bucket)
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query("DELETE FROM login_failure_windows WHERE bucket = $1")
                        .bind(&window.bucket)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(rows.len() as u64)
            }

            fn audit_records(rows: &[$row]) -> StoreResult<Vec<AuditRecord>> {
                rows.iter().map(Self::audit_record).collect()
            }
        }

        #[async_trait::async_trait]
        impl AuditLog for $store {
            async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<i64> {
                let mut tx = self.write_tx().await?;
                let seq = Self::append_in(&mut tx, entry).await?;
                tx.commit().await?;
                Ok(seq)
            }

            async fn queue_reporter_audit(&self, day: Date, action: &str, case_ref: &str) -> StoreResult<()> {
                self.queue_pending(day_to_db(day), action.to_owned(), case_ref.to_owned())
                    .await
            }

            async fn pending_reporter_days(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(DISTINCT day) FROM audit_pending")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn flush_reporter_audit(&self, before: Date) -> StoreResult<u64> {
                let mut tx = self.write_tx().await?;
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                let before = day_to_db(before);
                let rows = sqlx::query(
                    "SELECT day, action, case_ref FROM audit_pending WHERE day < $1 \
                     ORDER BY day, case_ref, action",
                )
                .bind(&before)
                .fetch_all(&mut *tx)
                .await?;
                for r in &rows {
                    let day: String = r.try_get("day")?;
                    let day = day_from_db(&day)?;
                    let entry = AuditEntry {
                        at: day_start(day),
                        actor: REPORTER_ACTOR.into(),
                        action: r.try_get("action")?,
                        case_ref: r.try_get("case_ref")?,
                        detail: String::new(),
                    };
                    Self::append_in(&mut tx, &entry).await?;
                }
                sqlx::query("DELETE FROM audit_pending WHERE day < $1")
                    .bind(&before)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows.len() as u64)
            }

            async fn count_login_failure(
                &self,
                bucket: &str,
                entry: &AuditEntry,
                window: i64,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                // Holding the head orders concurrent failures one after another.
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                let counted = sqlx::query(
                    "UPDATE login_failure_windows SET failures = failures + 1, last_at = $2 \
                     WHERE bucket = $1 AND opened_at > $3",
                )
                .bind(bucket)
                .bind(entry.at)
                .bind(entry.at.saturating_sub(window))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                if counted {
                    sqlx::query(
                        "INSERT INTO login_failure_reasons (bucket, reason, failures) VALUES ($1, $2, 1) \
                         ON CONFLICT (bucket, reason) DO UPDATE \
                         SET failures = login_failure_reasons.failures + 1",
                    )
                    .bind(bucket)
                    .bind(&entry.detail)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    Self::close_windows_in(&mut tx, Some(bucket), i64::MAX).await?;
                    sqlx::query(
                        "INSERT INTO login_failure_windows (bucket, opened_at, last_at, failures) \
                         VALUES ($1, $2, $2, 1)",
                    )
                    .bind(bucket)
                    .bind(entry.at)
                    .execute(&mut *tx)
                    .await?;
                    Self::append_in(&mut tx, entry).await?;
                }
                tx.commit().await?;
                Ok(!counted)
            }

            async fn close_login_failures(
                &self,
                bucket: Option<&str>,
                opened_before: i64,
            ) -> StoreResult<u64> {
                let mut tx = self.write_tx().await?;
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                let n = Self::close_windows_in(&mut tx, bucket, opened_before).await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRecord>> {
                let rows = sqlx::query(
                    "SELECT seq, at, actor, action, case_ref, detail, prev_hash, hash FROM audit_log \
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Self::audit_records(&rows)
            }

            async fn audit_search(
                &self,
                q: &AuditSearch,
                before: i64,
                limit: i64,
            ) -> StoreResult<Vec<AuditRecord>> {
                let rows = sqlx::query(
                    "SELECT seq, at, actor, action, case_ref, detail, prev_hash, hash FROM audit_log \
                     WHERE seq < $1 \
                     AND ($2 = '' OR LOWER(actor) LIKE $3 ESCAPE '\\') \
                     AND ($4 = '' OR action = $4) \
                     AND ($5 = '' OR UPPER(case_ref) LIKE $6 ESCAPE '\\') \
                     ORDER BY seq DESC LIMIT $7",
                )
                .bind(before)
                .bind(&q.actor)
                .bind(contains_pattern(&q.actor.to_lowercase()))
                .bind(&q.action)
                .bind(&q.case_ref)
                .bind(contains_pattern(&q.case_ref.to_uppercase()))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::audit_record).collect()
            }

            async fn case_audit(&self, case_ref: &str, actions: &[&str]) -> StoreResult<Vec<AuditRecord>> {
                let rows = sqlx::query(
                    "SELECT seq, at, actor, action, case_ref, detail, prev_hash, hash FROM audit_log \
                     WHERE case_ref = $1 ORDER BY seq",
                )
                .bind(case_ref)
                .fetch_all(&self.pool)
                .await?;
                let mut found = Self::audit_records(&rows)?;
                found.retain(|r| actions.contains(&r.entry.action.as_str()));
                Ok(found)
            }

            async fn audit_head(&self) -> StoreResult<(i64, Vec<u8>)> {
                let r = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?;
                Ok((r.try_get("seq")?, r.try_get("hash")?))
            }
        }

        impl $store {
            fn audit_record(r: &$row) -> StoreResult<AuditRecord> {
                        Ok(AuditRecord {
                            seq: r.try_get("seq")?,
                            entry: AuditEntry {
                                at: r.try_get("at")?,
                                actor: r.try_get("actor")?,
                                action: r.try_get("action")?,
                                case_ref: r.try_get("case_ref")?,
                                detail: r.try_get("detail")?,
                            },
                            prev_hash: r.try_get("prev_hash")?,
                            hash: r.try_get("hash")?,
                        })
            }
        }
    };
}

/// Queues one reporter action (its key is random: the table's default; its day is a day).
const QUEUE_PENDING: &str = "INSERT INTO audit_pending (day, action, case_ref) VALUES ($1, $2, $3)";

/// Reporter actions queued under `case_ref`, in the script of the reporter's write they
/// record: random keys and days only, as when queued alone.
pub(super) fn queue_script(
    s: &mut super::script::Script,
    case_ref: &str,
    actions: &[super::ReporterAction],
) {
    for a in actions {
        s.push(
            QUEUE_PENDING,
            vec![day_to_db(a.day).into(), a.action.into(), case_ref.into()],
        );
    }
}

impl SqliteStore {
    /// An action with no other write (opening the mailbox), with the other reporter writes
    /// of its batch (`group.rs`): a statement of its own outside the writer queue would meet
    /// the write lock and SQLite's busy handler.
    async fn queue_pending(
        &self,
        day: String,
        action: String,
        case_ref: String,
    ) -> StoreResult<()> {
        self.grouped_script(move || {
            let mut s = super::script::Script::default();
            s.push(
                QUEUE_PENDING,
                vec![
                    day.as_str().into(),
                    action.as_str().into(),
                    case_ref.as_str().into(),
                ],
            );
            s
        })
        .await
    }
}

impl PostgresStore {
    /// One statement in its own transaction (PostgreSQL orders concurrent writers itself).
    async fn queue_pending(
        &self,
        day: String,
        action: String,
        case_ref: String,
    ) -> StoreResult<()> {
        sqlx::query(QUEUE_PENDING)
            .bind(day)
            .bind(action)
            .bind(case_ref)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

audit_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
audit_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
