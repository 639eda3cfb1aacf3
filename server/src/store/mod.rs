//! The one storage interface, with a SQLite and a PostgreSQL implementation chosen by the
//! URL scheme. Every method is a whole unit of work in its own transaction. What passes
//! through here is ciphertext and workflow metadata only: there is no method that takes or
//! returns reporter plaintext, so a store cannot leak what it never receives.

mod sql;
mod sql_workspace;
pub mod workspace;

use std::sync::Arc;

use time::Date;

use crate::domain::case::{CaseStatus, ItemKind, ReportMode};
use crate::domain::deadlines::{CaseDates, Deadlines};
use crate::domain::holder::{Author, CaseId, Holder, OfficerId};
use crate::domain::officer::{Role, Roles};

pub use crate::domain::audit::{AuditEntry, AuditRecord};
pub use sql::{PostgresStore, SqliteStore};
pub use workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("an officer with this e-mail address already exists")]
    DuplicateOfficer,
    #[error("a case with this reference already exists")]
    DuplicateReference,
    #[error("upload {0} is missing or already used")]
    BlobNotPending(String),
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    #[error("stored value is malformed: {0}")]
    Corrupt(String),
}

/// A stored word that does not parse is corrupt data, reported with the column it came
/// from (never its value, which could be anything).
pub(crate) fn parsed<T, E>(column: &str, r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|_| StoreError::Corrupt(column.to_owned()))
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone)]
pub struct NewOfficer {
    pub id: OfficerId,
    pub email: String,
    pub name: String,
    pub roles: Roles,
    /// The age recipient case keys are sealed to; empty until the person registers a key.
    pub recipient: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct OfficerRecord {
    pub id: OfficerId,
    pub email: String,
    pub name: String,
    pub roles: Roles,
    pub recipient: String,
    pub created_at: i64,
    pub disabled: bool,
    /// The account stored its browser-made key, wrapped with a passphrase.
    pub has_wrapped_identity: bool,
    /// A password and TOTP seed are set (the enrollment link was used).
    pub enrolled: bool,
}

impl OfficerRecord {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.has(role)
    }

    /// The holder value of this person's envelopes.
    pub fn holder(&self) -> Holder {
        Holder::Officer(self.id.clone())
    }
}

/// Ciphertext for an item: small items inline, attachments as a blob streamed in earlier.
#[derive(Debug, Clone)]
pub enum Content {
    Inline(Vec<u8>),
    Blob { id: String, plaintext_size: i64 },
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: String,
    pub kind: ItemKind,
    pub author: Author,
    pub created_on: Date,
    pub reporter_visible: bool,
    /// An attachment belongs to the report or message it was sent with.
    pub parent_id: Option<String>,
    pub content: Content,
    /// The attachment's file name, age-encrypted like the content.
    pub encrypted_name: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct NewEnvelope {
    pub holder: Holder,
    pub recipient: String,
    pub envelope: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: CaseId,
    pub reference: String,
    pub lookup: Vec<u8>,
    pub case_recipient: String,
    pub reporter_recipient: String,
    pub category: String,
    pub mode: ReportMode,
    pub received_on: Date,
    pub envelopes: Vec<NewEnvelope>,
    pub items: Vec<NewItem>,
}

#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub id: CaseId,
    pub reference: String,
    pub case_recipient: String,
    pub reporter_recipient: String,
    pub category: String,
    pub mode: ReportMode,
    pub status: CaseStatus,
    pub received_on: Date,
    pub acknowledged_on: Option<Date>,
    pub feedback_on: Option<Date>,
    pub closed_on: Option<Date>,
}

impl CaseRecord {
    /// What the deadlines depend on.
    pub fn dates(&self) -> CaseDates {
        CaseDates {
            status: self.status,
            received_on: self.received_on,
            acknowledged_on: self.acknowledged_on,
            feedback_on: self.feedback_on,
        }
    }

    pub fn deadlines(&self, today: Date) -> Deadlines {
        Deadlines::on(&self.dates(), today)
    }
}

#[derive(Debug, Clone)]
pub struct ItemRecord {
    pub id: String,
    pub case_id: CaseId,
    pub seq: i64,
    pub kind: ItemKind,
    pub author: Author,
    pub created_on: Date,
    pub reporter_visible: bool,
    pub parent_id: Option<String>,
    pub blob_id: String,
    pub size: i64,
    pub name_blob_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EnvelopeRecord {
    pub holder: Holder,
    pub recipient: String,
    pub envelope: Vec<u8>,
}

#[async_trait::async_trait]
pub trait Store: Workspace + Send + Sync + 'static {
    /// "sqlite" or "postgres", for logs and diagnostics.
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> StoreResult<()>;
    /// Returns the named secret, storing `fresh` first if none exists yet, so every
    /// instance sharing a database agrees on it.
    async fn server_secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>>;

    /// Creates the account and, when given, its first enrollment link, with the audit row.
    async fn add_officer(
        &self,
        officer: &NewOfficer,
        enrollment: Option<&workspace::NewEnrollment>,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    async fn officers(&self) -> StoreResult<Vec<OfficerRecord>>;

    /// Starts an upload: chunks can be appended until a case or item claims the blob.
    async fn create_blob(&self, id: &str, day: Date) -> StoreResult<()>;
    async fn append_chunk(&self, blob_id: &str, idx: i64, data: &[u8]) -> StoreResult<()>;
    /// Drops an unclaimed upload (a failed or refused request).
    async fn discard_blob(&self, blob_id: &str) -> StoreResult<()>;
    /// Drops unclaimed uploads begun before `day` (left by a crash mid-upload).
    async fn purge_incomplete_blobs(&self, before: Date) -> StoreResult<u64>;
    async fn chunk(&self, blob_id: &str, idx: i64) -> StoreResult<Option<Vec<u8>>>;

    async fn create_case(&self, case: &NewCase) -> StoreResult<()>;
    /// A reporter's items (replies): no officer action, so no audit row here.
    async fn add_items(&self, case_id: &CaseId, items: &[NewItem]) -> StoreResult<()>;
    async fn case_by_lookup(&self, lookup: &[u8]) -> StoreResult<Option<CaseRecord>>;
    async fn case_by_reference(&self, reference: &str) -> StoreResult<Option<CaseRecord>>;
    async fn cases(&self) -> StoreResult<Vec<CaseRecord>>;
    async fn items(&self, case_id: &CaseId) -> StoreResult<Vec<ItemRecord>>;
    async fn envelopes(&self, case_id: &CaseId) -> StoreResult<Vec<EnvelopeRecord>>;
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
    fn urls_lose_their_credentials() {
        assert_eq!(
            super::redact_url("postgres://u:secret@db:5432/speakup"),
            "postgres://db:5432/speakup"
        );
        assert_eq!(super::redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
    }
}
