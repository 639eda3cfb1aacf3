//! The one storage interface, with a SQLite and a PostgreSQL implementation chosen by the
//! URL scheme. Every method is a whole unit of work in its own transaction. What passes
//! through here is ciphertext and workflow metadata only: there is no method that takes or
//! returns reporter plaintext, so a store cannot leak what it never receives.

mod sql;
mod sql_workspace;
pub mod workspace;

use std::sync::Arc;

use time::Date;

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

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone)]
pub struct NewOfficer {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: String,
    pub recipient: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct OfficerRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: String,
    pub recipient: String,
    pub created_at: i64,
    pub disabled: bool,
    /// The account stored its browser-made key, wrapped with a passphrase.
    pub has_wrapped_identity: bool,
    /// A password and TOTP seed are set (the enrollment link was used).
    pub enrolled: bool,
}

impl OfficerRecord {
    pub fn roles(&self) -> Vec<crate::domain::officer::Role> {
        crate::domain::officer::roles_from_db(&self.roles)
    }

    pub fn has_role(&self, role: crate::domain::officer::Role) -> bool {
        self.roles().contains(&role)
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
    pub kind: String,
    pub author: String,
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
    pub holder: String,
    pub recipient: String,
    pub envelope: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: String,
    pub reference: String,
    pub lookup: Vec<u8>,
    pub case_recipient: String,
    pub reporter_recipient: String,
    pub category: String,
    pub mode: String,
    pub received_on: Date,
    pub envelopes: Vec<NewEnvelope>,
    pub items: Vec<NewItem>,
}

#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub id: String,
    pub reference: String,
    pub case_recipient: String,
    pub reporter_recipient: String,
    pub category: String,
    pub mode: String,
    pub status: String,
    pub received_on: Date,
    pub acknowledged_on: Option<Date>,
    pub feedback_on: Option<Date>,
    pub closed_on: Option<Date>,
}

#[derive(Debug, Clone)]
pub struct ItemRecord {
    pub id: String,
    pub case_id: String,
    pub seq: i64,
    pub kind: String,
    pub author: String,
    pub created_on: Date,
    pub reporter_visible: bool,
    pub parent_id: Option<String>,
    pub blob_id: String,
    pub size: i64,
    pub name_blob_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EnvelopeRecord {
    pub holder: String,
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

    async fn add_officer(&self, officer: &NewOfficer) -> StoreResult<()>;
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
    async fn add_items(&self, case_id: &str, items: &[NewItem]) -> StoreResult<()>;
    async fn case_by_lookup(&self, lookup: &[u8]) -> StoreResult<Option<CaseRecord>>;
    async fn case_by_reference(&self, reference: &str) -> StoreResult<Option<CaseRecord>>;
    async fn cases(&self) -> StoreResult<Vec<CaseRecord>>;
    async fn items(&self, case_id: &str) -> StoreResult<Vec<ItemRecord>>;
    async fn envelopes(&self, case_id: &str) -> StoreResult<Vec<EnvelopeRecord>>;
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
