//! Site settings admins change (one transaction with their audit row) and the named server
//! secrets every instance sharing the database agrees on.

use sqlx::Row;

use super::backends::{PostgresStore, SqliteStore};
use super::{AuditEntry, StoreResult};

#[async_trait::async_trait]
pub trait SiteSettings: Send + Sync {
    async fn site_settings(&self) -> StoreResult<Vec<(String, String)>>;

    /// Writes every `(name, value)` row and the audit entry in one transaction.
    async fn set_site_settings(
        &self,
        rows: &[(&str, String)],
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// Returns the named secret, storing `fresh` first if none exists yet, so every
    /// instance sharing a database agrees on it.
    async fn server_secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>>;
}

macro_rules! settings_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        #[async_trait::async_trait]
        impl SiteSettings for $store {
            async fn site_settings(&self) -> StoreResult<Vec<(String, String)>> {
                let rows = sqlx::query("SELECT name, value FROM site_settings ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("name")?, r.try_get("value")?)))
                    .collect()
            }

            async fn set_site_settings(
                &self,
                rows: &[(&str, String)],
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                for (name, value) in rows {
                    sqlx::query(
                        "INSERT INTO site_settings (name, value) VALUES ($1, $2) \
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(*name)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
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
        }
    };
}

settings_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
settings_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
