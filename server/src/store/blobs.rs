//! Uploads as chunked blobs: an attachment streams in chunk by chunk as an incomplete blob
//! that only a case or an item can claim; an unclaimed one is discarded or purged. Only
//! ciphertext passes through here.

use sqlx::Row;
use time::Date;

use super::backends::{PostgresStore, SqliteStore, day_to_db};
use super::script::Script;
use super::{Content, StoreError, StoreResult};

#[async_trait::async_trait]
pub trait Blobs: Send + Sync {
    /// Starts an upload: chunks can be appended until a case or item claims the blob.
    async fn create_blob(&self, id: &str, day: Date) -> StoreResult<()>;

    async fn append_chunk(&self, blob_id: &str, idx: i64, data: &[u8]) -> StoreResult<()>;

    /// Appends chunks `first`, `first + 1`, … of an upload in one transaction: one commit
    /// (and fsync) for several chunks instead of one each.
    async fn append_chunks(
        &self,
        blob_id: &str,
        first: i64,
        chunks: Vec<Vec<u8>>,
    ) -> StoreResult<()>;

    /// Drops an unclaimed upload (a failed or refused request).
    async fn discard_blob(&self, blob_id: &str) -> StoreResult<()>;

    /// Drops unclaimed uploads begun before `day` (left by a crash mid-upload).
    async fn purge_incomplete_blobs(&self, before: Date) -> StoreResult<u64>;

    async fn chunk(&self, blob_id: &str, idx: i64) -> StoreResult<Option<Vec<u8>>>;
}

/// Makes an item's ciphertext a complete blob, in the script of the write that stores the
/// item; returns the blob's id. An upload must still be pending (not claimed yet).
pub(super) fn claim_content(s: &mut Script, id: &str, content: &Content, day: &str) -> String {
    match content {
        Content::Inline(bytes) => {
            let blob_id = format!("{id}.c");
            inline(s, &blob_id, bytes, day);
            blob_id
        }
        Content::Blob {
            id: blob_id,
            plaintext_size,
        } => {
            s.push(
                "UPDATE blobs SET complete = TRUE, size = $2 WHERE id = $1 AND complete = FALSE",
                vec![blob_id.into(), (*plaintext_size).into()],
            )
            .unless_one(StoreError::BlobNotPending(blob_id.clone()));
            blob_id.clone()
        }
    }
}

/// A small ciphertext held in memory, stored as a complete blob.
pub(super) fn inline(s: &mut Script, blob_id: &str, bytes: &[u8], day: &str) {
    s.push(
        "INSERT INTO blobs (id, complete, created_on, size) VALUES ($1, TRUE, $2, $3)",
        vec![blob_id.into(), day.into(), (bytes.len() as i64).into()],
    );
    for (idx, chunk) in bytes.chunks(crate::crypto::CHUNK_SIZE).enumerate() {
        s.push(
            "INSERT INTO chunks (blob_id, idx, data) VALUES ($1, $2, $3)",
            vec![blob_id.into(), (idx as i64).into(), chunk.into()],
        );
    }
}

macro_rules! blobs_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        impl $store {
            /// Appends chunks to an upload that no case or item has claimed yet.
            async fn insert_chunks(
                tx: &mut $tx,
                blob_id: &str,
                first: i64,
                chunks: &[Vec<u8>],
            ) -> StoreResult<()> {
                // Statement by statement, not one script: a chunk is 512 KiB, so a script
                // would hold a copy of the whole batch at once for the sake of a few
                // hand-offs that cost nothing beside the bytes they carry.
                for (n, data) in chunks.iter().enumerate() {
                    let done = sqlx::query(
                        "INSERT INTO chunks (blob_id, idx, data) \
                         SELECT $1, $2, $3 WHERE EXISTS \
                         (SELECT 1 FROM blobs WHERE id = $1 AND complete = FALSE)",
                    )
                    .bind(blob_id)
                    .bind(first + n as i64)
                    .bind(data.as_slice())
                    .execute(&mut **tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::BlobNotPending(blob_id.to_owned()));
                    }
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl Blobs for $store {
            async fn create_blob(&self, id: &str, day: Date) -> StoreResult<()> {
                let (id, day) = (id.to_owned(), day_to_db(day));
                self.grouped_script(move || {
                    let mut s = Script::default();
                    s.push(
                        "INSERT INTO blobs (id, complete, created_on) VALUES ($1, FALSE, $2)",
                        vec![id.as_str().into(), day.as_str().into()],
                    );
                    s
                })
                .await
            }

            async fn append_chunk(&self, blob_id: &str, idx: i64, data: &[u8]) -> StoreResult<()> {
                self.append_chunks(blob_id, idx, vec![data.to_vec()]).await
            }

            async fn append_chunks(
                &self,
                blob_id: &str,
                first: i64,
                chunks: Vec<Vec<u8>>,
            ) -> StoreResult<()> {
                let job = std::sync::Arc::new((blob_id.to_owned(), chunks));
                self.grouped(move |tx| {
                    let job = job.clone();
                    Box::pin(async move { Self::insert_chunks(tx, &job.0, first, &job.1).await })
                })
                .await
            }

            async fn discard_blob(&self, blob_id: &str) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                let pending =
                    sqlx::query("SELECT 1 AS one FROM blobs WHERE id = $1 AND complete = FALSE")
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
                let mut tx = self.write_tx().await?;
                let day = day_to_db(before);
                sqlx::query(
                    "DELETE FROM chunks WHERE blob_id IN \
                     (SELECT id FROM blobs WHERE complete = FALSE AND created_on < $1)",
                )
                .bind(&day)
                .execute(&mut *tx)
                .await?;
                let done =
                    sqlx::query("DELETE FROM blobs WHERE complete = FALSE AND created_on < $1")
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
        }
    };
}

blobs_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
blobs_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
