//! A write's statements as one list (a script) that each database runs its own way: SQLite
//! takes the whole list in ONE hand-off to its connection's thread, PostgreSQL runs it
//! statement by statement. The SQL of each write stays in one place for both databases.
//!
//! Why (issue 14): sqlx runs every SQLite statement on the connection's own thread, and each
//! statement is a message there and one back. A reporter's new case is six to ten
//! statements; at 32 reports in flight the thread hand-offs, not the writes, were most of the
//! group-commit writer's time, and each hand-off waited for a busy runtime thread. The same
//! statements sent as one list cost one hand-off.
//!
//! How: each statement keeps its own `$1…$n` placeholders; joined into one list they are
//! renumbered (`$1` of the third statement becomes `$k+1` when the first two used `k`), and
//! SQLite binds a `$N` placeholder to the N-th value of the list, whatever statement it is in.
//! The results come back one per statement (`execute_many`), so a statement that must change
//! exactly one row, or whose unique violation means something, is judged as when it ran alone.

use std::borrow::Cow;

use futures_util::TryStreamExt;
use sqlx::{Executor, PgConnection, SqliteConnection};

use super::{StoreError, StoreResult};

/// A value bound to a placeholder. Owned: a grouped write is built again if its batch has to
/// be run once more.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Text(Option<String>),
    Blob(Vec<u8>),
    Int(i64),
    Bool(bool),
}

impl Arg {
    /// Binds the value to the query's next placeholder, on either database.
    fn bind_to<'q, DB>(
        self,
        q: sqlx::query::Query<'q, DB, DB::Arguments>,
    ) -> sqlx::query::Query<'q, DB, DB::Arguments>
    where
        DB: sqlx::Database,
        Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        match self {
            Arg::Text(v) => q.bind(v),
            Arg::Blob(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
        }
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_owned))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<&[u8]> for Arg {
    fn from(v: &[u8]) -> Self {
        Arg::Blob(v.to_vec())
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// One statement of a script.
struct Statement {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
    rules: Rules,
}

/// What a statement's result must be.
#[derive(Default)]
struct Rules {
    /// The error when the statement changes no row, or several (it must change exactly one).
    unless_one: Option<StoreError>,
    /// The error a unique violation of this statement stands for.
    on_unique: Option<StoreError>,
}

/// Statements run in order in the caller's transaction.
#[derive(Default)]
pub(crate) struct Script {
    statements: Vec<Statement>,
}

impl Script {
    /// Adds a statement; `sql` numbers its own placeholders from `$1`.
    pub fn push(&mut self, sql: impl Into<Cow<'static, str>>, args: Vec<Arg>) -> &mut Self {
        self.statements.push(Statement {
            sql: sql.into(),
            args,
            rules: Rules::default(),
        });
        self
    }

    /// The last statement must change exactly one row; otherwise the script fails with `e`.
    pub fn unless_one(&mut self, e: StoreError) -> &mut Self {
        if let Some(s) = self.statements.last_mut() {
            s.rules.unless_one = Some(e);
        }
        self
    }

    /// A unique violation of the last statement fails the script with `e`.
    pub fn on_unique(&mut self, e: StoreError) -> &mut Self {
        if let Some(s) = self.statements.last_mut() {
            s.rules.on_unique = Some(e);
        }
        self
    }

    /// On SQLite: the whole script in one hand-off to the connection's thread.
    pub async fn run_sqlite(self, conn: &mut SqliteConnection) -> StoreResult<()> {
        if self.statements.is_empty() {
            return Ok(());
        }
        let mut sql = String::new();
        let mut offset = 0;
        for s in &self.statements {
            renumber(&s.sql, offset, &mut sql);
            sql.push_str(";\n");
            offset += s.args.len();
        }
        // Safe to run as SQL: each statement is a constant of the store's (or built by
        // `rows_sql` from placeholders) and only its placeholders' numbers changed.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        let mut rules = Vec::with_capacity(self.statements.len());
        for s in self.statements {
            for a in s.args {
                q = a.bind_to(q);
            }
            rules.push(s.rules);
        }
        let mut results = conn.execute_many(q);
        for rules in rules {
            let step = results.try_next().await;
            rules.judge(step.map(|r| r.map(|r| r.rows_affected())))?;
        }
        Ok(())
    }

    /// On the group-commit writer's own connection (`direct.rs`): statement by statement on
    /// the calling thread, each prepared once and kept. SQLite numbers a `$N` placeholder by
    /// its first appearance, so each is bound by the number its name carries.
    pub(super) fn run_direct(&self, conn: &rusqlite::Connection) -> StoreResult<()> {
        for s in &self.statements {
            let mut stmt = conn.prepare_cached(&s.sql)?;
            for i in 1..=stmt.parameter_count() {
                let name = stmt.parameter_name(i);
                let arg = name
                    .and_then(|n| n.strip_prefix('$'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|n| s.args.get(n))
                    .ok_or_else(|| super::direct::bad_placeholder(name))?;
                stmt.raw_bind_parameter(i, arg)?;
            }
            s.rules.judge_direct(stmt.raw_execute())?;
        }
        Ok(())
    }

    /// On PostgreSQL, a reporter write on its own (`PostgresStore::grouped_script`): the
    /// whole script as ONE statement, each of its statements a data-modifying `WITH` of it,
    /// so one round trip where each statement used to be one (nine for a new case, with its
    /// `BEGIN` and `COMMIT`). One statement is atomic on its own; only a script with an
    /// `unless_one` rule, which can fail after its statement ran, gets a transaction around
    /// it. PostgreSQL checks foreign keys at the end of the statement, so a row may refer to
    /// one the same statement inserts; no script updates a row it inserts (a `WITH` would not
    /// see it). If the joined statement fails, nothing of it stays, and the script runs again
    /// statement by statement in a transaction, so that the caller gets the error the failing
    /// statement gives alone (a foreign key checked at the end would otherwise come first).
    /// A script that is not only `INSERT`s and `UPDATE`s runs statement by statement.
    pub async fn run_postgres_as_one(self, pool: &sqlx::PgPool) -> StoreResult<()> {
        if self.joinable() {
            let needs_tx = self.statements.iter().any(|s| s.rules.unless_one.is_some());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(self.as_one()));
            for s in &self.statements {
                for a in &s.args {
                    q = a.clone().bind_to(q);
                }
            }
            if !needs_tx {
                if q.fetch_one(pool).await.is_ok() {
                    return Ok(());
                }
            } else {
                let mut tx = pool.begin().await?;
                if let Ok(row) = q.fetch_one(&mut *tx).await {
                    // Dropped unless every count is what its rule asks: rolled back.
                    self.judge_counts(&row)?;
                    return Ok(tx.commit().await?);
                }
            }
        }
        let mut tx = pool.begin().await?;
        self.run_postgres(&mut tx).await?;
        Ok(tx.commit().await?)
    }

    /// The joined statement's counts, in order, against each statement's `unless_one`.
    fn judge_counts(&self, row: &sqlx::postgres::PgRow) -> StoreResult<()> {
        use sqlx::Row;
        for (i, s) in self.statements.iter().enumerate() {
            let rows: i64 = row.try_get(i)?;
            if let Some(e) = &s.rules.unless_one
                && rows != 1
            {
                return Err(e.again());
            }
        }
        Ok(())
    }

    /// Only `INSERT`s and `UPDATE`s, none with a `RETURNING` of its own, can be joined.
    fn joinable(&self) -> bool {
        self.statements.iter().all(|s| {
            let head = s.sql.trim_start().get(..6).unwrap_or("");
            (head.eq_ignore_ascii_case("insert") || head.eq_ignore_ascii_case("update"))
                && !s.sql.to_ascii_uppercase().contains("RETURNING")
                && !s.sql.contains(';')
        })
    }

    /// `WITH s0 AS (… RETURNING 1), s1 AS (…) SELECT (SELECT count(*) FROM s0), …`: each
    /// statement's rows counted, its placeholders moved up as in `run_sqlite`.
    fn as_one(&self) -> String {
        let mut sql = String::from("WITH ");
        let mut offset = 0;
        for (i, s) in self.statements.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("s{i} AS ("));
            renumber(&s.sql, offset, &mut sql);
            sql.push_str(" RETURNING 1)");
            offset += s.args.len();
        }
        sql.push_str(" SELECT ");
        for i in 0..self.statements.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(SELECT count(*) FROM s{i})"));
        }
        sql
    }

    /// On PostgreSQL: statement by statement (one round trip each, as before).
    pub async fn run_postgres(self, conn: &mut PgConnection) -> StoreResult<()> {
        for s in self.statements {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(s.sql.into_owned()));
            for a in s.args {
                q = a.bind_to(q);
            }
            let done = conn.execute(q).await.map(|r| Some(r.rows_affected()));
            s.rules.judge(done)?;
        }
        Ok(())
    }
}

impl Rules {
    /// One statement's result on the writer's own connection; the same rules as `judge`.
    /// By reference: a batch written again runs the same script a second time.
    fn judge_direct(&self, result: rusqlite::Result<usize>) -> StoreResult<()> {
        match result {
            Ok(rows) => match &self.unless_one {
                Some(e) if rows != 1 => Err(e.again()),
                _ => Ok(()),
            },
            Err(e) if super::direct::is_unique_violation(&e) => Err(self
                .on_unique
                .as_ref()
                .map_or(StoreError::Direct(e), StoreError::again)),
            Err(e) => Err(e.into()),
        }
    }

    /// One statement's result. `Ok(None)`: the database sent no result for it, which cannot
    /// happen for a statement that ran; an error rather than trusted.
    fn judge(self, result: Result<Option<u64>, sqlx::Error>) -> StoreResult<()> {
        match result {
            Ok(Some(rows)) => match self.unless_one {
                Some(e) if rows != 1 => Err(e),
                _ => Ok(()),
            },
            Ok(None) => {
                Err(sqlx::Error::Protocol("a statement of a script sent no result".into()).into())
            }
            Err(e) if super::backends::is_unique_violation(&e) => {
                Err(self.on_unique.unwrap_or(StoreError::Db(e)))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl super::backends::SqliteStore {
    /// Runs `s` in the caller's write transaction, in one hand-off.
    pub(super) async fn run_script(
        tx: &mut super::backends::SqliteWrite,
        s: Script,
    ) -> StoreResult<()> {
        s.run_sqlite(tx).await
    }
}

impl super::backends::PostgresStore {
    /// Runs `s` in the caller's transaction, statement by statement.
    pub(super) async fn run_script(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        s: Script,
    ) -> StoreResult<()> {
        s.run_postgres(tx).await
    }
}

/// Appends `sql` with each `$N` placeholder moved up by `offset`.
fn renumber(sql: &str, offset: usize, out: &mut String) {
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::{Arg, Script, StoreError};

    /// Placeholders out of order and used twice: the writer's own connection binds each by
    /// the number in its name (SQLite would number them by first appearance), and stores the
    /// same storage classes as sqlx does for the same script.
    #[tokio::test]
    async fn both_connections_store_a_script_the_same_way() {
        let (dir, store) = super::super::backends::scratch_store().await;
        sqlx::query("CREATE TABLE t (k TEXT, a TEXT, b INTEGER, c BLOB, d INTEGER, e TEXT)")
            .execute(&store.pool)
            .await
            .unwrap();
        let script = |k: &str| {
            let mut s = Script::default();
            s.push(
                "INSERT INTO t (k, a, b, c, d, e) VALUES ($6, $2, $1, $3, $4, $2 || $5)",
                vec![
                    Arg::Int(7),
                    "x".into(),
                    b"\x00\x01".as_slice().into(),
                    true.into(),
                    Arg::Text(None),
                    k.into(),
                ],
            );
            s.push(
                "UPDATE t SET e = $1 WHERE k = $2",
                vec!["y".into(), k.into()],
            )
            .unless_one(StoreError::BlobNotPending("t".into()));
            s
        };
        let mut conn = store.pool.acquire().await.unwrap();
        script("pool").run_sqlite(&mut conn).await.unwrap();
        drop(conn);
        let direct = rusqlite::Connection::open(dir.path().join("test.db")).unwrap();
        script("direct").run_direct(&direct).unwrap();
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT k, typeof(a) || typeof(b) || typeof(c) || typeof(d) || typeof(e) || ':' \
             || a || b || hex(c) || d || e FROM t ORDER BY k",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let want = "textintegerblobintegertext:x70001".to_owned() + "1y";
        assert_eq!(
            rows,
            vec![
                ("direct".to_owned(), want.clone()),
                ("pool".to_owned(), want)
            ]
        );
    }

    /// A statement's rules give the same errors on the writer's own connection, each time
    /// the script runs (a batch written again runs it twice).
    #[test]
    fn rules_hold_on_the_writers_own_connection_run_after_run() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE u (k TEXT PRIMARY KEY)")
            .unwrap();
        let mut s = Script::default();
        s.push("INSERT INTO u (k) VALUES ($1)", vec!["a".into()])
            .on_unique(StoreError::DuplicateReference);
        s.run_direct(&conn).unwrap();
        for _ in 0..2 {
            assert!(matches!(
                s.run_direct(&conn),
                Err(StoreError::DuplicateReference)
            ));
        }
        let mut s = Script::default();
        s.push("UPDATE u SET k = k WHERE k = $1", vec!["none".into()])
            .unless_one(StoreError::BlobNotPending("b".into()));
        for _ in 0..2 {
            assert!(matches!(s.run_direct(&conn), Err(StoreError::BlobNotPending(b)) if b == "b"));
        }
        // A placeholder past the values is refused, never bound to something else.
        let mut s = Script::default();
        s.push("INSERT INTO u (k) VALUES ($2)", vec!["c".into()]);
        assert!(matches!(s.run_direct(&conn), Err(StoreError::Corrupt(_))));
    }

    /// A script joined for PostgreSQL: each statement a `WITH` counting its rows, its
    /// placeholders moved up; a script with a statement that is not an `INSERT` or `UPDATE`
    /// is not joined.
    #[test]
    fn a_script_joins_into_one_statement_for_postgresql() {
        let mut s = Script::default();
        s.push(
            "INSERT INTO cases (id, r) VALUES ($1, $2)",
            vec!["a".into(), "b".into()],
        );
        s.push(
            "UPDATE blobs SET complete = TRUE WHERE id = $1",
            vec!["c".into()],
        );
        assert!(s.joinable());
        assert_eq!(
            s.as_one(),
            "WITH s0 AS (INSERT INTO cases (id, r) VALUES ($1, $2) RETURNING 1), \
             s1 AS (UPDATE blobs SET complete = TRUE WHERE id = $3 RETURNING 1) \
             SELECT (SELECT count(*) FROM s0), (SELECT count(*) FROM s1)"
        );
        s.push("DELETE FROM chunks WHERE blob_id = $1", vec!["c".into()]);
        assert!(!s.joinable());
    }

    #[test]
    fn placeholders_are_moved_up_by_the_statements_before() {
        let mut out = String::new();
        super::renumber("INSERT INTO t (a, b) VALUES ($1, $2)", 0, &mut out);
        out.push(';');
        super::renumber("INSERT INTO u SELECT $1, $2, $10 WHERE x = $1", 2, &mut out);
        assert_eq!(
            out,
            "INSERT INTO t (a, b) VALUES ($1, $2);INSERT INTO u SELECT $3, $4, $12 WHERE x = $3"
        );
    }
}
