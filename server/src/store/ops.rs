//! Operations on the database as a whole: whether its schema matches this build's migrations
//! (for `/readyz`), and the database half of backups and restores (docs/backup.md): a
//! consistent copy of a live database (SQLite `VACUUM INTO`, a fresh file without the free
//! pages of deleted rows; PostgreSQL `pg_dump` in the snapshot the row counts were read in),
//! and putting such a copy into an empty database. The copy is the database as stored:
//! ciphertext and metadata, never plaintext (no-plaintext-at-rest).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection, SqliteConnection};

/// How the database's applied migrations compare with the ones this build carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    Current,
    /// Migrations this build carries that the database has not applied (or whose run failed).
    Behind(Vec<i64>),
    /// Migrations the database has applied that this build does not know: a newer release
    /// migrated it.
    Ahead(Vec<i64>),
    /// An applied migration whose text differs from this build's.
    Changed(i64),
}

impl Schema {
    /// Compares this build's up-migrations with the rows of `_sqlx_migrations`
    /// (version, success, checksum).
    pub fn compare(migrator: &Migrator, applied: &[(i64, bool, Vec<u8>)]) -> Self {
        let ours: Vec<_> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .collect();
        let ahead: Vec<i64> = applied
            .iter()
            .filter(|(v, _, _)| !ours.iter().any(|m| m.version == *v))
            .map(|(v, _, _)| *v)
            .collect();
        if !ahead.is_empty() {
            return Schema::Ahead(ahead);
        }
        let mut behind = Vec::new();
        for m in &ours {
            match applied.iter().find(|(v, _, _)| *v == m.version) {
                Some((_, true, sum)) if sum.as_slice() != m.checksum.as_ref() => {
                    return Schema::Changed(m.version);
                }
                Some((_, true, _)) => {}
                _ => behind.push(m.version),
            }
        }
        if behind.is_empty() {
            Schema::Current
        } else {
            Schema::Behind(behind)
        }
    }
}

impl std::fmt::Display for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[i64]| {
            v.iter()
                .map(|n| format!("{n:04}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Schema::Current => write!(f, "migrations are current"),
            Schema::Behind(v) => write!(f, "migrations not applied: {}", list(v)),
            Schema::Ahead(v) => write!(
                f,
                "the database has migrations this version does not know (a newer release): {}",
                list(v)
            ),
            Schema::Changed(v) => write!(f, "migration {v:04} differs from this version's"),
        }
    }
}

/// Why a copy or a restore failed; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(
        "pg_dump and pg_restore were not found (on PATH or in /usr/lib/postgresql/*/bin): install \
         the PostgreSQL client (Debian: postgresql-client), or back up by hand as docs/backup.md describes"
    )]
    NoPgTools,
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        tool: &'static str,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("the SQLite database {0} does not exist")]
    NoDatabase(PathBuf),
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
}

/// Rows a backup counts in its own snapshot and a restore counts again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Census {
    pub officers: i64,
    pub cases: i64,
    pub items: i64,
    pub blobs: i64,
    pub audit_rows: i64,
}

const CENSUS_SQL: &str = "SELECT (SELECT COUNT(*) FROM officers), (SELECT COUNT(*) FROM cases), \
     (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM blobs), (SELECT COUNT(*) FROM audit_log)";
const MIGRATIONS_SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";

/// What a copy holds: the applied migrations and the row counts, read in the copy's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyFacts {
    pub migrations: Vec<i64>,
    pub census: Census,
}

/// The migrations and row counts of one connection's database (both backends: the SQL is
/// the same).
macro_rules! facts_fn {
    ($name:ident, $conn:ty) => {
        async fn $name(conn: &mut $conn) -> Result<CopyFacts, sqlx::Error> {
            let (officers, cases, items, blobs, audit_rows): (i64, i64, i64, i64, i64) =
                sqlx::query_as(CENSUS_SQL).fetch_one(&mut *conn).await?;
            let migrations: Vec<(i64,)> =
                sqlx::query_as(MIGRATIONS_SQL).fetch_all(&mut *conn).await?;
            Ok(CopyFacts {
                migrations: migrations.into_iter().map(|(v,)| v).collect(),
                census: Census {
                    officers,
                    cases,
                    items,
                    blobs,
                    audit_rows,
                },
            })
        }
    };
}
facts_fn!(sqlite_facts, SqliteConnection);
facts_fn!(pg_facts, PgConnection);

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Result<Self, OpsError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(OpsError::UnsupportedUrl)
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The file of a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite:")?
        .trim_start_matches("//")
        .split('?')
        .next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Writes a consistent copy of the live database at `url` to `dest` (a new file) while
/// other connections go on writing; returns what the copy holds.
pub async fn copy_database(url: &str, dest: &Path) -> Result<CopyFacts, OpsError> {
    match Backend::of(url)? {
        Backend::Sqlite => sqlite_copy(url, dest).await,
        Backend::Postgres => postgres_copy(url, dest).await,
    }
}

/// `VACUUM INTO` reads one snapshot and writes a fresh, compact file: the free pages of
/// deleted rows are not carried over.
async fn sqlite_copy(url: &str, dest: &Path) -> Result<CopyFacts, OpsError> {
    let path = sqlite_path(url).ok_or(OpsError::UnsupportedUrl)?;
    if !path.is_file() {
        return Err(OpsError::NoDatabase(path));
    }
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(30));
    let mut conn = SqliteConnection::connect_with(&opts).await?;
    sqlx::query("VACUUM INTO $1")
        .bind(dest.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let copy = SqliteConnectOptions::new()
        .filename(dest)
        .create_if_missing(false)
        .read_only(true);
    let mut conn = SqliteConnection::connect_with(&copy).await?;
    let facts = sqlite_facts(&mut conn).await;
    conn.close().await?;
    Ok(facts?)
}

/// Counts rows in a repeatable-read snapshot, exports it, and has `pg_dump` dump exactly that
/// snapshot (custom format, uncompressed: ciphertext does not compress, and the file stays
/// scannable), while the transaction holds it open.
async fn postgres_copy(url: &str, dest: &Path) -> Result<CopyFacts, OpsError> {
    let tool = pg_tool("pg_dump")?;
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut conn)
        .await?;
    let (snapshot,): (String,) = sqlx::query_as("SELECT pg_export_snapshot()")
        .fetch_one(&mut conn)
        .await?;
    let facts = pg_facts(&mut conn).await?;
    let (dbname, password) = libpq_url(url);
    let mut cmd = tokio::process::Command::new(tool);
    cmd.arg("--format=custom")
        .arg("--compress=0")
        .arg(format!("--snapshot={snapshot}"))
        .arg("--file")
        .arg(dest)
        .arg("--dbname")
        .arg(dbname)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().await?;
    sqlx::query("COMMIT").execute(&mut conn).await?;
    conn.close().await?;
    if !out.status.success() {
        return Err(tool_failed("pg_dump", out.status, &out.stderr));
    }
    Ok(facts)
}

fn tool_failed(tool: &'static str, status: std::process::ExitStatus, stderr: &[u8]) -> OpsError {
    OpsError::Tool {
        tool,
        status,
        stderr: String::from_utf8_lossy(stderr).trim().to_owned(),
    }
}

/// The URL for libpq without its password, and the password apart (passed as `PGPASSWORD`,
/// so it never shows in the process list).
fn libpq_url(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_owned(), None);
    };
    let rest = &url[scheme_end + 3..];
    let host_start = rest.find('/').unwrap_or(rest.len());
    match rest[..host_start].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(percent_decode(p))),
                None => (userinfo, None),
            };
            (
                format!("{}{}@{}", &url[..scheme_end + 3], user, &rest[at + 1..]),
                password,
            )
        }
        None => (url.to_owned(), None),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `pg_dump` or `pg_restore`: on PATH, else the newest under /usr/lib/postgresql/*/bin.
pub fn pg_tool(name: &str) -> Result<PathBuf, OpsError> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if let Some(p) = on_path {
        return Ok(p);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let p = e.path().join("bin").join(name);
            p.is_file().then_some((v, p))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).ok_or(OpsError::NoPgTools)
}

/// The tables in the database (its current schema for PostgreSQL); none for a SQLite file
/// that does not exist yet or is empty.
pub async fn tables(url: &str) -> Result<Vec<String>, OpsError> {
    let rows: Vec<(String,)> = match Backend::of(url)? {
        Backend::Sqlite => {
            let path = sqlite_path(url).ok_or(OpsError::UnsupportedUrl)?;
            if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) == 0 {
                return Ok(Vec::new());
            }
            let opts = SqliteConnectOptions::from_str(url)?.create_if_missing(false);
            let mut conn = SqliteConnection::connect_with(&opts).await?;
            let rows = sqlx::query_as(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .fetch_all(&mut conn)
            .await?;
            conn.close().await?;
            rows
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(url).await?;
            let rows = sqlx::query_as(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
                 ORDER BY tablename",
            )
            .fetch_all(&mut conn)
            .await?;
            conn.close().await?;
            rows
        }
    };
    Ok(rows.into_iter().map(|(t,)| t).collect())
}

/// Empties a PostgreSQL database's current schema before a forced restore (a SQLite file is
/// replaced whole instead).
pub async fn drop_tables(url: &str, tables: &[String]) -> Result<(), OpsError> {
    if tables.is_empty() || Backend::of(url)? != Backend::Postgres {
        return Ok(());
    }
    let list = tables
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {list} CASCADE")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Feeds a `pg_dump` archive from `source` into `pg_restore`, in one transaction, as the
/// connecting user (no owners or grants from the source). Blocking: run it off the runtime.
pub fn postgres_restore(url: &str, source: &mut dyn Read) -> Result<(), OpsError> {
    let tool = pg_tool("pg_restore")?;
    let (dbname, password) = libpq_url(url);
    let mut cmd = Command::new(tool);
    cmd.args([
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--dbname",
    ])
    .arg(dbname)
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let mut child = cmd.spawn()?;
    let fed = match child.stdin.take() {
        Some(mut stdin) => std::io::copy(source, &mut stdin).map(|_| ()),
        None => Ok(()),
    };
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(tool_failed("pg_restore", out.status, &out.stderr));
    }
    Ok(fed?)
}

/// What a restored database holds, read after the restore to compare with the backup's
/// manifest.
pub async fn restored_facts(url: &str) -> Result<CopyFacts, OpsError> {
    Ok(match Backend::of(url)? {
        Backend::Sqlite => {
            let opts = SqliteConnectOptions::from_str(url)?.create_if_missing(false);
            let mut conn = SqliteConnection::connect_with(&opts).await?;
            let f = sqlite_facts(&mut conn).await;
            conn.close().await?;
            f?
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(url).await?;
            let f = pg_facts(&mut conn).await;
            conn.close().await?;
            f?
        }
    })
}

/// The migrations this build carries for a backend.
pub fn known_migrations(backend: Backend) -> Vec<i64> {
    let m = match backend {
        Backend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("../migrations/postgres"),
    };
    m.iter()
        .filter(|x| !x.migration_type.is_down_migration())
        .map(|x| x.version)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_migrations_are_compared_with_the_build() {
        let m = sqlx::migrate!("../migrations/sqlite");
        let all: Vec<(i64, bool, Vec<u8>)> = m
            .iter()
            .map(|x| (x.version, true, x.checksum.to_vec()))
            .collect();
        assert_eq!(Schema::compare(&m, &all), Schema::Current);
        let last = all.last().unwrap().0;
        assert_eq!(
            Schema::compare(&m, &all[..all.len() - 1]),
            Schema::Behind(vec![last])
        );
        let mut failed = all.clone();
        failed.last_mut().unwrap().1 = false;
        assert_eq!(Schema::compare(&m, &failed), Schema::Behind(vec![last]));
        let mut newer = all.clone();
        newer.push((9999, true, vec![]));
        assert_eq!(Schema::compare(&m, &newer), Schema::Ahead(vec![9999]));
        let mut edited = all.clone();
        edited[0].2 = vec![0; 48];
        assert_eq!(Schema::compare(&m, &edited), Schema::Changed(all[0].0));
        assert!(Schema::Behind(vec![5]).to_string().contains("0005"));
    }

    #[test]
    fn passwords_leave_the_url_for_libpq() {
        assert_eq!(
            libpq_url("postgres://u:p%40ss@db:5432/x?sslmode=require"),
            (
                "postgres://u@db:5432/x?sslmode=require".to_owned(),
                Some("p@ss".to_owned())
            )
        );
        assert_eq!(
            libpq_url("postgres://db/x"),
            ("postgres://db/x".to_owned(), None)
        );
        assert_eq!(
            sqlite_path("sqlite:data/a.db?mode=rwc"),
            Some("data/a.db".into())
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
