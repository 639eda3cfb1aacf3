//! The two databases behind one store: connecting to SQLite (WAL, `synchronous=FULL`, so a
//! commit survives a power cut before a receipt is shown) or PostgreSQL, migrations, and the
//! day format both use. The SQL itself is written once per aggregate (`blobs.rs`, `cases.rs`,
//! …) with the same `$n` placeholders and statements for both, so the two cannot drift apart.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use time::Date;
use time::macros::format_description;

use super::{Store, StoreError, StoreResult};

const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

pub(super) fn day_to_db(d: Date) -> String {
    d.format(DAY).unwrap_or_default()
}

pub(super) fn day_from_db(s: &str) -> StoreResult<Date> {
    Date::parse(s, DAY).map_err(|_| StoreError::Corrupt(format!("day '{s}'")))
}

pub(super) fn opt_day(s: Option<String>) -> StoreResult<Option<Date>> {
    s.as_deref().map(day_from_db).transpose()
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub struct SqliteStore {
    /// Reads, and the few single-statement writes outside a transaction.
    pub(super) pool: SqlitePool,
    /// The one connection every write transaction of this process runs on, but the group
    /// commit's scripts, which run on its writer's own connection (`direct.rs`). SQLite drops
    /// a connection's whole page cache when it begins a transaction and finds that another
    /// connection committed since its last one; with the writes spread over the pool's
    /// connections, every batch began that way and read each B-tree page it touched back
    /// from the operating system. On a connection of its own the writer finds its own last
    /// commit and keeps its cache warm from one batch to the next (reporters' scripts follow
    /// one another on the writer's own connection; officers' writes, replies and upload
    /// chunks here).
    writer: SqlitePool,
    /// This process's writers queue here, first come first served, before `BEGIN IMMEDIATE`.
    /// SQLite has one write lock; a writer that finds it taken waits in SQLite's busy handler,
    /// which sleeps in growing steps (up to 100 ms) and so wakes long after the lock was
    /// freed, while newer writers may take it first: at 4–32 writers in flight that made the
    /// p99 of a submission hundreds of milliseconds. Queued here, each writer starts the
    /// moment the one before it has committed. Other processes on the same file (a CLI
    /// command, a second instance) still meet the busy timeout, as before.
    writers: Arc<tokio::sync::Mutex<()>>,
    /// Between the checkpoint task and the group commit's writer: when to start the log over
    /// (`checkpoints::catch_up`), and that a batch was written.
    log: Arc<super::checkpoints::LogWatch>,
    /// Reporter writes committed together, several per fsync (`group.rs`).
    group: Arc<super::group::GroupCommit>,
    /// The database file (`None` in memory), for the group-commit writer's own connection.
    path: Option<std::path::PathBuf>,
    /// Copies the write-ahead log into the database file beside the writer
    /// (`checkpoints.rs`); stops with the store.
    _checkpoints: super::checkpoints::Checkpointer,
}

/// A SQLite write transaction holding this process's writer turn until it commits or is
/// dropped. Dereferences to the connection, as `sqlx::Transaction` does, so statements run
/// on `&mut *tx` as they would on a transaction.
pub struct SqliteWrite {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl SqliteWrite {
    /// `BEGIN IMMEDIATE` on the writer connection, for the writer holding `turn`.
    pub(super) async fn begin(
        pool: &SqlitePool,
        turn: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<Self, sqlx::Error> {
        let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Self { tx, _turn: turn })
    }

    /// Rolls back and begins again, keeping the turn: no other writer of this process runs
    /// in between (the group commit's second try of a batch, `group.rs`).
    pub(super) async fn again(self, pool: &SqlitePool) -> Result<Self, sqlx::Error> {
        let Self { tx, _turn: turn } = self;
        tx.rollback().await?;
        Self::begin(pool, turn).await
    }

    /// Commits; the turn passes to the next writer only once the commit (and its fsync) is
    /// done, so a receipt shown after `commit` returns still means the report is on disk.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let Self { tx, _turn } = self;
        tx.commit().await
    }
}

impl std::ops::Deref for SqliteWrite {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for SqliteWrite {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        // WAL with synchronous=FULL: once a commit returns, the report survives a power cut,
        // which is what showing the receipt promises.
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted rows (a case removed by retention) are overwritten with zeros, not left
            // readable in free pages; free pages are handed back by `compact`.
            .pragma("secure_delete", "on")
            // Checkpoints run on a task of their own (`checkpoints.rs`); a commit runs one
            // only past this size.
            .pragma("wal_autocheckpoint", super::checkpoints::SAFETY_NET_PAGES)
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            .busy_timeout(Duration::from_secs(10));
        // No ping before each checkout: the connection is a file of this process's, and a
        // ping is one more message to the connection's thread and back on every read.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(opts.clone())
            .await?;
        // Kept open for the process's life, so its cache lives as long (see `writer`).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(opts.clone())
            .await?;
        let log = Arc::default();
        // The file the group-commit writer opens its own connection on (`direct.rs`); the
        // pool has made it by now. A database in memory has none (a second connection would
        // not see it), and its reporter writes stay on the pool's writer connection.
        let file = opts.get_filename();
        let path = file.is_file().then(|| file.to_owned());
        Ok(Self {
            path,
            _checkpoints: super::checkpoints::Checkpointer::start(pool.clone(), Arc::clone(&log)),
            pool,
            writer,
            log,
            writers: Arc::default(),
            group: Arc::default(),
        })
    }

    /// A write transaction. `BEGIN IMMEDIATE` takes SQLite's single write lock up front
    /// (waiting on the busy timeout if another writer holds it). A deferred `BEGIN` would take
    /// a read snapshot first; a transaction that reads before it writes (the audit chain's
    /// last hash, a case's blobs before deleting them) then fails at once with
    /// `SQLITE_BUSY_SNAPSHOT` when another connection or instance committed in between, and
    /// no busy timeout helps, so a scheduled retention run or an officer action would fail
    /// for no reason of its own.
    ///
    /// The writer's turn (`writers`) is taken first, so the writer connection is free
    /// whenever a writer holding the turn asks for it.
    pub(super) async fn write_tx(&self) -> Result<SqliteWrite, sqlx::Error> {
        let turn = self.writers.clone().lock_owned().await;
        SqliteWrite::begin(&self.writer, turn).await
    }

    /// A reporter write (a new case or a reply with its queued reporter actions, a reporter
    /// action alone, an upload's start or chunks), committed with whatever other reporter
    /// writes are queued (`group.rs`); returns once it is committed.
    pub(super) async fn grouped<W>(&self, work: W) -> StoreResult<()>
    where
        W: for<'c> Fn(&'c mut SqliteWrite) -> BoxFuture<'c, StoreResult<()>>
            + Send
            + Sync
            + 'static,
    {
        self.group
            .run(
                &self.group_writer(),
                super::group::Work::Steps(Box::new(work)),
            )
            .await
    }

    /// A reporter write that is statements only (`script`, built again for each run): in
    /// the next batch, on the group-commit writer's own connection (`direct.rs`).
    pub(super) async fn grouped_script<S>(&self, script: S) -> StoreResult<()>
    where
        S: Fn() -> super::script::Script + Send + Sync + 'static,
    {
        self.group
            .run(
                &self.group_writer(),
                super::group::Work::Script(Box::new(script)),
            )
            .await
    }

    fn group_writer(&self) -> super::group::Writer {
        super::group::Writer {
            pool: self.writer.clone(),
            turn: self.writers.clone(),
            log: self.log.clone(),
            path: self.path.clone(),
        }
    }

    /// A database made before auto_vacuum was set keeps its old mode until one VACUUM.
    async fn ensure_incremental_vacuum(&self) -> StoreResult<()> {
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&self.pool)
            .await?;
        if mode != 2 {
            sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
                .execute(&self.pool)
                .await?;
            sqlx::query("VACUUM").execute(&self.pool).await?;
        }
        Ok(())
    }

    async fn sqlite_compact(&self) -> StoreResult<()> {
        sqlx::query("PRAGMA incremental_vacuum")
            .execute(&self.pool)
            .await?;
        // The log still holds the deleted rows' old pages until it is emptied. A checkpoint
        // running on another connection (the checkpoint task's, `checkpoints.rs`) makes this
        // one answer "busy" at once, without waiting on the busy timeout, and the log would
        // keep them: so it is asked again until it took, for as long as the busy timeout.
        // Bounded by time, not tries: while readers hold the log, each try itself waits up
        // to the busy timeout.
        let started = std::time::Instant::now();
        while started.elapsed() < COMPACT_WAIT {
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(COMPACT_PAUSE).await;
        }
        Err(sqlx::Error::Protocol(
            "the log could not be emptied: other connections kept it busy".into(),
        )
        .into())
    }
}

/// How long `compact` keeps asking for the log to be emptied (the busy timeout's length), and
/// how far apart.
const COMPACT_WAIT: Duration = Duration::from_secs(10);
const COMPACT_PAUSE: Duration = Duration::from_millis(25);

pub struct PostgresStore {
    pub(super) pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

macro_rules! backend {
    ($store:ident, $name:literal, $migrations:literal, $after:ident, $compact:ident) => {
        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn migrate(&self) -> StoreResult<()> {
                sqlx::migrate!($migrations).run(&self.pool).await?;
                let hashed = self.hash_clear_lookups().await?;
                if hashed > 0 {
                    tracing::info!(
                        count = hashed,
                        "replaced clear lookup values by their hashes"
                    );
                }
                self.$after().await
            }

            async fn compact(&self) -> StoreResult<()> {
                self.$compact().await
            }

            fn pool_use(&self) -> super::PoolUse {
                super::PoolUse {
                    size: self.pool.size(),
                    idle: self.pool.num_idle(),
                    max: self.pool.options().get_max_connections(),
                }
            }

            async fn schema(&self) -> StoreResult<super::ops::Schema> {
                let applied: Vec<(i64, bool, Vec<u8>)> =
                    sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations")
                        .fetch_all(&self.pool)
                        .await?;
                Ok(super::ops::Schema::compare(
                    &sqlx::migrate!($migrations),
                    &applied,
                ))
            }
        }
    };
}

impl PostgresStore {
    /// A write transaction: PostgreSQL's row locks already order concurrent writers.
    pub(super) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// A reporter write in a transaction of its own: PostgreSQL already flushes the WAL of
    /// concurrent commits together, so there is no batch to form here.
    pub(super) async fn grouped<W>(&self, work: W) -> StoreResult<()>
    where
        W: for<'c> Fn(
                &'c mut sqlx::Transaction<'static, sqlx::Postgres>,
            ) -> BoxFuture<'c, StoreResult<()>>
            + Send
            + Sync
            + 'static,
    {
        let mut tx = self.write_tx().await?;
        work(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A write that is statements only, as one statement of its own (`Script::
    /// run_postgres_as_one`; PostgreSQL has no group commit: its own writers commit side by
    /// side).
    pub(super) async fn grouped_script<S>(&self, script: S) -> StoreResult<()>
    where
        S: Fn() -> super::script::Script + Send + Sync + 'static,
    {
        script().run_postgres_as_one(&self.pool).await
    }

    async fn nothing_more(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Dead row versions of deleted cases stay in PostgreSQL's files until (auto)vacuum
    /// reuses them; see docs/threat-model.md for what the operator does about that.
    async fn pg_compact(&self) -> StoreResult<()> {
        Ok(())
    }
}

backend!(
    SqliteStore,
    "sqlite",
    "../migrations/sqlite",
    ensure_incremental_vacuum,
    sqlite_compact
);
backend!(
    PostgresStore,
    "postgres",
    "../migrations/postgres",
    nothing_more,
    pg_compact
);

/// A SQLite store in a folder of its own (`test.db`), for the store's unit tests.
#[cfg(test)]
pub(super) async fn scratch_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("test.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    (dir, store)
}

#[cfg(test)]
mod tests {
    /// Every write transaction runs on the one writer connection, even while readers hold
    /// the pool's connections: a table of the connection's own (`TEMP`) made in one write is
    /// still there in the next.
    #[tokio::test]
    async fn writes_share_one_connection_whatever_the_readers_hold() {
        let (_dir, store) = super::scratch_store().await;
        let mut tx = store.write_tx().await.unwrap();
        sqlx::query("CREATE TEMP TABLE mine (x INTEGER)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // Readers take connections in between, so a write from the pool would get another.
        let mut readers = Vec::new();
        for _ in 0..3 {
            readers.push(store.pool.acquire().await.unwrap());
        }
        let mut tx = store.write_tx().await.unwrap();
        let found: i64 =
            sqlx::query_scalar("SELECT count(*) FROM temp.sqlite_master WHERE name = 'mine'")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(found, 1, "the second write ran on another connection");
    }
}
