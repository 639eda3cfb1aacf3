//! The tamper-evident audit log (non-negotiable 6): every officer and admin action becomes a
//! row whose hash covers the row and the previous row's hash, so changing, inserting or
//! deleting a row breaks the chain at that row. Reporter actions carry a day only and join
//! the chain after that day has ended (see the store), so they reveal no time of day.

use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime, Time};

use crate::store::workspace::{AuditEntry, AuditRecord};
use crate::store::{SharedStore, StoreResult};

pub const GENESIS: [u8; 32] = [0u8; 32];

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
    pub const EXCLUDED: &str = "excluded";
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

    pub const ALL: &[&str] = &[
        LOGIN,
        LOGIN_FAILED,
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
    ];
}

/// Records an officer-side action now. A failure to audit fails the action's request: an
/// action that cannot be recorded must not look as if it succeeded silently.
pub async fn record(
    store: &SharedStore,
    now: OffsetDateTime,
    actor: &str,
    action: &str,
    case_ref: &str,
    detail: &str,
) -> StoreResult<()> {
    store
        .append_audit(&AuditEntry {
            at: now.unix_timestamp(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            case_ref: case_ref.to_owned(),
            detail: detail.to_owned(),
        })
        .await
        .map(|_| ())
}

/// Queues a reporter action with its day only. The reporter's request has already
/// succeeded, so a failure here is logged (without the case) rather than shown to them.
pub async fn record_reporter(store: &SharedStore, day: Date, action: &str, case_ref: &str) {
    if let Err(e) = store.queue_reporter_audit(day, action, case_ref).await {
        tracing::error!(error = %e, action, "could not queue a reporter action for the audit log");
    }
}

/// Midnight UTC of a day: the timestamp reporter actions carry in the chain.
pub fn day_start(day: Date) -> i64 {
    day.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every row links to the one before; the head is the last row's hash.
    Intact {
        rows: i64,
        head: [u8; 32],
    },
    Broken {
        seq: i64,
        reason: &'static str,
    },
}

/// Checks the whole chain, page by page, and names the first row that does not fit.
pub async fn verify(store: &SharedStore) -> StoreResult<Verdict> {
    let mut prev = GENESIS;
    let mut expected_seq = 1;
    loop {
        let page = store.audit_rows(expected_seq - 1, 1000).await?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            if let Some(reason) = check_row(row, expected_seq, &prev) {
                return Ok(Verdict::Broken {
                    seq: row.seq,
                    reason,
                });
            }
            prev.copy_from_slice(&row.hash);
            expected_seq += 1;
        }
    }
    let (head_seq, head_hash) = store.audit_head().await?;
    if head_seq != expected_seq - 1 || head_hash.as_slice() != prev {
        return Ok(Verdict::Broken {
            seq: expected_seq,
            reason: "rows are missing at the end of the log (the head does not match)",
        });
    }
    Ok(Verdict::Intact {
        rows: expected_seq - 1,
        head: prev,
    })
}

fn check_row(row: &AuditRecord, expected_seq: i64, prev: &[u8; 32]) -> Option<&'static str> {
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail: &str) -> AuditEntry {
        AuditEntry {
            at: 1,
            actor: "a@example.org".into(),
            action: action::LOGIN.into(),
            case_ref: String::new(),
            detail: detail.into(),
        }
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
}
