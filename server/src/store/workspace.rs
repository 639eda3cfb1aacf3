//! The officer workspace's half of the store: accounts and their login secrets, sessions,
//! enrollment links, case access, status history, site settings and the audit chain. It
//! keeps the same rule as the case half: case content passes through only as ciphertext;
//! secrets that let someone log in are stored only as hashes (passwords, session ids,
//! enrollment tokens), except the TOTP seed, which the server must be able to read. Every
//! method that records an officer action takes its audit entry and commits both together.

use time::Date;

use super::{AuditEntry, AuditRecord, NewEnvelope, NewItem, StoreResult};
use crate::domain::case::{CaseStatus, Outcome};
use crate::domain::holder::{AccessKind, Author, CaseId, OfficerId};
use crate::domain::officer::Roles;

/// What login checks, kept apart from [`super::OfficerRecord`] so that listing accounts
/// never loads a password hash.
#[derive(Clone)]
pub struct LoginSecrets {
    pub password_hash: Option<String>,
    pub totp_secret: Option<Vec<u8>>,
    pub failed_logins: i64,
    pub locked_until: i64,
}

impl std::fmt::Debug for LoginSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginSecrets(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct EnrollmentRecord {
    pub officer_id: OfficerId,
    pub totp_secret: Vec<u8>,
    pub expires_at: i64,
}

/// What finishing an enrollment writes, all at once.
#[derive(Clone)]
pub struct CompletedEnrollment {
    pub password_hash: String,
    pub totp_step: i64,
    /// `None` keeps the key the account already has.
    pub recipient: Option<String>,
    pub wrapped_identity: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub officer_id: OfficerId,
    pub created_at: i64,
    pub last_seen: i64,
    pub lang: String,
}

#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub case_id: CaseId,
    pub officer_id: OfficerId,
    pub kind: AccessKind,
    pub by_officer: OfficerId,
    pub at: i64,
}

/// A status change. The actor is always an officer.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub at: i64,
    pub actor: OfficerId,
    pub status: CaseStatus,
    pub outcome: Option<Outcome>,
    /// age ciphertext to the case recipient.
    pub reason: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct EventRecord {
    pub seq: i64,
    pub at: i64,
    pub actor: Author,
    pub status: CaseStatus,
    pub outcome: Option<Outcome>,
    pub reason: Option<Vec<u8>>,
}

/// One officer write to a case, applied in one transaction with its audit rows: new items,
/// a status change, and the dates the deadlines depend on.
#[derive(Debug, Clone, Default)]
pub struct CaseUpdate {
    pub items: Vec<NewItem>,
    pub event: Option<NewEvent>,
    /// Set only if the case has no acknowledgement date yet.
    pub acknowledged_on: Option<Date>,
    /// Set only if the case has no feedback date yet.
    pub feedback_on: Option<Date>,
    pub closed_on: Option<Date>,
}

/// A new one-time enrollment link: only the token's hash is stored.
#[derive(Clone)]
pub struct NewEnrollment {
    pub token_hash: [u8; 32],
    pub totp_secret: Vec<u8>,
    pub expires_at: i64,
}

impl std::fmt::Debug for NewEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewEnrollment(<redacted>)")
    }
}

/// A failed sign-in: the account to count it against (if one matched) and whether to lock it.
#[derive(Debug, Clone)]
pub struct LoginFailure {
    pub account: Option<OfficerId>,
    /// Lock the account until then.
    pub lock_until: Option<i64>,
}

#[async_trait::async_trait]
pub trait Workspace: Send + Sync {
    async fn officer(&self, id: &OfficerId) -> StoreResult<Option<super::OfficerRecord>>;
    async fn officer_by_email(
        &self,
        email: &str,
    ) -> StoreResult<Option<(super::OfficerRecord, LoginSecrets)>>;
    /// Records a failed sign-in: the audit row, and for a known account one more failure
    /// (locking it when `lock_until` is given).
    async fn note_login_failure(&self, f: &LoginFailure, audit: &AuditEntry) -> StoreResult<()>;
    /// Accepts a TOTP time step only if it is later than every step accepted before, in one
    /// statement, so a code cannot be replayed even by two concurrent requests.
    async fn accept_totp_step(&self, id: &OfficerId, step: i64) -> StoreResult<bool>;
    async fn set_disabled(
        &self,
        id: &OfficerId,
        disabled: bool,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    async fn set_roles(&self, id: &OfficerId, roles: &Roles, audit: &AuditEntry)
    -> StoreResult<()>;
    async fn wrapped_identity(&self, id: &OfficerId) -> StoreResult<Option<String>>;

    /// Replaces any earlier link of the account; resetting also clears the password and
    /// TOTP seed and ends the account's sessions.
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

    async fn case_access(&self, case_id: &CaseId) -> StoreResult<Vec<AccessRecord>>;
    async fn all_case_access(&self) -> StoreResult<Vec<AccessRecord>>;
    /// Seals the case to one more holder. Refused (false, nothing written) if they are
    /// excluded from it.
    async fn grant_access(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        by: &OfficerId,
        at: i64,
        envelope: &NewEnvelope,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// Deletes the holder's envelope and grant.
    async fn revoke_access(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// Deletes the holder's envelope and records the exclusion, which blocks later grants.
    async fn exclude(
        &self,
        case_id: &CaseId,
        officer_id: &OfficerId,
        by: &OfficerId,
        at: i64,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn update_case(
        &self,
        case_id: &CaseId,
        update: &CaseUpdate,
        audit: &[AuditEntry],
    ) -> StoreResult<()>;
    /// Deletes a case with everything it owns: items, their ciphertext, envelopes, access
    /// rows and history (retention). The audit log keeps its entries about the case.
    async fn delete_case(&self, case_id: &CaseId, audit: &AuditEntry) -> StoreResult<()>;
    async fn events(&self, case_id: &CaseId) -> StoreResult<Vec<EventRecord>>;

    async fn site_settings(&self) -> StoreResult<Vec<(String, String)>>;
    /// Writes every `(name, value)` row and the audit entry in one transaction.
    async fn set_site_settings(
        &self,
        rows: &[(&str, String)],
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// Appends to the chain on its own: for actions whose only write is their audit row
    /// (opening a case, a download, a reveal, an export). Returns the new row's number.
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<i64>;
    /// Queues a reporter action with its day only (see migrations 0002).
    async fn queue_reporter_audit(
        &self,
        day: Date,
        action: &str,
        case_ref: &str,
    ) -> StoreResult<()>;
    /// Moves queued reporter actions of days before `before` into the chain.
    async fn flush_reporter_audit(&self, before: Date) -> StoreResult<u64>;
    /// Rows with `seq > after`, oldest first, at most `limit`.
    async fn audit_rows(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRecord>>;
    async fn audit_head(&self) -> StoreResult<(i64, Vec<u8>)>;
}
