//! The group-commit writer's own SQLite connection, opened and used only on the writer's
//! thread (`group.rs`): a batch of reporter writes runs its statements right there, with no
//! hand-off to a connection thread and back (ADR 0008). It keeps every promise the other
//! connections keep: WAL with `synchronous=FULL` (a receipt follows an fsync-ed commit),
//! foreign keys, deleted content overwritten, the same busy timeout and checkpoint threshold.
//!
//! Why a second driver (issue 14): sqlx runs each SQLite connection on a thread of its own,
//! so every statement is a message to that thread, and every result one back. A new case is
//! one script (`script.rs`) but still six to eight results, and each could wake the writer's
//! thread again. Profiled at 32 reports in flight, the two threads spent about a third of
//! their time switching, on a machine whose two cores were both busy. Here the statements are
//! prepared once (rusqlite's statement cache) and stepped on the writer's own thread.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::script::Script;
use super::{StoreError, StoreResult};

/// How many prepared statements the connection keeps: every reporter write's statements
/// (a handful of shapes: a case with 1 to 4 holders' keys, 1 to 4 items, a queued action).
const STATEMENTS_KEPT: usize = 64;

pub(super) struct Direct {
    conn: Connection,
}

impl Direct {
    /// Opens the database file the store's pool already opened and migrated (never creates
    /// one: a missing file is an error, not a new empty database).
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // The journal mode is the database's own (set by the pool); a connection that found
        // anything but WAL would lose the readers' isolation, so it is refused.
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, not wal"
            )));
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
             PRAGMA wal_autocheckpoint = {};",
            super::checkpoints::SAFETY_NET_PAGES
        ))?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS_KEPT);
        Ok(Self { conn })
    }

    /// `BEGIN IMMEDIATE`: the write lock up front, as `SqliteStore::write_tx` takes it.
    pub fn begin(&self) -> Result<(), rusqlite::Error> {
        self.conn.execute_batch("BEGIN IMMEDIATE")
    }

    /// Commits (and fsyncs the log); a failed commit is rolled back, never left open.
    pub fn commit(&self) -> Result<(), rusqlite::Error> {
        self.conn
            .execute_batch("COMMIT")
            .inspect_err(|_| self.rollback())
    }

    /// Ends whatever transaction is open without keeping it (nothing if none is).
    pub fn rollback(&self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// A statement without values (the savepoints of a batch written again).
    pub fn run(&self, sql: &str) -> Result<(), rusqlite::Error> {
        self.conn.execute_batch(sql)
    }

    /// Runs `s` in the open transaction.
    pub fn script(&self, s: &Script) -> StoreResult<()> {
        s.run_direct(&self.conn)
    }

    /// `s` in a transaction of its own.
    pub fn alone(&self, s: &Script) -> StoreResult<()> {
        self.begin()?;
        match self.script(s) {
            Ok(()) => Ok(self.commit()?),
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }
}

/// SQLite's unique and primary-key violations, as `backends::is_unique_violation` tells them
/// for the pool's connections.
pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error().map(|e| e.extended_code),
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    )
}

impl rusqlite::ToSql for super::script::Arg {
    /// The same storage classes sqlx binds: text, blob, integer, and a bool as 0 or 1;
    /// borrowed, so a report's ciphertext is not copied again to be bound.
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use super::script::Arg;
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Arg::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Arg::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
            Arg::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Arg::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Arg::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
        })
    }
}

/// A placeholder the script did not number (`$N`), or numbered past its values: a bug of the
/// store's, reported as corrupt rather than bound to the wrong value.
pub(super) fn bad_placeholder(name: Option<&str>) -> StoreError {
    StoreError::Corrupt(format!("placeholder {name:?} of a script"))
}

#[cfg(test)]
mod tests {
    use super::Direct;

    /// The writer's own connection keeps the promises the pool's connections keep.
    #[tokio::test]
    async fn it_syncs_each_commit_and_keeps_the_same_rules() {
        let (dir, _store) = super::super::backends::scratch_store().await;
        let d = Direct::open(&dir.path().join("test.db")).unwrap();
        let pragma = |name: &str| -> String {
            d.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
        assert_eq!(
            pragma("synchronous"),
            "Integer(2)",
            "FULL: a receipt follows an fsync"
        );
        assert_eq!(pragma("foreign_keys"), "Integer(1)");
        assert_eq!(pragma("secure_delete"), "Integer(1)");
        assert_eq!(
            pragma("wal_autocheckpoint"),
            format!("Integer({})", super::super::checkpoints::SAFETY_NET_PAGES)
        );
        assert_eq!(pragma("busy_timeout"), "Integer(10000)");
    }

    /// It never makes a database of its own, nor writes to one that is not in WAL mode.
    #[test]
    fn it_opens_only_the_stores_own_database() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Direct::open(&dir.path().join("missing.db")).is_err());
        assert!(!dir.path().join("missing.db").exists());
        let rollback = dir.path().join("rollback.db");
        rusqlite::Connection::open(&rollback)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        assert!(Direct::open(&rollback).is_err());
    }
}
