//! Recording and checking the tamper-evident audit log. Officer actions that write something
//! pass their entry to the store, which appends it in the action's own transaction; this
//! module records the actions whose only write is the row itself (opening a case, a download,
//! a reveal, an export), queues reporter actions with their day only (they join the chain once
//! the day is over, in no meaningful order), and verifies the chain. The hash rules are in
//! `domain::audit`.

use time::{Date, OffsetDateTime};

use crate::domain::audit::check_row;
pub use crate::domain::audit::{AuditEntry, AuditRecord, GENESIS, action, day_start, hex};
use crate::store::{Store, StoreResult};

/// An entry for `actor` doing `action` now.
pub fn entry(
    now: OffsetDateTime,
    actor: &str,
    action: &str,
    case_ref: &str,
    detail: &str,
) -> AuditEntry {
    AuditEntry::new(now.unix_timestamp(), actor, action, case_ref, detail)
}

/// Records an action whose only write is its audit row. A failure fails the action's
/// request: an action that cannot be recorded must not look as if it succeeded silently.
pub async fn record(store: &dyn Store, entry: &AuditEntry) -> StoreResult<()> {
    store.append_audit(entry).await.map(|_| ())
}

/// Queues a reporter action with its day only. The reporter's request has already
/// succeeded, so a failure here is logged (without the case) rather than shown to them.
pub async fn record_reporter(store: &dyn Store, day: Date, action: &str, case_ref: &str) {
    if let Err(e) = store.queue_reporter_audit(day, action, case_ref).await {
        tracing::error!(error = %e, action, "could not queue a reporter action for the audit log");
    }
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
pub async fn verify(store: &dyn Store) -> StoreResult<Verdict> {
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

/// What the auditor's page filters on (as typed).
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub case: String,
}

/// The auditor's view: matching rows (newest first, at most `shown`), the chain's verdict
/// and case statistics (counts only, never content).
pub struct Review {
    pub rows: Vec<AuditRecord>,
    pub total: usize,
    pub verdict: Verdict,
    pub per_status: Vec<(crate::domain::case::CaseStatus, usize)>,
    pub ack_overdue: usize,
    pub feedback_overdue: usize,
}

/// Rows shown at most; filters narrow before this cut.
pub const SHOW: usize = 500;

pub async fn review(
    app: &super::App,
    who: &crate::store::OfficerRecord,
    f: &AuditFilter,
) -> super::Result<Review> {
    use crate::domain::case::CaseStatus;
    use crate::domain::deadlines::DeadlineState;
    super::accounts::require(who, crate::domain::permission::Permission::ReadAudit)?;
    let mut all: Vec<AuditRecord> = Vec::new();
    loop {
        let after = all.last().map_or(0, |r| r.seq);
        let page = app.store.audit_rows(after, 1000).await?;
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    let total = all.len();
    let actor = f.actor.trim().to_lowercase();
    let case_ref = f.case.trim().to_uppercase();
    let rows = all
        .into_iter()
        .rev()
        .filter(|r| actor.is_empty() || r.entry.actor.to_lowercase().contains(&actor))
        .filter(|r| f.action.is_empty() || r.entry.action == f.action)
        .filter(|r| case_ref.is_empty() || r.entry.case_ref.contains(&case_ref))
        .take(SHOW)
        .collect();
    let cases = app.store.cases().await?;
    let today = app.clock.today();
    let deadlines: Vec<_> = cases.iter().map(|c| c.deadlines(today)).collect();
    Ok(Review {
        rows,
        total,
        verdict: verify(app.store()).await?,
        per_status: CaseStatus::ALL
            .iter()
            .map(|s| (*s, cases.iter().filter(|c| c.status == *s).count()))
            .collect(),
        ack_overdue: deadlines
            .iter()
            .filter(|d| d.ack == DeadlineState::Overdue)
            .count(),
        feedback_overdue: deadlines
            .iter()
            .filter(|d| d.feedback == DeadlineState::Overdue)
            .count(),
    })
}
