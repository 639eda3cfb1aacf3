//! Who may open a case beyond the triage group: grants (a colleague's envelope of the case
//! key, and of the officer key when the case has one), revocations and exclusions, and the
//! case's officer key (made once, sealed to exactly the case key's holders), each committed
//! with its audit row. An exclusion is proposed by one officer and takes effect (the copy
//! deleted, later grants blocked) only when a different officer confirms it; a different
//! officer than the proposer can lift it. A reporter's leave-out (routing before sealing,
//! written with the case by `create_case`, `by_officer = 'reporter'`) blocks grants the same
//! way, and only an auditor lifts it (`lift_leave_out`).

use sqlx::Row;

use super::backends::{PostgresStore, SqliteStore};
use super::{AccessRecord, AuditEntry, NewEnvelope, StoreResult, parsed};
use crate::domain::holder::{AccessKind, CaseId, Holder, OfficerId};

#[async_trait::async_trait]
pub trait CaseAccess: Send + Sync {
    async fn case_access(&self, case_id: &CaseId) -> StoreResult<Vec<AccessRecord>>;

    async fn all_case_access(&self) -> StoreResult<Vec<AccessRecord>>;

    /// Seals the case to one more holder: the case key, and the officer key if the case has
    /// one. Refused (false, nothing written) if they are excluded from it, already hold a copy
    /// sealed to the recipient of the new envelope (their current key): a working copy is
    /// never replaced by whatever a colleague sends; or if `officer_envelope` is missing
    /// while the case has an officer key (or given while it has none), checked in the
    /// writing transaction.
    #[allow(clippy::too_many_arguments)]
    async fn grant_access(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        by: &OfficerId,
        at: i64,
        envelope: &NewEnvelope,
        officer_envelope: Option<&[u8]>,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Records the case's officer key: its recipient on the case and, beside each holder's
    /// copy of the case key, the officer identity sealed to the same recipient, with the
    /// audit row, in one transaction. Refused (false, nothing written) if the case already
    /// has an officer key (the first creation wins) or `envelopes` does not name exactly the
    /// holders of the case key, each once.
    async fn create_officer_key(
        &self,
        case_id: &CaseId,
        recipient: &str,
        envelopes: &[(Holder, Vec<u8>)],
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Deletes the holder's envelope and grant.
    async fn revoke_access(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// Records a proposed exclusion; false (nothing written) if one is already pending or in
    /// force for that person.
    async fn propose_exclusion(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        by: &OfficerId,
        at: i64,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Pending exclusions of the case as (excluded, proposed by, at).
    async fn pending_exclusions(
        &self,
        case_id: &CaseId,
    ) -> StoreResult<Vec<(OfficerId, OfficerId, i64)>>;

    /// Confirms a pending exclusion proposed by someone other than `by`, in one transaction:
    /// deletes the holder's envelope and records the exclusion (under the proposer's name).
    /// False (nothing written) if no such proposal is pending.
    async fn confirm_exclusion(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        by: &OfficerId,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Lifts an exclusion in force, unless `by` is the officer who proposed it (false).
    async fn lift_exclusion(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        by: &OfficerId,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Lifts a reporter's leave-out (an exclusion by `reporter`), with the auditor's audit
    /// row; false (nothing written) if there is none for that officer.
    async fn lift_leave_out(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Deletes the holder's envelope and records the exclusion, which blocks later grants.
    async fn exclude(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        by: &OfficerId,
        at: i64,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
}

macro_rules! access_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        impl $store {
            /// Whether the officer is excluded from the case (read in the caller's
            /// transaction, before it writes).
            async fn is_excluded(
                tx: &mut $tx,
                case_id: &CaseId,
                officer_id: &OfficerId,
            ) -> StoreResult<bool> {
                let row = sqlx::query(
                    "SELECT 1 AS one FROM case_access WHERE case_id = $1 AND officer_id = $2 \
                     AND kind = 'exclusion'",
                )
                .bind(case_id.as_str())
                .bind(officer_id.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                Ok(row.is_some())
            }

            /// A colleague who loses their copy of the case key stops being its owner: the
            /// case shows as unowned until someone takes it.
            async fn release_owner(
                tx: &mut $tx,
                case_id: &CaseId,
                officer_id: &OfficerId,
            ) -> StoreResult<()> {
                sqlx::query("UPDATE cases SET owner_id = NULL WHERE id = $1 AND owner_id = $2")
                    .bind(case_id.as_str())
                    .bind(officer_id.as_str())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// The case's officer recipient, read after locking the case row, so that a
            /// creation and a grant of one case queue behind each other.
            async fn officer_key_of(tx: &mut $tx, case_id: &CaseId) -> StoreResult<Option<String>> {
                sqlx::query("UPDATE cases SET id = id WHERE id = $1")
                    .bind(case_id.as_str())
                    .execute(&mut **tx)
                    .await?;
                let row = sqlx::query("SELECT officer_recipient FROM cases WHERE id = $1")
                    .bind(case_id.as_str())
                    .fetch_optional(&mut **tx)
                    .await?;
                match row {
                    Some(r) => Ok(r.try_get("officer_recipient")?),
                    None => Ok(None),
                }
            }

            fn access_from_row(r: &$row) -> StoreResult<AccessRecord> {
                Ok(AccessRecord {
                    case_id: CaseId::from(r.try_get::<String, _>("case_id")?),
                    officer_id: OfficerId::from(r.try_get::<String, _>("officer_id")?),
                    kind: parsed("case_access.kind", r.try_get::<String, _>("kind")?.parse())?,
                    by_officer: OfficerId::from(r.try_get::<String, _>("by_officer")?),
                    at: r.try_get("at")?,
                })
            }

            /// Removes a holder's envelope and access row of one case (before a new grant,
            /// a revocation or an exclusion).
            /// Stores one holder's copy of the case key (and of the officer key, when the case
            /// has one), in the caller's transaction: a grant, or a move to another entity.
            pub(super) async fn insert_copy(
                tx: &mut $tx,
                case_id: &CaseId,
                e: &NewEnvelope,
                officer_envelope: Option<&[u8]>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO case_keys (case_id, holder, recipient, envelope, officer_envelope) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(case_id.as_str())
                .bind(e.holder.to_db())
                .bind(&e.recipient)
                .bind(&e.envelope)
                .bind(officer_envelope)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn drop_holder(
                tx: &mut $tx,
                case_id: &CaseId,
                officer_id: &OfficerId,
                grants_only: bool,
            ) -> StoreResult<()> {
                let access = if grants_only {
                    "DELETE FROM case_access WHERE case_id = $1 AND officer_id = $2 AND kind = 'grant'"
                } else {
                    "DELETE FROM case_access WHERE case_id = $1 AND officer_id = $2"
                };
                sqlx::query(access)
                    .bind(case_id.as_str())
                    .bind(officer_id.as_str())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM case_keys WHERE case_id = $1 AND holder = $2")
                    .bind(case_id.as_str())
                    .bind(Holder::Officer(officer_id.clone()).to_db())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn insert_access(
                tx: &mut $tx,
                case_id: &CaseId,
                officer_id: &OfficerId,
                kind: AccessKind,
                by: &OfficerId,
                at: i64,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO case_access (case_id, officer_id, kind, by_officer, at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(case_id.as_str())
                .bind(officer_id.as_str())
                .bind(kind.as_str())
                .bind(by.as_str())
                .bind(at)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl CaseAccess for $store {
            async fn case_access(&self, case_id: &CaseId) -> StoreResult<Vec<AccessRecord>> {
                let rows = sqlx::query(
                    "SELECT case_id, officer_id, kind, by_officer, at FROM case_access \
                     WHERE case_id = $1 ORDER BY at",
                )
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::access_from_row).collect()
            }

            async fn all_case_access(&self) -> StoreResult<Vec<AccessRecord>> {
                let rows = sqlx::query(
                    "SELECT case_id, officer_id, kind, by_officer, at FROM case_access ORDER BY at",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::access_from_row).collect()
            }

            async fn grant_access(
                &self,
                case_id: &CaseId,
                officer_id: &OfficerId,
                by: &OfficerId,
                at: i64,
                envelope: &NewEnvelope,
                officer_envelope: Option<&[u8]>,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                // Locks the case row first: an officer key made meanwhile waits for this
                // grant (and then must seal to its holder too), or this grant sees it.
                if Self::officer_key_of(&mut tx, case_id).await?.is_some()
                    != officer_envelope.is_some()
                {
                    return Ok(false);
                }
                if Self::is_excluded(&mut tx, case_id, officer_id).await? {
                    return Ok(false);
                }
                let working = sqlx::query(
                    "SELECT 1 AS one FROM case_keys WHERE case_id = $1 AND holder = $2 \
                     AND recipient = $3",
                )
                .bind(case_id.as_str())
                .bind(envelope.holder.to_db())
                .bind(&envelope.recipient)
                .fetch_optional(&mut *tx)
                .await?;
                if working.is_some() {
                    return Ok(false);
                }
                Self::drop_holder(&mut tx, case_id, officer_id, false).await?;
                Self::insert_access(&mut tx, case_id, officer_id, AccessKind::Grant, by, at).await?;
                Self::insert_copy(&mut tx, case_id, envelope, officer_envelope).await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn create_officer_key(
                &self,
                case_id: &CaseId,
                recipient: &str,
                envelopes: &[(Holder, Vec<u8>)],
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                // First writer wins: the case row is locked and set only while empty.
                let set = sqlx::query(
                    "UPDATE cases SET officer_recipient = $2 WHERE id = $1 \
                     AND officer_recipient IS NULL",
                )
                .bind(case_id.as_str())
                .bind(recipient)
                .execute(&mut *tx)
                .await?;
                if set.rows_affected() != 1 {
                    return Ok(false);
                }
                let rows = sqlx::query("SELECT holder FROM case_keys WHERE case_id = $1")
                    .bind(case_id.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
                let mut held: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>("holder"))
                    .collect::<Result<_, _>>()?;
                let mut given: Vec<String> = envelopes.iter().map(|(h, _)| h.to_db()).collect();
                held.sort();
                given.sort();
                given.dedup();
                if held != given || given.len() != envelopes.len() {
                    return Ok(false);
                }
                for (holder, envelope) in envelopes {
                    sqlx::query(
                        "UPDATE case_keys SET officer_envelope = $3 WHERE case_id = $1 AND holder = $2",
                    )
                    .bind(case_id.as_str())
                    .bind(holder.to_db())
                    .bind(envelope)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn revoke_access(
                &self,
                case_id: &CaseId,
                officer_id: &OfficerId,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                Self::drop_holder(&mut tx, case_id, officer_id, true).await?;
                Self::release_owner(&mut tx, case_id, officer_id).await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn propose_exclusion(
                &self,
                case_id: &CaseId,
                officer_id: &OfficerId,
                by: &OfficerId,
                at: i64,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                if Self::is_excluded(&mut tx, case_id, officer_id).await? {
                    return Ok(false);
                }
                let added = sqlx::query(
                    "INSERT INTO pending_exclusions (case_id, officer_id, by_officer, at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(case_id.as_str())
                .bind(officer_id.as_str())
                .bind(by.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if added.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn pending_exclusions(
                &self,
                case_id: &CaseId,
            ) -> StoreResult<Vec<(OfficerId, OfficerId, i64)>> {
                let rows = sqlx::query(
                    "SELECT officer_id, by_officer, at FROM pending_exclusions \
                     WHERE case_id = $1 ORDER BY at",
                )
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            OfficerId::from(r.try_get::<String, _>("officer_id")?),
                            OfficerId::from(r.try_get::<String, _>("by_officer")?),
                            r.try_get("at")?,
                        ))
                    })
                    .collect()
            }

            async fn confirm_exclusion(
                &self,
                case_id: &CaseId,
                officer_id: &OfficerId,
                by: &OfficerId,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let row = sqlx::query(
                    "DELETE FROM pending_exclusions WHERE case_id = $1 AND officer_id = $2 \
                     AND by_officer <> $3 RETURNING by_officer, at",
                )
                .bind(case_id.as_str())
                .bind(officer_id.as_str())
                .bind(by.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { return Ok(false) };
                let proposer = OfficerId::from(row.try_get::<String, _>("by_officer")?);
                let at: i64 = row.try_get("at")?;
                Self::drop_holder(&mut tx, case_id, officer_id, false).await?;
                Self::release_owner(&mut tx, case_id, officer_id).await?;
                Self::insert_access(&mut tx, case_id, officer_id, AccessKind::Exclusion, &proposer, at)
                    .await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn lift_exclusion(
                &self,
                case_id: &CaseId,
                officer_id: &OfficerId,
                by: &OfficerId,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                // A reporter's leave-out is not an officer's to lift (an auditor's only).
                let gone = sqlx::query(
                    "DELETE FROM case_access WHERE case_id = $1 AND officer_id = $2 \
                     AND kind = 'exclusion' AND by_officer <> $3 AND by_officer <> $4",
                )
                .bind(case_id.as_str())
                .bind(officer_id.as_str())
                .bind(by.as_str())
                .bind(crate::domain::routing::BY_REPORTER)
                .execute(&mut *tx)
                .await?;
                if gone.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn lift_leave_out(
                &self,
                case_id: &CaseId,
                officer_id: &OfficerId,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let gone = sqlx::query(
                    "DELETE FROM case_access WHERE case_id = $1 AND officer_id = $2 \
                     AND kind = 'exclusion' AND by_officer = $3",
                )
                .bind(case_id.as_str())
                .bind(officer_id.as_str())
                .bind(crate::domain::routing::BY_REPORTER)
                .execute(&mut *tx)
                .await?;
                if gone.rows_affected() != 1 {
                    return Ok(false);
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn exclude(
                &self,
                case_id: &CaseId,
                officer_id: &OfficerId,
                by: &OfficerId,
                at: i64,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                Self::drop_holder(&mut tx, case_id, officer_id, false).await?;
                Self::release_owner(&mut tx, case_id, officer_id).await?;
                Self::insert_access(&mut tx, case_id, officer_id, AccessKind::Exclusion, by, at)
                    .await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

access_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
access_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
