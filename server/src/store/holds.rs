//! Legal holds: which cases retention must not delete, since which day. Setting or lifting a
//! hold commits with its audit row; a deletion removes the case's row with the case.

use sqlx::Row;
use time::Date;

use super::backends::{PostgresStore, SqliteStore, day_from_db, day_to_db};
use super::{AuditEntry, StoreResult};
use crate::domain::holder::CaseId;

#[async_trait::async_trait]
pub trait LegalHolds: Send + Sync {
    /// The day the case was put under a hold, if it is under one.
    async fn legal_hold(&self, case_id: &CaseId) -> StoreResult<Option<Date>>;

    /// Every case under a hold.
    async fn held_cases(&self) -> StoreResult<Vec<CaseId>>;

    /// Puts the case under a hold (`Some(day)`) or lifts it (`None`), with its audit row;
    /// false (nothing written) when the case already was in that state.
    async fn set_legal_hold(
        &self,
        case_id: &CaseId,
        since: Option<Date>,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
}

macro_rules! holds_sql {
    ($store:ident) => {
        #[async_trait::async_trait]
        impl LegalHolds for $store {
            async fn legal_hold(&self, case_id: &CaseId) -> StoreResult<Option<Date>> {
                let day: Option<String> =
                    sqlx::query_scalar("SELECT since_on FROM legal_holds WHERE case_id = $1")
                        .bind(case_id.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                day.as_deref().map(day_from_db).transpose()
            }

            async fn held_cases(&self) -> StoreResult<Vec<CaseId>> {
                let rows = sqlx::query("SELECT case_id FROM legal_holds ORDER BY case_id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok(CaseId::from(r.try_get::<String, _>("case_id")?)))
                    .collect()
            }

            async fn set_legal_hold(
                &self,
                case_id: &CaseId,
                since: Option<Date>,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let changed = match since {
                    Some(day) => sqlx::query(
                        "INSERT INTO legal_holds (case_id, since_on) \
                         SELECT id, $2 FROM cases WHERE id = $1 ON CONFLICT (case_id) DO NOTHING",
                    )
                    .bind(case_id.as_str())
                    .bind(day_to_db(day))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    None => sqlx::query("DELETE FROM legal_holds WHERE case_id = $1")
                        .bind(case_id.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected(),
                };
                if changed == 0 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}

holds_sql!(SqliteStore);
holds_sql!(PostgresStore);
