//! Officer sessions, stored by the hash of their id only (a copy of the database opens no
//! session): creating one with its login audit row, looking it up, keeping it alive, ending it.

use sqlx::Row;

use super::backends::{PostgresStore, SqliteStore};
use super::{AuditEntry, SessionRecord, StoreResult};
use crate::domain::holder::OfficerId;

#[async_trait::async_trait]
pub trait Sessions: Send + Sync {
    async fn create_session(
        &self,
        id_hash: &[u8],
        officer_id: &OfficerId,
        now: i64,
        lang: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn session(&self, id_hash: &[u8]) -> StoreResult<Option<SessionRecord>>;

    async fn touch_session(&self, id_hash: &[u8], now: i64, lang: &str) -> StoreResult<()>;

    /// Ends a session; with an audit entry (a logout), records it in the same transaction.
    async fn delete_session(&self, id_hash: &[u8], audit: Option<&AuditEntry>) -> StoreResult<()>;

    async fn purge_sessions(&self, idle_before: i64, created_before: i64) -> StoreResult<u64>;
}

macro_rules! sessions_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        #[async_trait::async_trait]
        impl Sessions for $store {
            async fn create_session(
                &self,
                id_hash: &[u8],
                officer_id: &OfficerId,
                now: i64,
                lang: &str,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                sqlx::query(
                    "INSERT INTO officer_sessions (id_hash, officer_id, created_at, last_seen, lang) \
                     VALUES ($1, $2, $3, $3, $4)",
                )
                .bind(id_hash)
                .bind(officer_id.as_str())
                .bind(now)
                .bind(lang)
                .execute(&mut *tx)
                .await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(&self, id_hash: &[u8]) -> StoreResult<Option<SessionRecord>> {
                let row = sqlx::query(
                    "SELECT officer_id, created_at, last_seen, lang FROM officer_sessions \
                     WHERE id_hash = $1",
                )
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    Ok(SessionRecord {
                        officer_id: OfficerId::from(r.try_get::<String, _>("officer_id")?),
                        created_at: r.try_get("created_at")?,
                        last_seen: r.try_get("last_seen")?,
                        lang: r.try_get("lang")?,
                    })
                })
                .transpose()
            }

            async fn touch_session(&self, id_hash: &[u8], now: i64, lang: &str) -> StoreResult<()> {
                sqlx::query("UPDATE officer_sessions SET last_seen = $2, lang = $3 WHERE id_hash = $1")
                    .bind(id_hash)
                    .bind(now)
                    .bind(lang)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_session(&self, id_hash: &[u8], audit: Option<&AuditEntry>) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                sqlx::query("DELETE FROM officer_sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&mut *tx)
                    .await?;
                if let Some(audit) = audit {
                    Self::append_in(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn purge_sessions(&self, idle_before: i64, created_before: i64) -> StoreResult<u64> {
                let done = sqlx::query(
                    "DELETE FROM officer_sessions WHERE last_seen < $1 OR created_at < $2",
                )
                .bind(idle_before)
                .bind(created_before)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

sessions_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
sessions_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
