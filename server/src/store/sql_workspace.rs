//! The SQL behind [`Workspace`], expanded for SQLite and PostgreSQL like `sql.rs`. Writes
//! that must not interleave (the audit chain, a case's sequence numbers) begin with an
//! `UPDATE` of the row they depend on: that takes SQLite's write lock and PostgreSQL's row
//! lock before anything is read, so concurrent writers queue instead of forking.

use sqlx::Row;
use time::Date;

use super::sql::day_to_db;
use super::workspace::{
    AccessRecord, CaseUpdate, CompletedEnrollment, EnrollmentRecord, EventRecord, LoginFailure,
    LoginSecrets, NewEnrollment, SessionRecord, Workspace,
};
use super::{
    AuditEntry, AuditRecord, NewEnvelope, OfficerRecord, PostgresStore, SqliteStore, StoreError,
    StoreResult, parsed,
};
use crate::domain::audit::{REPORTER_ACTOR, chain_hash, day_start};
use crate::domain::holder::{AccessKind, Author, CaseId, Holder, OfficerId};
use crate::domain::officer::Roles;

macro_rules! officer_columns {
    () => {
        "id, email, name, roles, recipient, created_at, disabled, \
         (wrapped_identity IS NOT NULL) AS has_wrapped, (password_hash IS NOT NULL) AS enrolled"
    };
}

macro_rules! sql_workspace {
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
                })
            }

            /// Appends an audit row inside the caller's transaction, so an action and its row
            /// commit together or not at all.
            pub(super) async fn append_in(tx: &mut $tx, e: &AuditEntry) -> StoreResult<i64> {
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut **tx)
                    .await?;
                let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&mut **tx)
                    .await?;
                let prev: Vec<u8> = head.try_get("hash")?;
                let seq: i64 = head.try_get::<i64, _>("seq")? + 1;
                let hash = chain_hash(&prev, seq, e);
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, actor, action, case_ref, detail, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(seq)
                .bind(e.at)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.case_ref)
                .bind(&e.detail)
                .bind(&prev)
                .bind(hash.as_slice())
                .execute(&mut **tx)
                .await?;
                sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                    .bind(seq)
                    .bind(hash.as_slice())
                    .execute(&mut **tx)
                    .await?;
                Ok(seq)
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

            /// Removes a holder's envelope and access row of one case (before a new grant,
            /// a revocation or an exclusion).
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
        impl Workspace for $store {
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

            async fn note_login_failure(&self, f: &LoginFailure, audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                if let Some(id) = &f.account {
                    sqlx::query(
                        "UPDATE officers SET failed_logins = failed_logins + 1, \
                         locked_until = COALESCE($2, locked_until) WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .bind(f.lock_until)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
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

            async fn set_disabled(&self, id: &OfficerId, disabled: bool, audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
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
                tx.commit().await?;
                Ok(())
            }

            async fn set_roles(&self, id: &OfficerId, roles: &Roles, audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE officers SET roles = $2 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(roles.to_db())
                    .execute(&mut *tx)
                    .await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
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
                let mut tx = self.pool.begin().await?;
                if reset {
                    sqlx::query(
                        "UPDATE officers SET password_hash = NULL, totp_secret = NULL, \
                         totp_last_step = NULL, failed_logins = 0, locked_until = 0 WHERE id = $1",
                    )
                    .bind(officer_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM officer_sessions WHERE officer_id = $1")
                        .bind(officer_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                Self::insert_enrollment(&mut tx, officer_id, link).await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
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
                let mut tx = self.pool.begin().await?;
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
                tx.commit().await?;
                Ok(true)
            }

            async fn create_session(
                &self,
                id_hash: &[u8],
                officer_id: &OfficerId,
                now: i64,
                lang: &str,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
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
                let mut tx = self.pool.begin().await?;
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
                audit: &AuditEntry,
            ) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let excluded = sqlx::query(
                    "SELECT 1 AS one FROM case_access WHERE case_id = $1 AND officer_id = $2 \
                     AND kind = 'exclusion'",
                )
                .bind(case_id.as_str())
                .bind(officer_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                if excluded.is_some() {
                    return Ok(false);
                }
                Self::drop_holder(&mut tx, case_id, officer_id, false).await?;
                Self::insert_access(&mut tx, case_id, officer_id, AccessKind::Grant, by, at).await?;
                sqlx::query(
                    "INSERT INTO case_keys (case_id, holder, recipient, envelope) VALUES ($1, $2, $3, $4)",
                )
                .bind(case_id.as_str())
                .bind(envelope.holder.to_db())
                .bind(&envelope.recipient)
                .bind(&envelope.envelope)
                .execute(&mut *tx)
                .await?;
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
                let mut tx = self.pool.begin().await?;
                Self::drop_holder(&mut tx, case_id, officer_id, true).await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn exclude(
                &self,
                case_id: &CaseId,
                officer_id: &OfficerId,
                by: &OfficerId,
                at: i64,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                Self::drop_holder(&mut tx, case_id, officer_id, false).await?;
                Self::insert_access(&mut tx, case_id, officer_id, AccessKind::Exclusion, by, at)
                    .await?;
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_case(
                &self,
                case_id: &CaseId,
                u: &CaseUpdate,
                audit: &[AuditEntry],
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let locked = sqlx::query("UPDATE cases SET id = id WHERE id = $1")
                    .bind(case_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                if locked.rows_affected() != 1 {
                    return Err(StoreError::Corrupt(format!("no case {case_id}")));
                }
                Self::insert_items(&mut tx, case_id, &u.items).await?;
                if let Some(e) = &u.event {
                    let next: i64 = sqlx::query(
                        "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM case_events WHERE case_id = $1",
                    )
                    .bind(case_id.as_str())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("next")?;
                    let outcome = e.outcome.map(|o| o.as_str());
                    sqlx::query(
                        "INSERT INTO case_events (case_id, seq, at, actor, status, outcome, reason) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(case_id.as_str())
                    .bind(next)
                    .bind(e.at)
                    .bind(Author::Officer(e.actor.clone()).to_db())
                    .bind(e.status.as_str())
                    .bind(outcome)
                    .bind(&e.reason)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE cases SET status = $2, outcome = COALESCE($3, outcome) WHERE id = $1",
                    )
                    .bind(case_id.as_str())
                    .bind(e.status.as_str())
                    .bind(outcome)
                    .execute(&mut *tx)
                    .await?;
                }
                let dates: [(&str, Option<Date>); 3] = [
                    ("UPDATE cases SET acknowledged_on = $2 WHERE id = $1 AND acknowledged_on IS NULL", u.acknowledged_on),
                    ("UPDATE cases SET feedback_on = $2 WHERE id = $1 AND feedback_on IS NULL", u.feedback_on),
                    ("UPDATE cases SET closed_on = $2 WHERE id = $1", u.closed_on),
                ];
                for (sql, day) in dates {
                    if let Some(day) = day {
                        sqlx::query(sql).bind(case_id.as_str()).bind(day_to_db(day)).execute(&mut *tx).await?;
                    }
                }
                for entry in audit {
                    Self::append_in(&mut tx, entry).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn delete_case(&self, case_id: &CaseId, audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let case_id = case_id.as_str();
                let rows = sqlx::query(
                    "SELECT blob_id, name_blob_id FROM items WHERE case_id = $1",
                )
                .bind(case_id)
                .fetch_all(&mut *tx)
                .await?;
                let mut blobs: Vec<String> = Vec::new();
                for r in &rows {
                    blobs.push(r.try_get("blob_id")?);
                    if let Some(n) = r.try_get::<Option<String>, _>("name_blob_id")? {
                        blobs.push(n);
                    }
                }
                for sql in [
                    "DELETE FROM items WHERE case_id = $1",
                    "DELETE FROM case_keys WHERE case_id = $1",
                    "DELETE FROM case_access WHERE case_id = $1",
                    "DELETE FROM case_events WHERE case_id = $1",
                    "DELETE FROM cases WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(case_id).execute(&mut *tx).await?;
                }
                for b in &blobs {
                    sqlx::query("DELETE FROM chunks WHERE blob_id = $1").bind(b).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM blobs WHERE id = $1").bind(b).execute(&mut *tx).await?;
                }
                Self::append_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn events(&self, case_id: &CaseId) -> StoreResult<Vec<EventRecord>> {
                let rows = sqlx::query(
                    "SELECT seq, at, actor, status, outcome, reason FROM case_events \
                     WHERE case_id = $1 ORDER BY seq",
                )
                .bind(case_id.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(EventRecord {
                            seq: r.try_get("seq")?,
                            at: r.try_get("at")?,
                            actor: parsed("case_events.actor", Author::parse(&r.try_get::<String, _>("actor")?))?,
                            status: parsed("case_events.status", r.try_get::<String, _>("status")?.parse())?,
                            outcome: parsed(
                                "case_events.outcome",
                                r.try_get::<Option<String>, _>("outcome")?.map(|o| o.parse()).transpose(),
                            )?,
                            reason: r.try_get("reason")?,
                        })
                    })
                    .collect()
            }

            async fn site_settings(&self) -> StoreResult<Vec<(String, String)>> {
                let rows = sqlx::query("SELECT name, value FROM site_settings ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("name")?, r.try_get("value")?)))
                    .collect()
            }

            async fn set_site_settings(&self, rows: &[(&str, String)], audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
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

            async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let seq = Self::append_in(&mut tx, entry).await?;
                tx.commit().await?;
                Ok(seq)
            }

            async fn queue_reporter_audit(&self, day: Date, action: &str, case_ref: &str) -> StoreResult<()> {
                sqlx::query("INSERT INTO audit_pending (day, action, case_ref) VALUES ($1, $2, $3)")
                    .bind(day_to_db(day))
                    .bind(action)
                    .bind(case_ref)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn flush_reporter_audit(&self, before: Date) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                let before = day_to_db(before);
                let rows = sqlx::query(
                    "SELECT day, action, case_ref FROM audit_pending WHERE day < $1 \
                     ORDER BY day, case_ref, action",
                )
                .bind(&before)
                .fetch_all(&mut *tx)
                .await?;
                for r in &rows {
                    let day: String = r.try_get("day")?;
                    let day = super::sql::day_from_db(&day)?;
                    let entry = AuditEntry {
                        at: day_start(day),
                        actor: REPORTER_ACTOR.into(),
                        action: r.try_get("action")?,
                        case_ref: r.try_get("case_ref")?,
                        detail: String::new(),
                    };
                    Self::append_in(&mut tx, &entry).await?;
                }
                sqlx::query("DELETE FROM audit_pending WHERE day < $1")
                    .bind(&before)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows.len() as u64)
            }

            async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRecord>> {
                let rows = sqlx::query(
                    "SELECT seq, at, actor, action, case_ref, detail, prev_hash, hash FROM audit_log \
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditRecord {
                            seq: r.try_get("seq")?,
                            entry: AuditEntry {
                                at: r.try_get("at")?,
                                actor: r.try_get("actor")?,
                                action: r.try_get("action")?,
                                case_ref: r.try_get("case_ref")?,
                                detail: r.try_get("detail")?,
                            },
                            prev_hash: r.try_get("prev_hash")?,
                            hash: r.try_get("hash")?,
                        })
                    })
                    .collect()
            }

            async fn audit_head(&self) -> StoreResult<(i64, Vec<u8>)> {
                let r = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?;
                Ok((r.try_get("seq")?, r.try_get("hash")?))
            }
        }
    };
}

sql_workspace!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    sqlx::Transaction<'static, sqlx::Sqlite>
);
sql_workspace!(
    PostgresStore,
    sqlx::postgres::PgRow,
    sqlx::Transaction<'static, sqlx::Postgres>
);
