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
