//! The SQL behind [`Store`], written once and expanded for SQLite and for PostgreSQL: both
//! accept the same `$n` placeholders and the same statements, so the two implementations
//! cannot drift apart. Only connection set-up and migrations differ.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::Date;
use time::macros::format_description;

use super::workspace::NewEnrollment;
use super::{
    AuditEntry, CaseRecord, Content, EnvelopeRecord, ItemRecord, NewCase, NewItem, NewOfficer,
    OfficerRecord, Store, StoreError, StoreResult, parsed,
};
use crate::domain::holder::{Author, CaseId, Holder};

const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

pub(super) fn day_to_db(d: Date) -> String {
    d.format(DAY).unwrap_or_default()
}

pub(super) fn day_from_db(s: &str) -> StoreResult<Date> {
    Date::parse(s, DAY).map_err(|_| StoreError::Corrupt(format!("day '{s}'")))
}

fn opt_day(s: Option<String>) -> StoreResult<Option<Date>> {
    s.as_deref().map(day_from_db).transpose()
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub struct SqliteStore {
    pub(super) pool: SqlitePool,
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
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        Ok(Self { pool })
    }
}

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

macro_rules! case_columns {
    () => {
        "id, reference, case_recipient, reporter_recipient, category, mode, status, \
         received_on, acknowledged_on, feedback_on, closed_on"
    };
}

macro_rules! item_columns {
    () => {
        "i.id, i.case_id, i.seq, i.kind, i.author, i.created_on, i.reporter_visible, \
         i.parent_id, i.blob_id, b.size, i.name_blob_id"
    };
}

macro_rules! sql_store {
    ($store:ident, $backend:literal, $migrations:literal, $row:ty, $tx:ty) => {
        impl $store {
            fn case_from_row(r: &$row) -> StoreResult<CaseRecord> {
                Ok(CaseRecord {
                    id: CaseId::from(r.try_get::<String, _>("id")?),
                    reference: r.try_get("reference")?,
                    case_recipient: r.try_get("case_recipient")?,
                    reporter_recipient: r.try_get("reporter_recipient")?,
                    category: r.try_get("category")?,
                    mode: parsed("cases.mode", r.try_get::<String, _>("mode")?.parse())?,
                    status: parsed("cases.status", r.try_get::<String, _>("status")?.parse())?,
                    received_on: day_from_db(&r.try_get::<String, _>("received_on")?)?,
                    acknowledged_on: opt_day(r.try_get("acknowledged_on")?)?,
                    feedback_on: opt_day(r.try_get("feedback_on")?)?,
                    closed_on: opt_day(r.try_get("closed_on")?)?,
                })
            }

            fn item_from_row(r: &$row) -> StoreResult<ItemRecord> {
                Ok(ItemRecord {
                    id: r.try_get("id")?,
                    case_id: CaseId::from(r.try_get::<String, _>("case_id")?),
                    seq: r.try_get("seq")?,
                    kind: parsed("items.kind", r.try_get::<String, _>("kind")?.parse())?,
                    author: parsed("items.author", Author::parse(&r.try_get::<String, _>("author")?))?,
                    created_on: day_from_db(&r.try_get::<String, _>("created_on")?)?,
                    reporter_visible: r.try_get("reporter_visible")?,
                    parent_id: r.try_get("parent_id")?,
                    blob_id: r.try_get("blob_id")?,
                    size: r.try_get("size")?,
                    name_blob_id: r.try_get("name_blob_id")?,
                })
            }

            /// Makes an item's ciphertext a complete blob inside the caller's transaction.
            async fn claim_content(
                tx: &mut $tx,
                id: &str,
                content: &Content,
                day: &str,
            ) -> StoreResult<String> {
                match content {
                    Content::Inline(bytes) => {
                        let blob_id = format!("{id}.c");
                        Self::insert_inline(tx, &blob_id, bytes, day).await?;
                        Ok(blob_id)
                    }
                    Content::Blob { id: blob_id, plaintext_size } => {
                        let done = sqlx::query(
                            "UPDATE blobs SET complete = TRUE, size = $2 \
                             WHERE id = $1 AND complete = FALSE",
                        )
                        .bind(blob_id)
                        .bind(plaintext_size)
                        .execute(&mut **tx)
                        .await?;
                        if done.rows_affected() != 1 {
                            return Err(StoreError::BlobNotPending(blob_id.clone()));
                        }
                        Ok(blob_id.clone())
                    }
                }
            }

            async fn insert_inline(
                tx: &mut $tx,
                blob_id: &str,
                bytes: &[u8],
                day: &str,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO blobs (id, complete, created_on, size) VALUES ($1, TRUE, $2, $3)",
                )
                .bind(blob_id)
                .bind(day)
                .bind(bytes.len() as i64)
                .execute(&mut **tx)
                .await?;
                for (idx, chunk) in bytes.chunks(crate::crypto::CHUNK_SIZE).enumerate() {
                    sqlx::query("INSERT INTO chunks (blob_id, idx, data) VALUES ($1, $2, $3)")
                        .bind(blob_id)
                        .bind(idx as i64)
                        .bind(chunk)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            pub(super) async fn insert_items(
                tx: &mut $tx,
                case_id: &CaseId,
                items: &[NewItem],
            ) -> StoreResult<()> {
                let case_id = case_id.as_str();
                let next: i64 = sqlx::query(
                    "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM items WHERE case_id = $1",
                )
                .bind(case_id)
                .fetch_one(&mut **tx)
                .await?
                .try_get("next")?;
                for (n, item) in items.iter().enumerate() {
                    let day = day_to_db(item.created_on);
                    let blob_id = Self::claim_content(tx, &item.id, &item.content, &day).await?;
                    let name_blob_id = match &item.encrypted_name {
                        Some(name) => {
                            let id = format!("{}.n", item.id);
                            Self::insert_inline(tx, &id, name, &day).await?;
                            Some(id)
                        }
                        None => None,
                    };
                    sqlx::query(
                        "INSERT INTO items (id, case_id, seq, kind, author, created_on, \
                         reporter_visible, parent_id, blob_id, name_blob_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&item.id)
                    .bind(case_id)
                    .bind(next + n as i64)
                    .bind(item.kind.as_str())
                    .bind(item.author.to_db())
                    .bind(&day)
                    .bind(item.reporter_visible)
                    .bind(&item.parent_id)
                    .bind(&blob_id)
                    .bind(&name_blob_id)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn migrate(&self) -> StoreResult<()> {
                sqlx::migrate!($migrations).run(&self.pool).await?;
                Ok(())
            }

            async fn server_secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>> {
                sqlx::query(
                    "INSERT INTO server_secrets (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(fresh)
                .execute(&self.pool)
                .await?;
                let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("value")?)
            }

            async fn add_officer(
                &self,
                o: &NewOfficer,
                enrollment: Option<&NewEnrollment>,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO officers (id, email, name, roles, recipient, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(o.id.as_str())
                .bind(&o.email)
                .bind(&o.name)
                .bind(o.roles.to_db())
                .bind(&o.recipient)
                .bind(o.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::DuplicateOfficer
                    } else {
                        e.into()
                    }
                })?;
                if let Some(link) = enrollment {
                    Self::insert_enrollment(&mut tx, &o.id, link).await?;
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn officers(&self) -> StoreResult<Vec<OfficerRecord>> {
                let rows = sqlx::query(
                    "SELECT id, email, name, roles, recipient, created_at, disabled, \
                     (wrapped_identity IS NOT NULL) AS has_wrapped, \
                     (password_hash IS NOT NULL) AS enrolled FROM officers ORDER BY email",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::officer_from_row).collect()
            }

            async fn create_blob(&self, id: &str, day: Date) -> StoreResult<()> {
                sqlx::query("INSERT INTO blobs (id, complete, created_on) VALUES ($1, FALSE, $2)")
                    .bind(id)
                    .bind(day_to_db(day))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn append_chunk(&self, blob_id: &str, idx: i64, data: &[u8]) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO chunks (blob_id, idx, data) \
                     SELECT $1, $2, $3 WHERE EXISTS \
                     (SELECT 1 FROM blobs WHERE id = $1 AND complete = FALSE)",
                )
                .bind(blob_id)
                .bind(idx)
                .bind(data)
                .execute(&self.pool)
                .await
                .and_then(|done| {
                    if done.rows_affected() == 1 {
                        Ok(())
                    } else {
                        Err(sqlx::Error::RowNotFound)
                    }
                })
                .map_err(|e| match e {
                    sqlx::Error::RowNotFound => StoreError::BlobNotPending(blob_id.to_owned()),
                    e => e.into(),
                })
            }

            async fn discard_blob(&self, blob_id: &str) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let pending = sqlx::query("SELECT 1 AS one FROM blobs WHERE id = $1 AND complete = FALSE")
                    .bind(blob_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if pending.is_some() {
                    sqlx::query("DELETE FROM chunks WHERE blob_id = $1")
                        .bind(blob_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM blobs WHERE id = $1")
                        .bind(blob_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn purge_incomplete_blobs(&self, before: Date) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await?;
                let day = day_to_db(before);
                sqlx::query(
                    "DELETE FROM chunks WHERE blob_id IN \
                     (SELECT id FROM blobs WHERE complete = FALSE AND created_on < $1)",
                )
                .bind(&day)
                .execute(&mut *tx)
                .await?;
                let done = sqlx::query("DELETE FROM blobs WHERE complete = FALSE AND created_on < $1")
                    .bind(&day)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn chunk(&self, blob_id: &str, idx: i64) -> StoreResult<Option<Vec<u8>>> {
                let row = sqlx::query("SELECT data FROM chunks WHERE blob_id = $1 AND idx = $2")
                    .bind(blob_id)
                    .bind(idx)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("data")).transpose()?)
            }

            async fn create_case(&self, c: &NewCase) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO cases (id, reference, lookup, case_recipient, reporter_recipient, \
                     category, mode, status, received_on) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8)",
                )
                .bind(c.id.as_str())
                .bind(&c.reference)
                .bind(&c.lookup)
                .bind(&c.case_recipient)
                .bind(&c.reporter_recipient)
                .bind(&c.category)
                .bind(c.mode.as_str())
                .bind(day_to_db(c.received_on))
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::DuplicateReference
                    } else {
                        e.into()
                    }
                })?;
                for e in &c.envelopes {
                    sqlx::query(
                        "INSERT INTO case_keys (case_id, holder, recipient, envelope) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(c.id.as_str())
                    .bind(e.holder.to_db())
                    .bind(&e.recipient)
                    .bind(&e.envelope)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::insert_items(&mut tx, &c.id, &c.items).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn add_items(&self, case_id: &CaseId, items: &[NewItem]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                // Takes the case row's write lock first, so two replies to one case cannot
                // pick the same sequence number.
                sqlx::query("UPDATE cases SET id = id WHERE id = $1")
                    .bind(case_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                Self::insert_items(&mut tx, case_id, items).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn case_by_lookup(&self, lookup: &[u8]) -> StoreResult<Option<CaseRecord>> {
                let row = sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases WHERE lookup = $1"))
                    .bind(lookup)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::case_from_row).transpose()
            }

            async fn case_by_reference(&self, reference: &str) -> StoreResult<Option<CaseRecord>> {
                let row = sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases WHERE reference = $1"))
                    .bind(reference)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::case_from_row).transpose()
            }

            async fn cases(&self) -> StoreResult<Vec<CaseRecord>> {
                let rows = sqlx::query(concat!(
                    "SELECT ", case_columns!(), " FROM cases ORDER BY received_on, reference"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::case_from_row).collect()
            }

            async fn items(&self, case_id: &CaseId) -> StoreResult<Vec<ItemRecord>> {
                let rows = sqlx::query(concat!(
                    "SELECT ", item_columns!(), " FROM items i JOIN blobs b ON b.id = i.blob_id \
                     WHERE i.case_id = $1 ORDER BY i.seq"
                ))
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::item_from_row).collect()
            }

            async fn envelopes(&self, case_id: &CaseId) -> StoreResult<Vec<EnvelopeRecord>> {
                let rows = sqlx::query(
                    "SELECT holder, recipient, envelope FROM case_keys WHERE case_id = $1 ORDER BY holder",
                )
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(EnvelopeRecord {
                            holder: parsed(
                                "case_keys.holder",
                                Holder::parse(&r.try_get::<String, _>("holder")?),
                            )?,
                            recipient: r.try_get("recipient")?,
                            envelope: r.try_get("envelope")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

sql_store!(
    SqliteStore,
    "sqlite",
    "../migrations/sqlite",
    sqlx::sqlite::SqliteRow,
    sqlx::Transaction<'static, sqlx::Sqlite>
);
sql_store!(
    PostgresStore,
    "postgres",
    "../migrations/postgres",
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
