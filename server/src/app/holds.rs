//! Legal holds (issue 11): an officer who may manage a case's access puts it under a hold (a
//! litigation, an authority's request) so that retention keeps it, and lifts the hold when it
//! ends. Both need a reason, which the audit log keeps in clear for auditors (like a reveal
//! reason: officers write the legal ground, not case content); each change commits with its
//! audit row. The hold itself is metadata: setting it needs no copy of the case key.

use time::Date;

use super::audit::{action, entry};
use super::{App, Error, Result};
use crate::domain::retention::{CaseState, Policy, Verdict, judge};
use crate::store::{CaseRecord, OfficerRecord};

/// The longest reason, in characters.
pub const MAX_REASON: usize = 500;

/// Puts the case under a hold (`hold`) or lifts it. The caller got the case through
/// `casework::for_access_review` (permission and exclusion checked). Refused when the reason
/// is empty or too long, or the case already is in that state.
pub async fn set(
    app: &App,
    who: &OfficerRecord,
    case: &CaseRecord,
    hold: bool,
    reason: &str,
) -> Result<()> {
    super::accounts::require(who, crate::domain::permission::Permission::ManageCaseAccess)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(Error::Invalid);
    }
    let what = if hold {
        action::LEGAL_HOLD_SET
    } else {
        action::LEGAL_HOLD_LIFTED
    };
    let audit = entry(app.clock.now(), &who.email, what, &case.reference, reason);
    let since = hold.then(|| app.clock.today());
    if app.store.set_legal_hold(&case.id, since, &audit).await? {
        Ok(())
    } else {
        Err(Error::Invalid)
    }
}

/// The day the case was put under a hold, if it is under one.
pub async fn current(app: &App, case: &CaseRecord) -> Result<Option<Date>> {
    Ok(app.store.legal_hold(&case.id).await?)
}

/// Whether retention flags the case to officers: not closed, and older than the
/// organisation's retention period (such a case is never deleted automatically).
pub fn open_too_long(policy: &Policy, case: &CaseRecord, today: Date) -> bool {
    let state = CaseState {
        status: case.status,
        outcome: None,
        received: case.received_on,
        closed: case.closed_on,
        held: false,
    };
    judge(policy, &state, today) == Verdict::OpenTooLong
}
