//! The audit log's pure rules: an entry, the fixed action vocabulary, the row hash that
//! chains each row to the one before, and the check of one row against its predecessor.
//! Recording and verifying against the database are in `app::audit`.

use sha2::{Digest, Sha256};
use time::{Date, Time};

pub const GENESIS: [u8; 32] = [0u8; 32];

/// An audit entry before it joins the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub case_ref: String,
    pub detail: String,
}

impl AuditEntry {
    pub fn new(at: i64, actor: &str, action: &str, case_ref: &str, detail: &str) -> Self {
        Self {
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            case_ref: case_ref.to_owned(),
            detail: detail.to_owned(),
        }
    }
}

/// A row of the chain as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub entry: AuditEntry,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// The row hash: SHA-256 over a domain label, the previous hash and each field with its
/// length, so no two different rows can encode to the same bytes.
pub fn chain_hash(prev: &[u8], seq: i64, e: &AuditEntry) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"speakup/audit/v1\0");
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(e.at.to_be_bytes());
    for field in [&e.actor, &e.action, &e.case_ref, &e.detail] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().into()
}

/// Why a row does not fit the chain, or `None` when it does.
pub fn check_row(row: &AuditRecord, expected_seq: i64, prev: &[u8; 32]) -> Option<&'static str> {
    if row.seq != expected_seq {
        return Some("a row is missing before this one");
    }
    if row.prev_hash.as_slice() != prev {
        return Some("the previous-hash field does not match the row before");
    }
    if row.hash.as_slice() != chain_hash(prev, row.seq, &row.entry) {
        return Some("the row's content does not match its hash (it was changed)");
    }
    None
}

/// Midnight UTC of a day: the timestamp reporter actions carry in the chain.
pub fn day_start(day: Date) -> i64 {
    day.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The actor of reporter rows: a word, never anything about the person.
pub const REPORTER_ACTOR: &str = "reporter";
/// The actor of scheduled housekeeping (retention).
pub const SYSTEM_ACTOR: &str = "system";
/// Command-line actions are audited as done by the machine's operator.
pub const CLI_ACTOR: &str = "cli";

/// Names of audited actions (a fixed vocabulary, so auditors can filter on it).
pub mod action {
    pub const LOGIN: &str = "login";
    pub const LOGIN_FAILED: &str = "login_failed";
    pub const LOGOUT: &str = "logout";
    pub const ENROLLED: &str = "enrolled";
    pub const CASE_OPENED: &str = "case_opened";
    pub const ITEM_DOWNLOADED: &str = "item_downloaded";
    pub const STATUS_CHANGED: &str = "status_changed";
    pub const MESSAGE_SENT: &str = "message_sent";
    pub const NOTE_ADDED: &str = "note_added";
    pub const ACCESS_GRANTED: &str = "access_granted";
    pub const ACCESS_REVOKED: &str = "access_revoked";
    /// Earlier versions excluded at once; kept so old rows still read.
    pub const EXCLUDED: &str = "excluded";
    pub const EXCLUSION_PROPOSED: &str = "exclusion_proposed";
    pub const EXCLUSION_CONFIRMED: &str = "exclusion_confirmed";
    pub const EXCLUSION_LIFTED: &str = "exclusion_lifted";
    pub const IDENTITY_REVEALED: &str = "identity_revealed";
    pub const ACCOUNT_CREATED: &str = "account_created";
    pub const ACCOUNT_DISABLED: &str = "account_disabled";
    pub const ACCOUNT_ENABLED: &str = "account_enabled";
    pub const ENROLLMENT_RESET: &str = "enrollment_reset";
    pub const ROLES_CHANGED: &str = "roles_changed";
    pub const SETTINGS_CHANGED: &str = "settings_changed";
    pub const EXPORT: &str = "export";
    pub const CASE_DELETED: &str = "case_deleted";
    pub const REPORT_FILED: &str = "report_filed";
    pub const REPORTER_REPLIED: &str = "reporter_replied";
    pub const MAILBOX_OPENED: &str = "mailbox_opened";
    /// A case's owner set: by the first officer to work on it, or handed over.
    pub const OWNER_CHANGED: &str = "owner_changed";
    pub const NOTIFY_CHANGED: &str = "notify_changed";
    pub const TEST_MAIL: &str = "test_mail";
    /// The yearly figures taken as a file (CSV download or `speakup stats`), with the range.
    pub const STATS_EXPORTED: &str = "stats_exported";
    /// A case put under a legal hold (retention keeps it), and the hold lifted; with the reason.
    pub const LEGAL_HOLD_SET: &str = "legal_hold_set";
    pub const LEGAL_HOLD_LIFTED: &str = "legal_hold_lifted";
    /// The failed sign-ins of one window after its first (which has its own `login_failed`
    /// row), counted in one row when the window closes (see [`super::failure_summary`]).
    pub const LOGIN_FAILURES_REPEATED: &str = "login_failures_repeated";
    /// A case's officer key made (docs/architecture.md, "Officer key").
    pub const OFFICER_KEY_CREATED: &str = "officer_key_created";
    /// A report entered by an officer on a reporter's behalf, in the case's own transaction.
    pub const REPORT_ENTERED: &str = "report_entered";
    /// The whole case file fetched for the officer's browser to decrypt and save.
    pub const CASE_FILE_DOWNLOADED: &str = "case_file_downloaded";
    /// A reporter asked for a meeting (in person or by phone; the kind is the detail).
    pub const MEETING_REQUESTED: &str = "meeting_requested";
    /// An officer marked a meeting request done.
    pub const MEETING_DONE: &str = "meeting_done";
    /// An officer's message sent as the minutes of a meeting or call.
    pub const MINUTES_POSTED: &str = "minutes_posted";
    /// The reporter confirmed the minutes, or corrected them with a reply.
    pub const MINUTES_CONFIRMED: &str = "minutes_confirmed";
    pub const MINUTES_CORRECTED: &str = "minutes_corrected";
    // --- routing before sealing (issue 12) ---
    /// A triage group added; a member put in or taken out (detail: group and e-mail).
    pub const TRIAGE_GROUP_ADDED: &str = "triage_group_added";
    pub const TRIAGE_GROUP_MEMBER_ADDED: &str = "triage_group_member_added";
    pub const TRIAGE_GROUP_MEMBER_REMOVED: &str = "triage_group_member_removed";
    /// A triage group renamed (detail: old and new name) or deleted (detail: its name).
    pub const TRIAGE_GROUP_RENAMED: &str = "triage_group_renamed";
    pub const TRIAGE_GROUP_DELETED: &str = "triage_group_deleted";
    /// A reporter left officers out of their report (queued with the day, like every
    /// reporter action; who is in the case's access rows).
    pub const OFFICERS_LEFT_OUT: &str = "officers_left_out";
    /// An auditor lifted a reporter's leave-out: the officer may now be granted the case.
    pub const LEAVE_OUT_LIFTED: &str = "leave_out_lifted";
    /// Legal entities (issue 12): an entity added or its settings changed, an officer put in
    /// or taken out of its triage group, group-level access given or taken, a case moved.
    pub const ENTITY_CREATED: &str = "entity_created";
    pub const ENTITY_CHANGED: &str = "entity_changed";
    pub const ENTITY_MEMBER_ADDED: &str = "entity_member_added";
    pub const ENTITY_MEMBER_REMOVED: &str = "entity_member_removed";
    pub const GROUP_ACCESS_GIVEN: &str = "group_access_given";
    pub const GROUP_ACCESS_REMOVED: &str = "group_access_removed";
    pub const CASE_MOVED: &str = "case_moved";

    pub const ALL: &[&str] = &[
        LOGIN,
        LOGIN_FAILED,
        LOGIN_FAILURES_REPEATED,
        LOGOUT,
        ENROLLED,
        CASE_OPENED,
        ITEM_DOWNLOADED,
        STATUS_CHANGED,
        MESSAGE_SENT,
        NOTE_ADDED,
        ACCESS_GRANTED,
        ACCESS_REVOKED,
        EXCLUDED,
        EXCLUSION_PROPOSED,
        EXCLUSION_CONFIRMED,
        EXCLUSION_LIFTED,
        IDENTITY_REVEALED,
        ACCOUNT_CREATED,
        ACCOUNT_DISABLED,
        ACCOUNT_ENABLED,
        ENROLLMENT_RESET,
        ROLES_CHANGED,
        SETTINGS_CHANGED,
        EXPORT,
        CASE_DELETED,
        REPORT_FILED,
        REPORTER_REPLIED,
        MAILBOX_OPENED,
        OWNER_CHANGED,
        NOTIFY_CHANGED,
        TEST_MAIL,
        STATS_EXPORTED,
        LEGAL_HOLD_SET,
        LEGAL_HOLD_LIFTED,
        OFFICER_KEY_CREATED,
        REPORT_ENTERED,
        CASE_FILE_DOWNLOADED,
        MEETING_REQUESTED,
        MEETING_DONE,
        MINUTES_POSTED,
        MINUTES_CONFIRMED,
        MINUTES_CORRECTED,
        TRIAGE_GROUP_ADDED,
        TRIAGE_GROUP_MEMBER_ADDED,
        TRIAGE_GROUP_MEMBER_REMOVED,
        TRIAGE_GROUP_RENAMED,
        TRIAGE_GROUP_DELETED,
        OFFICERS_LEFT_OUT,
        LEAVE_OUT_LIFTED,
        ENTITY_CREATED,
        ENTITY_CHANGED,
        ENTITY_MEMBER_ADDED,
        ENTITY_MEMBER_REMOVED,
        GROUP_ACCESS_GIVEN,
        GROUP_ACCESS_REMOVED,
        CASE_MOVED,
    ];
}

/// How long a window of failed sign-ins stays open after its first failure, in seconds: as
/// long as the per-account lock and the per-address throttle count failures.
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;

/// The actor of the summary row for the bucket of addresses that are no account.
pub const UNKNOWN_ACCOUNTS_ACTOR: &str = "unknown accounts";

/// The bucket a failed sign-in counts in: the account's address, or one bucket ("") for every
/// typed address that is no (enabled) account, so varying the address opens no new windows.
pub fn failure_bucket(email: &str, known_account: bool) -> String {
    if known_account {
        email.to_owned()
    } else {
        String::new()
    }
}

/// A closed window of failed sign-ins in one row: how many failed after the window's first
/// (which has its own `login_failed` row), between which times, and for which reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureWindow {
    pub bucket: String,
    pub opened_at: i64,
    pub last_at: i64,
    /// Every failure of the window, its first included.
    pub failures: i64,
    /// The failures after the first, by reason.
    pub reasons: Vec<(String, i64)>,
}

impl FailureWindow {
    /// The summary row, or `None` when the window saw only its first failure (already in
    /// the chain). Reasons are listed most frequent first, as `reason count` pairs after
    /// "by reason:", separated by "; ".
    pub fn summary(&self) -> Option<AuditEntry> {
        let more = self.failures - 1;
        if more < 1 {
            return None;
        }
        let actor = if self.bucket.is_empty() {
            UNKNOWN_ACCOUNTS_ACTOR
        } else {
            self.bucket.as_str()
        };
        let mut reasons = self.reasons.clone();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let by_reason = reasons
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join("; ");
        let detail = format!(
            "{more} more failed sign-ins after the one recorded at {}, the last at {} ({} in all); by reason: {by_reason}",
            utc(self.opened_at),
            utc(self.last_at),
            self.failures,
        );
        Some(AuditEntry::new(
            self.last_at,
            actor,
            action::LOGIN_FAILURES_REPEATED,
            "",
            &detail,
        ))
    }
}

fn utc(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail: &str) -> AuditEntry {
        AuditEntry::new(1, "a@example.org", action::LOGIN, "", detail)
    }

    #[test]
    fn hashes_cover_every_field_and_the_link() {
        let a = chain_hash(&GENESIS, 1, &entry("x"));
        assert_ne!(a, chain_hash(&GENESIS, 1, &entry("y")));
        assert_ne!(a, chain_hash(&GENESIS, 2, &entry("x")));
        assert_ne!(a, chain_hash(&[1u8; 32], 1, &entry("x")));
        // Field boundaries matter: moving a character between fields changes the hash.
        let mut moved = entry("x");
        moved.actor.push('x');
        moved.detail.clear();
        assert_ne!(a, chain_hash(&GENESIS, 1, &moved));
        let row = AuditRecord {
            seq: 1,
            entry: entry("x"),
            prev_hash: GENESIS.to_vec(),
            hash: a.to_vec(),
        };
        assert_eq!(check_row(&row, 1, &GENESIS), None);
        assert!(check_row(&row, 2, &GENESIS).is_some());
        let mut changed = row.clone();
        changed.entry.detail = "z".into();
        assert!(check_row(&changed, 1, &GENESIS).is_some());
    }

    #[test]
    fn a_window_of_one_failure_needs_no_summary() {
        let mut w = FailureWindow {
            bucket: String::new(),
            opened_at: 0,
            last_at: 60,
            failures: 1,
            reasons: Vec::new(),
        };
        assert_eq!(w.summary(), None);
        w.failures = 200;
        w.reasons = vec![("wrong code".into(), 4), ("account locked".into(), 195)];
        let e = w.summary().unwrap();
        assert_eq!(e.actor, UNKNOWN_ACCOUNTS_ACTOR);
        assert_eq!(e.action, action::LOGIN_FAILURES_REPEATED);
        assert_eq!(e.at, 60);
        assert!(
            e.detail.starts_with("199 more failed sign-ins"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("200 in all"), "{}", e.detail);
        assert!(
            e.detail
                .ends_with("by reason: account locked 195; wrong code 4"),
            "{}",
            e.detail
        );
        assert_eq!(failure_bucket("a@example.org", true), "a@example.org");
        assert_eq!(failure_bucket("a@example.org", false), "");
    }
}
