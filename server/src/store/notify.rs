//! Notification bookkeeping (issue 10): each officer's choice, what each officer was already
//! told about each case (no time kept), the mails claimed per recipient and period (so no
//! mail goes out twice, whatever instance or restart), the sending lease shared by the
//! instances on one database, and the last delivery result. Nothing here touches content.

use sqlx::Row;

use super::backends::{PostgresStore, SqliteStore, day_from_db, opt_day};
use super::{AuditEntry, StoreResult, parsed};
use crate::domain::deadlines::CaseDates;
use crate::domain::holder::{CaseId, Holder, OfficerId};
use crate::domain::notify::{Holding, NotifyMode};

/// A holding and the case's id (to mark it told once the mail went).
pub type HoldingRow = (CaseId, Holding);

#[async_trait::async_trait]
pub trait Notices: Send + Sync {
    /// The officer's choice and mail language, if they ever saved one.
    async fn notify_prefs(&self, officer: &OfficerId) -> StoreResult<Option<(NotifyMode, String)>>;

    /// Saves the choice and its audit row in one transaction.
    async fn set_notify_prefs(
        &self,
        officer: &OfficerId,
        mode: NotifyMode,
        lang: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// The interface language of the officer's most recent session.
    async fn latest_session_lang(&self, officer: &OfficerId) -> StoreResult<Option<String>>;

    /// Every case the officer holds a key to, with what they were told of it.
    async fn holdings(&self, officer: &OfficerId) -> StoreResult<Vec<HoldingRow>>;

    /// Records that the officer was told of each case up to its reporter item `seq`.
    async fn mark_told(&self, officer: &OfficerId, marks: &[(CaseId, i64)]) -> StoreResult<()>;

    /// Claims the mail of `period` for `recipient`; false when it was claimed before.
    async fn claim_notice(&self, recipient: &str, period: &str) -> StoreResult<bool>;

    /// Gives a claim back after a failed delivery, so the next run tries again.
    async fn release_notice(&self, recipient: &str, period: &str) -> StoreResult<()>;

    /// Deletes hourly claims before `hour_floor` and daily ones before `day_floor` (both
    /// compared as text: periods sort by day).
    async fn purge_notices(&self, hour_floor: &str, day_floor: &str) -> StoreResult<u64>;

    /// Takes (or renews) the named lease until `until` unless another holder has it past `now`.
    async fn take_lease(&self, name: &str, holder: &str, now: i64, until: i64)
    -> StoreResult<bool>;

    async fn drop_lease(&self, name: &str, holder: &str) -> StoreResult<()>;

    /// The last delivery results (`last_ok`, `last_error`, …).
    async fn notify_status(&self) -> StoreResult<Vec<(String, String)>>;

    /// Writes delivery results; with an audit entry (an admin's test mail) in one transaction.
    async fn set_notify_status(
        &self,
        rows: &[(&str, String)],
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
}

macro_rules! notify_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        #[async_trait::async_trait]
        impl Notices for $store {
            async fn notify_prefs(
                &self,
                officer: &OfficerId,
            ) -> StoreResult<Option<(NotifyMode, String)>> {
                let row = sqlx::query("SELECT mode, lang FROM notify_prefs WHERE officer_id = $1")
                    .bind(officer.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| {
                    let mode = parsed("notify_prefs.mode", r.try_get::<String, _>("mode")?.parse())?;
                    Ok((mode, r.try_get("lang")?))
                })
                .transpose()
            }

            async fn set_notify_prefs(
                &self,
                officer: &OfficerId,
                mode: NotifyMode,
                lang: &str,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                sqlx::query(
                    "INSERT INTO notify_prefs (officer_id, mode, lang) VALUES ($1, $2, $3) \
                     ON CONFLICT (officer_id) DO UPDATE SET mode = excluded.mode, lang = excluded.lang",
                )
                .bind(officer.as_str())
                .bind(mode.as_str())
                .bind(lang)
                .execute(&mut *tx)
                .await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn latest_session_lang(
                &self,
                officer: &OfficerId,
            ) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT lang FROM officer_sessions WHERE officer_id = $1 \
                     ORDER BY last_seen DESC LIMIT 1",
                )
                .bind(officer.as_str())
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn holdings(&self, officer: &OfficerId) -> StoreResult<Vec<HoldingRow>> {
                let rows = sqlx::query(
                    "SELECT c.id, c.reference, c.status, c.received_on, c.acknowledged_on, \
                     c.feedback_on, m.reporter_seq AS told, \
                     (SELECT COALESCE(MAX(i.seq), 0) FROM items i \
                      WHERE i.case_id = c.id AND i.author = 'reporter') AS reporter_seq \
                     FROM case_keys k JOIN cases c ON c.id = k.case_id \
                     LEFT JOIN notify_marks m ON m.case_id = c.id AND m.officer_id = $2 \
                     WHERE k.holder = $1 ORDER BY c.reference",
                )
                .bind(Holder::Officer(officer.clone()).to_db())
                .bind(officer.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let dates = CaseDates {
                            status: parsed("cases.status", r.try_get::<String, _>("status")?.parse())?,
                            received_on: day_from_db(&r.try_get::<String, _>("received_on")?)?,
                            acknowledged_on: opt_day(r.try_get("acknowledged_on")?)?,
                            feedback_on: opt_day(r.try_get("feedback_on")?)?,
                        };
                        Ok((
                            CaseId::from(r.try_get::<String, _>("id")?),
                            Holding {
                                reference: r.try_get("reference")?,
                                dates,
                                reporter_seq: r.try_get::<i64, _>("reporter_seq")?,
                                told_seq: r.try_get::<Option<i64>, _>("told")?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn mark_told(
                &self,
                officer: &OfficerId,
                marks: &[(CaseId, i64)],
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                for (case, seq) in marks {
                    sqlx::query(
                        "INSERT INTO notify_marks (officer_id, case_id, reporter_seq) \
                         VALUES ($1, $2, $3) ON CONFLICT (officer_id, case_id) \
                         DO UPDATE SET reporter_seq = excluded.reporter_seq",
                    )
                    .bind(officer.as_str())
                    .bind(case.as_str())
                    .bind(*seq)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn claim_notice(&self, recipient: &str, period: &str) -> StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO notify_sent (recipient, period) VALUES ($1, $2) \
                     ON CONFLICT (recipient, period) DO NOTHING",
                )
                .bind(recipient)
                .bind(period)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn release_notice(&self, recipient: &str, period: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM notify_sent WHERE recipient = $1 AND period = $2")
                    .bind(recipient)
                    .bind(period)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn purge_notices(&self, hour_floor: &str, day_floor: &str) -> StoreResult<u64> {
                let hours = sqlx::query(
                    "DELETE FROM notify_sent WHERE period LIKE 'hour:%' AND period < $1",
                )
                .bind(hour_floor)
                .execute(&self.pool)
                .await?;
                let days = sqlx::query(
                    "DELETE FROM notify_sent WHERE period NOT LIKE 'hour:%' \
                     AND substr(period, length(period) - 9) < $1",
                )
                .bind(day_floor)
                .execute(&self.pool)
                .await?;
                Ok(hours.rows_affected() + days.rows_affected())
            }

            async fn take_lease(
                &self,
                name: &str,
                holder: &str,
                now: i64,
                until: i64,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                sqlx::query(
                    "INSERT INTO notify_lease (name, holder, until_at) VALUES ($1, '', 0) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .execute(&mut *tx)
                .await?;
                let taken = sqlx::query(
                    "UPDATE notify_lease SET holder = $2, until_at = $4 \
                     WHERE name = $1 AND (holder = $2 OR until_at < $3)",
                )
                .bind(name)
                .bind(holder)
                .bind(now)
                .bind(until)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(taken.rows_affected() == 1)
            }

            async fn drop_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE notify_lease SET holder = '', until_at = 0 \
                     WHERE name = $1 AND holder = $2",
                )
                .bind(name)
                .bind(holder)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn notify_status(&self) -> StoreResult<Vec<(String, String)>> {
                let rows = sqlx::query("SELECT name, value FROM notify_status ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("name")?, r.try_get("value")?)))
                    .collect()
            }

            async fn set_notify_status(
                &self,
                rows: &[(&str, String)],
                audit: Option<&AuditEntry>,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                for (name, value) in rows {
                    sqlx::query(
                        "INSERT INTO notify_status (name, value) VALUES ($1, $2) \
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(*name)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(audit) = audit {
                    Self::append_in(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

notify_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
notify_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
