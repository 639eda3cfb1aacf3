//! The officer workspace's half of the store: accounts and their login secrets, sessions,
//! enrollment links, case access, status history, site settings and the audit chain. It
//! keeps the same rule as the case half: case content passes through only as ciphertext;
//! secrets that let someone log in are stored only as hashes (passwords, session ids,
//! enrollment tokens), except the TOTP seed, which the server must be able to read.

use time::Date;

use super::{NewEnvelope, NewItem, StoreResult};

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
    pub officer_id: String,
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
    pub officer_id: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub lang: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    Grant,
    Exclusion,
}

impl AccessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::Grant => "grant",
            AccessKind::Exclusion => "exclusion",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub case_id: String,
    pub officer_id: String,
    pub kind: String,
    pub by_officer: String,
    pub at: i64,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub at: i64,
    pub actor: String,
    pub status: String,
    pub outcome: Option<String>,
    /// age ciphertext to the case recipient.
    pub reason: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct EventRecord {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub status: String,
    pub outcome: Option<String>,
    pub reason: Option<Vec<u8>>,
}

/// One officer write to a case, applied in one transaction: new items, a status change, and
/// the dates the deadlines depend on.
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

/// An audit entry before it joins the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub case_ref: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub entry: AuditEntry,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

#[async_trait::async_trait]
pub trait Workspace: Send + Sync {
    async fn officer(&self, id: &str) -> StoreResult<Option<super::OfficerRecord>>;
    async fn officer_by_email(
        &self,
        email: &str,
    ) -> StoreResult<Option<(super::OfficerRecord, LoginSecrets)>>;
    /// Counts a failed login and, when `locked_until` is given, locks the account until then.
    async fn note_login_failure(&self, id: &str, locked_until: Option<i64>) -> StoreResult<()>;
    /// Accepts a TOTP time step only if it is later than every step accepted before, in one
    /// statement, so a code cannot be replayed even by two concurrent requests.
    async fn accept_totp_step(&self, id: &str, step: i64) -> StoreResult<bool>;
    async fn set_disabled(&self, id: &str, disabled: bool) -> StoreResult<()>;
    async fn set_roles(&self, id: &str, roles: &str) -> StoreResult<()>;
    async fn wrapped_identity(&self, id: &str) -> StoreResult<Option<String>>;

    /// Replaces any earlier link of the account; resetting also clears the password and
    /// TOTP seed and ends the account's sessions.
    async fn create_enrollment(
        &self,
        token_hash: &[u8],
        officer_id: &str,
        totp_secret: &[u8],
        expires_at: i64,
        reset: bool,
    ) -> StoreResult<()>;
    async fn enrollment(&self, token_hash: &[u8]) -> StoreResult<Option<EnrollmentRecord>>;
    /// Uses up the link (if still valid at `now`) and sets the account's secrets; false if
    /// the link was already used or has expired.
    async fn complete_enrollment(
        &self,
        token_hash: &[u8],
        now: i64,
        done: &CompletedEnrollment,
    ) -> StoreResult<bool>;

    async fn create_session(
        &self,
        id_hash: &[u8],
        officer_id: &str,
        now: i64,
        lang: &str,
    ) -> StoreResult<()>;
    async fn session(&self, id_hash: &[u8]) -> StoreResult<Option<SessionRecord>>;
    async fn touch_session(&self, id_hash: &[u8], now: i64, lang: &str) -> StoreResult<()>;
    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()>;
    async fn purge_sessions(&self, idle_before: i64, created_before: i64) -> StoreResult<u64>;

    async fn case_access(&self, case_id: &str) -> StoreResult<Vec<AccessRecord>>;
    async fn all_case_access(&self) -> StoreResult<Vec<AccessRecord>>;
    /// Seals the case to one more holder. Refused (false) if they are excluded from it.
    async fn grant_access(
        &self,
        case_id: &str,
        officer_id: &str,
        by: &str,
        at: i64,
        envelope: &NewEnvelope,
    ) -> StoreResult<bool>;
    /// Deletes the holder's envelope and grant.
    async fn revoke_access(&self, case_id: &str, officer_id: &str) -> StoreResult<()>;
    /// Deletes the holder's envelope and records the exclusion, which blocks later grants.
    async fn exclude(&self, case_id: &str, officer_id: &str, by: &str, at: i64) -> StoreResult<()>;

    async fn update_case(&self, case_id: &str, update: &CaseUpdate) -> StoreResult<()>;
    /// Deletes a case with everything it owns: items, their ciphertext, envelopes, access
    /// rows and history (retention). The audit log keeps its entries about the case.
    async fn delete_case(&self, case_id: &str) -> StoreResult<()>;
    async fn events(&self, case_id: &str) -> StoreResult<Vec<EventRecord>>;

    async fn site_settings(&self) -> StoreResult<Vec<(String, String)>>;
    async fn set_site_setting(&self, name: &str, value: &str) -> StoreResult<()>;

    /// Appends to the chain; returns the new row's sequence number.
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
