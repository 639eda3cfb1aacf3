//! The values that pass through the store: what is written (`New*`, updates) and what is
//! read back (`*Record`), typed with the domain's enums, ids and holders. Content is only ever
//! ciphertext here; secrets that let someone sign in are hashes, except the TOTP seed.

use time::Date;

use crate::domain::audit::AuditEntry;
use crate::domain::case::{CaseStatus, Channel, ItemKind, Outcome, ReportMode};
use crate::domain::deadlines::{CaseDates, Deadlines};
use crate::domain::entity::EntitySlug;
use crate::domain::holder::{AccessKind, Author, CaseId, Holder, OfficerId};
use crate::domain::officer::{Role, Roles};
use crate::i18n::Lang;

#[derive(Debug, Clone)]
pub struct NewOfficer {
    pub id: OfficerId,
    pub email: String,
    pub name: String,
    pub roles: Roles,
    /// The age recipient case keys are sealed to; empty until the person registers a key.
    pub recipient: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct OfficerRecord {
    pub id: OfficerId,
    pub email: String,
    pub name: String,
    pub roles: Roles,
    pub recipient: String,
    pub created_at: i64,
    pub disabled: bool,
    /// The account stored its browser-made key, wrapped with a passphrase.
    pub has_wrapped_identity: bool,
    /// A password and TOTP seed are set (the enrollment link was used).
    pub enrolled: bool,
    /// When an admin last reset the account (its key was cleared then), if ever.
    pub reset_at: Option<i64>,
}

impl OfficerRecord {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.has(role)
    }

    /// The holder value of this person's envelopes.
    pub fn holder(&self) -> Holder {
        Holder::Officer(self.id.clone())
    }
}

/// Ciphertext for an item: small items inline, attachments as a blob streamed in earlier.
#[derive(Debug, Clone)]
pub enum Content {
    Inline(Vec<u8>),
    Blob { id: String, plaintext_size: i64 },
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: String,
    pub kind: ItemKind,
    pub author: Author,
    pub created_on: Date,
    pub reporter_visible: bool,
    /// An attachment belongs to the report or message it was sent with.
    pub parent_id: Option<String>,
    pub content: Content,
    /// The attachment's file name, age-encrypted like the content.
    pub encrypted_name: Option<Vec<u8>>,
}

/// A reporter action for the audit log, with its day only (migration 0002): queued in
/// `audit_pending` by the store in the same transaction as the reporter's write it records
/// (the case, the reply, the answer to minutes), so the two commit together or not at all,
/// and cost one commit (on SQLite, one hand-off to the group-commit writer), not two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReporterAction {
    pub day: Date,
    /// One of `domain::audit::action`'s labels.
    pub action: &'static str,
}

#[derive(Debug, Clone)]
pub struct NewEnvelope {
    pub holder: Holder,
    pub recipient: String,
    pub envelope: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: CaseId,
    pub reference: String,
    pub lookup: Vec<u8>,
    pub case_recipient: String,
    pub reporter_recipient: String,
    pub category: String,
    pub mode: ReportMode,
    pub received_on: Date,
    /// The language the reporter filed in (the templates offered to officers use it).
    pub reporter_lang: Lang,
    /// The entity the case was filed under; `None` for the instance's own cases.
    pub entity: Option<EntitySlug>,
    /// The triage group its category routed it to (`None`: the entity's whole group).
    pub routed_to: Option<String>,
    pub envelopes: Vec<NewEnvelope>,
    pub items: Vec<NewItem>,
    /// The web, or an officer on the reporter's behalf.
    pub channel: Channel,
    /// The officer action's audit row (`report_entered`), appended in the case's own
    /// transaction; `None` for a reporter's report (queued by day instead).
    pub audit: Option<AuditEntry>,
    /// A reporter's report: its actions (`report_filed`, `meeting_requested`,
    /// `officers_left_out`), queued by day under the case's reference in the case's own
    /// transaction. Empty for an officer-entered report.
    pub reporter_audit: Vec<ReporterAction>,
    /// A meeting asked for on the intake form.
    pub meeting: Option<super::NewMeeting>,
    /// Officers the reporter left out (routing before sealing): they hold no envelope and
    /// are recorded as excluded from the case in the same transaction.
    pub left_out: Vec<OfficerId>,
}

#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub id: CaseId,
    pub reference: String,
    pub case_recipient: String,
    pub reporter_recipient: String,
    pub category: String,
    pub mode: ReportMode,
    pub status: CaseStatus,
    pub received_on: Date,
    pub acknowledged_on: Option<Date>,
    pub feedback_on: Option<Date>,
    pub closed_on: Option<Date>,
    /// The language the reporter filed in; `None` for cases filed before it was kept.
    pub reporter_lang: Option<Lang>,
    /// The officer responsible for the case, as stored (see `app::casework::owner` for when
    /// it counts).
    pub owner: Option<OfficerId>,
    /// The officer key's recipient (`age1…`), which officer-only items are encrypted to;
    /// `None` until an officer's browser made one (see `app::officer_key`).
    pub officer_recipient: Option<String>,
    /// How the report reached the platform.
    pub channel: Channel,
    /// The entity the case belongs to; `None` for the instance's own cases.
    pub entity: Option<EntitySlug>,
    /// The triage group the case was routed to at filing (`None`: its entity's whole group);
    /// only that group's members see it without a grant (`Membership::reads`).
    pub routed_to: Option<String>,
}

impl CaseRecord {
    /// What the deadlines depend on.
    pub fn dates(&self) -> CaseDates {
        CaseDates {
            status: self.status,
            received_on: self.received_on,
            acknowledged_on: self.acknowledged_on,
            feedback_on: self.feedback_on,
        }
    }

    pub fn deadlines(&self, today: Date) -> Deadlines {
        Deadlines::on(&self.dates(), today)
    }
}

#[derive(Debug, Clone)]
pub struct ItemRecord {
    pub id: String,
    pub case_id: CaseId,
    pub seq: i64,
    pub kind: ItemKind,
    pub author: Author,
    pub created_on: Date,
    pub reporter_visible: bool,
    pub parent_id: Option<String>,
    pub blob_id: String,
    pub size: i64,
    pub name_blob_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EnvelopeRecord {
    pub holder: Holder,
    pub recipient: String,
    pub envelope: Vec<u8>,
    /// The case's officer identity sealed to the same recipient; `None` while the case has
    /// no officer key (see `app::officer_key`).
    pub officer_envelope: Option<Vec<u8>>,
}

/// What login checks, kept apart from [`OfficerRecord`] so that listing accounts
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
    /// Makes this officer the case's owner if the stored owner is still `replacing` (none, or
    /// one who no longer counts); its audit row is appended only if the claim took.
    pub claim: Option<OwnerClaim>,
    /// The id of the message item (among `items`) that holds the minutes of a meeting or
    /// call, which the reporter is asked to confirm or correct.
    pub minutes: Option<String>,
}

/// The first officer who opens or acknowledges an unowned case becomes its owner.
#[derive(Debug, Clone)]
pub struct OwnerClaim {
    pub owner: OfficerId,
    pub replacing: Option<OfficerId>,
    pub audit: AuditEntry,
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
