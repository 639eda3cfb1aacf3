//! Recording and checking the tamper-evident audit log. Officer actions that write something
//! pass their entry to the store, which appends it in the action's own transaction; this
//! module records the actions whose only write is the row itself (opening a case, a download,
//! a reveal, an export), queues the reporter actions whose only write is their queued row
//! (opening the mailbox) with their day only (they join the chain once the day is over, in no
//! meaningful order), and verifies the chain. Reporter actions that write something (a report,
//! a reply, an answer to minutes) are queued by the store in that write's own transaction
//! (`store::ReporterAction`). The hash rules are in `domain::audit`.

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

/// Queues a reporter action whose only write is this row (opening the mailbox), with its day
/// only. The reporter's request has already succeeded (it wrote nothing else), so a failure
/// here is logged (without the case) rather than shown to them. An action that writes
/// something else passes its `ReporterAction` to that write instead, so its row commits with
/// it and a failure fails the request.
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
    verify_from(store, None).await
}

/// Checks the chain from a row already known to be intact (`(seq, hash)`), or from the
/// start: the known row must still carry its hash, and every later row must fit.
pub async fn verify_from(
    store: &dyn Store,
    known: Option<(i64, [u8; 32])>,
) -> StoreResult<Verdict> {
    // The head first: rows appended while the check runs (they commit with the head) are
    // beyond it and left for the next check, instead of looking like a mismatch.
    let (head_seq, head_hash) = store.audit_head().await?;
    let (mut prev, mut expected_seq) = match known {
        None => (GENESIS, 1),
        Some((seq, hash)) => match store.audit_rows(seq - 1, 1).await?.first() {
            Some(row) if row.seq == seq && row.hash == hash => (hash, seq + 1),
            Some(row) if row.seq == seq => {
                return Ok(Verdict::Broken {
                    seq,
                    reason: "a row already checked has changed",
                });
            }
            // The checked row is gone: the full check names the first gap.
            _ => (GENESIS, 1),
        },
    };
    while expected_seq <= head_seq {
        let page = store.audit_rows(expected_seq - 1, 1000).await?;
        if page.is_empty() {
            break;
        }
        for row in page.iter().take_while(|r| r.seq <= head_seq) {
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

/// How far the chain is known to be intact in this process: the last row checked, its hash,
/// and when every row up to some point was last checked in full. Kept in memory, not in the
/// database: whoever can rewrite the log could rewrite a stored checkpoint too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: [u8; 32],
    /// Unix time of the last check of every row.
    pub full_at: i64,
}

#[derive(Debug, Default)]
pub struct Checkpoints(std::sync::Mutex<Option<Checkpoint>>);

impl Checkpoints {
    pub fn get(&self) -> Option<Checkpoint> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, c: Option<Checkpoint>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = c;
    }
}

/// Checks the chain and moves the checkpoint: in full (every row, as the hourly maintenance
/// run and `speakup audit verify` do), or from the checkpoint on (the auditor's page, so a
/// view costs the rows added since, not the whole log). Without a checkpoint the check is
/// full. A broken chain forgets the checkpoint, so every later check starts from row one.
pub async fn check(app: &super::App, full: bool) -> StoreResult<(Verdict, Option<Checkpoint>)> {
    let known = if full {
        None
    } else {
        app.audit_checkpoint.get()
    };
    let verdict = verify_from(app.store(), known.map(|c| (c.seq, c.hash))).await?;
    let now = app.clock.now().unix_timestamp();
    let next = match (&verdict, known) {
        (Verdict::Broken { .. }, _) => None,
        (Verdict::Intact { rows: 0, .. }, _) => None,
        (Verdict::Intact { rows, head }, Some(k)) => Some(Checkpoint {
            seq: *rows,
            hash: *head,
            full_at: k.full_at,
        }),
        (Verdict::Intact { rows, head }, None) => Some(Checkpoint {
            seq: *rows,
            hash: *head,
            full_at: now,
        }),
    };
    app.audit_checkpoint.set(next);
    Ok((verdict, next))
}

fn matches_own_hash(r: &AuditRecord) -> bool {
    r.hash.as_slice() == crate::domain::audit::chain_hash(&r.prev_hash, r.seq, &r.entry).as_slice()
}

/// What the auditor's page filters on (as typed), and where the page starts.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub case: String,
    /// Show rows older than this row number (the "older entries" link); `None`: the newest.
    pub before: Option<i64>,
}

/// The auditor's view: one page of matching rows (newest first), the chain's verdict and
/// case statistics (counts only, never content).
pub struct Review {
    pub rows: Vec<AuditRecord>,
    /// Rows in the whole log.
    pub total: i64,
    /// Where the next (older) page starts, when there is one.
    pub older: Option<i64>,
    pub verdict: Verdict,
    pub checkpoint: Option<Checkpoint>,
    pub per_status: Vec<(crate::domain::case::CaseStatus, usize)>,
    pub ack_overdue: usize,
    pub feedback_overdue: usize,
}

/// Rows on one page.
pub const PAGE: i64 = 100;

pub async fn review(
    app: &super::App,
    who: &crate::store::OfficerRecord,
    f: &AuditFilter,
) -> super::Result<Review> {
    use crate::domain::case::CaseStatus;
    use crate::domain::deadlines::DeadlineState;
    super::accounts::require(who, crate::domain::permission::Permission::ReadAudit)?;
    let search = crate::store::AuditSearch {
        actor: f.actor.trim().to_owned(),
        action: f.action.trim().to_owned(),
        case_ref: f.case.trim().to_owned(),
    };
    let before = f.before.filter(|b| *b > 0).unwrap_or(i64::MAX);
    // One row more than a page says whether an older page exists.
    let mut rows = app.store.audit_search(&search, before, PAGE + 1).await?;
    let older = if rows.len() as i64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    let (mut verdict, mut checkpoint) = check(app, false).await?;
    // The rows on screen are checked against their own hashes too, so an edited row that
    // is shown never appears under an "intact" verdict, even one older than the checkpoint.
    if let Some(changed) = rows.iter().find(|r| !matches_own_hash(r)) {
        app.audit_checkpoint.set(None);
        checkpoint = None;
        verdict = Verdict::Broken {
            seq: changed.seq,
            reason: "the row's content does not match its hash (it was changed)",
        };
    }
    let cases = app.store.cases().await?;
    let today = app.clock.today();
    let deadlines: Vec<_> = cases.iter().map(|c| c.deadlines(today)).collect();
    Ok(Review {
        rows,
        total: app.store.audit_head().await?.0,
        older,
        verdict,
        checkpoint,
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
