//! The one storage interface, with a SQLite and a PostgreSQL implementation chosen by the
//! URL scheme. Every method is a whole unit of work in its own transaction. What passes
//! through here is ciphertext and workflow metadata only: there is no method that takes or
//! returns reporter plaintext, so a store cannot leak what it never receives.

mod access;
mod accounts;
mod audit;
mod backends;
mod blobs;
mod cases;
mod checkpoints;
mod direct;
mod entities;
mod group;
mod groups;
mod holds;
mod meetings;
mod notify;
pub mod ops;
mod records;
mod script;
mod sessions;
mod settings;
mod stats;

use std::sync::Arc;

pub use access::CaseAccess;
pub use accounts::{Accounts, accounts_changes};
pub use audit::{AuditLog, AuditSearch};
pub use backends::{PostgresStore, SqliteStore};
pub use blobs::Blobs;
pub use cases::Cases;
pub use entities::{Entities, EntityRecord, MovedCase};
pub use groups::{GroupRecord, TriageGroups};
pub use holds::LegalHolds;
pub use meetings::{MeetingRecord, Meetings, MinutesRecord, NewMeeting, ReplyLinks};
pub use notify::{HoldingRow, Notices};
pub use records::*;
pub use sessions::Sessions;
pub use settings::SiteSettings;
pub use stats::{Statistics, StatsCase};

pub use crate::domain::audit::{AuditEntry, AuditRecord};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// From the group-commit writer's own connection (`direct.rs`).
    #[error("database error: {0}")]
    Direct(#[from] rusqlite::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("an officer with this e-mail address already exists")]
    DuplicateOfficer,
    #[error("a case with this reference already exists")]
    DuplicateReference,
    /// A reply that corrects minutes which are not its case's or were already answered: its
    /// grouped write is rolled back and the caller is told no (never an error to the user).
    #[error("the minutes are not this case's or were already answered")]
    MinutesNotOpen,
    #[error("upload {0} is missing or already used")]
    BlobNotPending(String),
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    #[error("stored value is malformed: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A script's rule (`script.rs`) gives its error once per run, and a batch written again
    /// runs a script twice. Rules hold only the store's own errors, which copy exactly; the
    /// database's errors (never a rule's) become their message.
    pub(crate) fn again(&self) -> StoreError {
        match self {
            StoreError::DuplicateOfficer => StoreError::DuplicateOfficer,
            StoreError::DuplicateReference => StoreError::DuplicateReference,
            StoreError::MinutesNotOpen => StoreError::MinutesNotOpen,
            StoreError::BlobNotPending(id) => StoreError::BlobNotPending(id.clone()),
            StoreError::UnsupportedUrl => StoreError::UnsupportedUrl,
            StoreError::Corrupt(what) => StoreError::Corrupt(what.clone()),
            other => StoreError::Corrupt(other.to_string()),
        }
    }
}

/// A stored word that does not parse is corrupt data, reported with the column it came
/// from (never its value, which could be anything).
/// `head` followed by `rows` groups of `columns` numbered placeholders
/// (`($1, $2), ($3, $4)`): several rows in one statement. Safe to run as SQL: `head` is a
/// constant of the caller's and the rest is placeholders; the values are bound.
pub(crate) fn rows_sql(
    head: &'static str,
    columns: usize,
    rows: usize,
) -> sqlx::AssertSqlSafe<String> {
    let mut sql = String::from(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * columns + c + 1).to_string());
        }
        sql.push(')');
    }
    sqlx::AssertSqlSafe(sql)
}

pub(crate) fn parsed<T, E>(column: &str, r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|_| StoreError::Corrupt(column.to_owned()))
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The connection pool at one moment (for the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open, in use or idle.
    pub size: u32,
    pub idle: usize,
    /// The most the pool opens.
    pub max: u32,
}

/// The one storage interface: each aggregate's trait, for SQLite and PostgreSQL alike. Every
/// method is a whole unit of work in its own transaction.
#[async_trait::async_trait]
pub trait Store:
    Blobs
    + Cases
    + CaseAccess
    + Accounts
    + Sessions
    + AuditLog
    + SiteSettings
    + Notices
    + Statistics
    + LegalHolds
    + Meetings
    + TriageGroups
    + Entities
    + Send
    + Sync
    + 'static
{
    /// "sqlite" or "postgres", for logs and diagnostics.
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> StoreResult<()>;
    /// How the applied migrations compare with this build's (for `/readyz`).
    async fn schema(&self) -> StoreResult<ops::Schema>;
    /// After deletions: hands freed pages back and empties the write-ahead log (SQLite), so
    /// deleted ciphertext does not linger in free pages or the WAL.
    async fn compact(&self) -> StoreResult<()>;
    /// How many connections the pool holds now, and how many of them are idle.
    fn pool_use(&self) -> PoolUse;
}

pub type SharedStore = Arc<dyn Store>;

/// Opens the database named by the URL (`sqlite:path?mode=rwc`, `postgres://…`).
pub async fn connect(url: &str) -> StoreResult<SharedStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// The URL without user name and password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Reads a whole blob (small items: reports, messages, names). Attachments are streamed
/// chunk by chunk with [`Store::chunk`] instead.
pub async fn read_blob(store: &dyn Store, blob_id: &str) -> StoreResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut idx = 0;
    while let Some(c) = store.chunk(blob_id, idx).await? {
        out.extend_from_slice(&c);
        idx += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_are_numbered_in_order() {
        let sql = super::rows_sql("INSERT INTO t (a, b) VALUES ", 2, 3);
        assert_eq!(
            sql.0,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)"
        );
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            super::redact_url("postgres://u:secret@db:5432/speakup"),
            "postgres://db:5432/speakup"
        );
        assert_eq!(super::redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
    }
}
