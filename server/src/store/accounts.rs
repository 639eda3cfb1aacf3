//! Officer accounts and their login secrets: accounts with roles and keys, failed sign-ins
//! and the lock, TOTP steps accepted once, one-time enrollment links (stored as hashes). Every
//! change an admin or the person makes commits with its audit row.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Row;

use super::backends::{PostgresStore, SqliteStore, is_unique_violation};
use super::{
    AuditEntry, CompletedEnrollment, EnrollmentRecord, LoginSecrets, NewEnrollment, NewOfficer,
    OfficerRecord, StoreError, StoreResult, parsed,
};
use crate::domain::holder::OfficerId;
use crate::domain::officer::Roles;

/// Account changes committed by this process (any store in it): whoever keeps something
/// derived from the officer list in memory (`app::holder_cache`) reads it again when this moves.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// How many account changes this process has committed so far.
pub fn accounts_changes() -> u64 {
    CHANGES.load(Ordering::Acquire)
}

/// Called after an account change (or an entity's or triage group's membership) has committed.
pub(super) fn changed() {
    CHANGES.fetch_add(1, Ordering::Release);
}

#[async_trait::async_trait]
pub trait Accounts: Send + Sync {
    /// Creates the account and, when given, its first enrollment link, with the audit row.
    async fn add_officer(
        &self,
        officer: &NewOfficer,
        enrollment: Option<&NewEnrollment>,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn officers(&self) -> StoreResult<Vec<OfficerRecord>>;

    /// The directory's version: moves with every committed change to who receives cases.
    async fn directory_version(&self) -> StoreResult<i64>;

    async fn officer(&self, id: &OfficerId) -> StoreResult<Option<OfficerRecord>>;

    async fn officer_by_email(
        &self,
        email: &str,
    ) -> StoreResult<Option<(OfficerRecord, LoginSecrets)>>;

    /// Reserves one sign-in attempt for the account in ONE statement, before anything is
    /// verified: counts it, locks the account until `now + lock_secs` when this attempt is the
    /// `max`-th, and refuses (`None`, nothing counted) while the account is locked. After a
    /// lock has run out the count starts again. Concurrent attempts cannot all pass the check:
    /// at most `max` are ever evaluated per lock period. A successful sign-in resets the count
    /// (`accept_totp_step`).
    async fn reserve_login_attempt(
        &self,
        id: &OfficerId,
        now: i64,
        max: i64,
        lock_secs: i64,
    ) -> StoreResult<Option<i64>>;

    /// Accepts a TOTP time step only if it is later than every step accepted before, in one
    /// statement, so a code cannot be replayed even by two concurrent requests.
    async fn accept_totp_step(&self, id: &OfficerId, step: i64) -> StoreResult<bool>;

    /// True once after an admin reset the account: the first sign-in since takes the notice.
    async fn take_reset_notice(&self, id: &OfficerId) -> StoreResult<bool>;

    async fn set_disabled(
        &self,
        id: &OfficerId,
        disabled: bool,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn set_roles(&self, id: &OfficerId, roles: &Roles, audit: &AuditEntry)
    -> StoreResult<()>;

    async fn wrapped_identity(&self, id: &OfficerId) -> StoreResult<Option<String>>;

    /// Replaces any earlier link of the account; resetting also clears the password, the
    /// TOTP seed, the age recipient and the passphrase-wrapped key (so whoever uses the new
    /// link must register a new key, and colleagues re-grant cases to it), ends the account's
    /// sessions and leaves a notice for the person's next sign-in.
    async fn create_enrollment(
        &self,
        officer_id: &OfficerId,
        link: &NewEnrollment,
        reset: bool,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn enrollment(&self, token_hash: &[u8]) -> StoreResult<Option<EnrollmentRecord>>;

    /// Uses up the link (if still valid at `now`) and sets the account's secrets; false if
    /// the link was already used or has expired (and then nothing is written or audited).
    async fn complete_enrollment(
        &self,
        token_hash: &[u8],
        now: i64,
        done: &CompletedEnrollment,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
}

macro_rules! officer_columns {
    () => {
        "id, email, name, roles, recipient, created_at, disabled, \
         (wrapped_identity IS NOT NULL) AS has_wrapped, (password_hash IS NOT NULL) AS enrolled, reset_at"
    };
}

macro_rules! accounts_sql {
    ($store:ident, $row:ty, $tx:ty) => {
        impl $store {
            pub(super) fn officer_from_row(r: &$row) -> StoreResult<OfficerRecord> {
                Ok(OfficerRecord {
                    id: OfficerId::from(r.try_get::<String, _>("id")?),
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                    roles: parsed("officers.roles", Roles::parse(&r.try_get::<String, _>("roles")?))?,
                    recipient: r.try_get("recipient")?,
                    created_at: r.try_get("created_at")?,
                    disabled: r.try_get("disabled")?,
                    has_wrapped_identity: r.try_get("has_wrapped")?,
                    enrolled: r.try_get("enrolled")?,
                    reset_at: r.try_get("reset_at")?,
                })
            }

            pub(super) async fn insert_enrollment(
                tx: &mut $tx,
                officer_id: &OfficerId,
                link: &NewEnrollment,
            ) -> StoreResult<()> {
                sqlx::query("DELETE FROM enrollments WHERE officer_id = $1")
                    .bind(officer_id.as_str())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO enrollments (token_hash, officer_id, totp_secret, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(link.token_hash.as_slice())
                .bind(officer_id.as_str())
                .bind(&link.totp_secret)
                .bind(link.expires_at)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl Accounts for $store {
            async fn add_officer(
                &self,
                o: &NewOfficer,
                enrollment: Option<&NewEnrollment>,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
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
                Self::commit_directory(tx).await?;
                Ok(())
            }

            async fn directory_version(&self) -> StoreResult<i64> {
                let row = sqlx::query("SELECT version FROM directory_version WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("version")?)
            }

            async fn officers(&self) -> StoreResult<Vec<OfficerRecord>> {
                let rows = sqlx::query(
                    "SELECT id, email, name, roles, recipient, created_at, disabled, \
                     (wrapped_identity IS NOT NULL) AS has_wrapped, \
                     (password_hash IS NOT NULL) AS enrolled, reset_at FROM officers ORDER BY email",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::officer_from_row).collect()
            }

            async fn officer(&self, id: &OfficerId) -> StoreResult<Option<OfficerRecord>> {
                let row = sqlx::query(concat!("SELECT ", officer_columns!(), " FROM officers WHERE id = $1"))
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::officer_from_row).transpose()
            }

            async fn officer_by_email(
                &self,
                email: &str,
            ) -> StoreResult<Option<(OfficerRecord, LoginSecrets)>> {
                let row = sqlx::query(concat!(
                    "SELECT ", officer_columns!(),
                    ", password_hash, totp_secret, failed_logins, locked_until FROM officers WHERE email = $1"
                ))
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
                let Some(r) = row else { return Ok(None) };
                let secrets = LoginSecrets {
                    password_hash: r.try_get("password_hash")?,
                    totp_secret: r.try_get("totp_secret")?,
                    failed_logins: r.try_get("failed_logins")?,
                    locked_until: r.try_get("locked_until")?,
                };
                Ok(Some((Self::officer_from_row(&r)?, secrets)))
            }

            async fn reserve_login_attempt(
                &self,
                id: &OfficerId,
                now: i64,
                max: i64,
                lock_secs: i64,
            ) -> StoreResult<Option<i64>> {
                let row = sqlx::query(
                    "UPDATE officers SET \
                     failed_logins = CASE WHEN failed_logins >= $3 THEN 1 ELSE failed_logins + 1 END, \
                     locked_until = CASE WHEN \
                       (CASE WHEN failed_logins >= $3 THEN 1 ELSE failed_logins + 1 END) >= $3 \
                       THEN $2 + $4 ELSE locked_until END \
                     WHERE id = $1 AND locked_until <= $2 RETURNING failed_logins",
                )
                .bind(id.as_str())
                .bind(now)
                .bind(max)
                .bind(lock_secs)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|r| r.try_get("failed_logins")).transpose()?)
            }

            async fn accept_totp_step(&self, id: &OfficerId, step: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE officers SET totp_last_step = $2, failed_logins = 0, locked_until = 0 \
                     WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
                )
                .bind(id.as_str())
                .bind(step)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn take_reset_notice(&self, id: &OfficerId) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE officers SET reset_unseen = FALSE WHERE id = $1 AND reset_unseen = TRUE",
                )
                .bind(id.as_str())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_disabled(&self, id: &OfficerId, disabled: bool, audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                let id = id.as_str();
                sqlx::query("UPDATE officers SET disabled = $2 WHERE id = $1")
                    .bind(id)
                    .bind(disabled)
                    .execute(&mut *tx)
                    .await?;
                if disabled {
                    sqlx::query("DELETE FROM officer_sessions WHERE officer_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM enrollments WHERE officer_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                Self::append_in(&mut tx, audit).await?;
                Self::commit_directory(tx).await?;
                Ok(())
            }

            async fn set_roles(&self, id: &OfficerId, roles: &Roles, audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                sqlx::query("UPDATE officers SET roles = $2 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(roles.to_db())
                    .execute(&mut *tx)
                    .await?;
                Self::append_in(&mut tx, audit).await?;
                Self::commit_directory(tx).await?;
                Ok(())
            }

            async fn wrapped_identity(&self, id: &OfficerId) -> StoreResult<Option<String>> {
                let row = sqlx::query("SELECT wrapped_identity FROM officers WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("wrapped_identity")).transpose()?.flatten())
            }

            async fn create_enrollment(
                &self,
                officer_id: &OfficerId,
                link: &NewEnrollment,
                reset: bool,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.write_tx().await?;
                if reset {
                    sqlx::query(
                        "UPDATE officers SET password_hash = NULL, totp_secret = NULL, \
                         totp_last_step = NULL, failed_logins = 0, locked_until = 0, \
                         wrapped_identity = NULL, recipient = '', reset_at = $2, reset_unseen = TRUE \
                         WHERE id = $1",
                    )
                    .bind(officer_id.as_str())
                    .bind(audit.at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM officer_sessions WHERE officer_id = $1")
                        .bind(officer_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                Self::insert_enrollment(&mut tx, officer_id, link).await?;
                Self::append_in(&mut tx, audit).await?;
                Self::commit_directory(tx).await?;
                Ok(())
            }

            async fn enrollment(&self, token_hash: &[u8]) -> StoreResult<Option<EnrollmentRecord>> {
                let row = sqlx::query(
                    "SELECT officer_id, totp_secret, expires_at FROM enrollments WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    Ok(EnrollmentRecord {
                        officer_id: OfficerId::from(r.try_get::<String, _>("officer_id")?),
                        totp_secret: r.try_get("totp_secret")?,
                        expires_at: r.try_get("expires_at")?,
                    })
                })
                .transpose()
            }

            async fn complete_enrollment(
                &self,
                token_hash: &[u8],
                now: i64,
                done: &CompletedEnrollment,
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.write_tx().await?;
                let row = sqlx::query(
                    "DELETE FROM enrollments WHERE token_hash = $1 AND expires_at > $2 \
                     RETURNING officer_id, totp_secret",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { return Ok(false) };
                let officer_id: String = row.try_get("officer_id")?;
                let totp_secret: Vec<u8> = row.try_get("totp_secret")?;
                sqlx::query(
                    "UPDATE officers SET password_hash = $2, totp_secret = $3, totp_last_step = $4, \
                     recipient = COALESCE($5, recipient), \
                     wrapped_identity = CASE WHEN $5 IS NULL THEN wrapped_identity ELSE $6 END, \
                     failed_logins = 0, locked_until = 0 WHERE id = $1 AND disabled = FALSE",
                )
                .bind(&officer_id)
                .bind(&done.password_hash)
                .bind(&totp_secret)
                .bind(done.totp_step)
                .bind(&done.recipient)
                .bind(&done.wrapped_identity)
                .execute(&mut *tx)
                .await?;
                Self::append_in(&mut tx, audit).await?;
                Self::commit_directory(tx).await?;
                Ok(true)
            }
        }
    };
}

accounts_sql!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    super::backends::SqliteWrite
);
accounts_sql!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
