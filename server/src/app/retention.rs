//! Retention: closed cases are deleted, with all their ciphertext, a set number of months
//! after they were closed (GDPR storage limitation; the Directive's art. 18 asks that
//! reports be kept no longer than necessary). Off unless an admin sets a period. Each
//! deletion, the anonymous statistics row it leaves (month received, category, outcome, days
//! to each deadline) and its audit row ("which case, and why", nothing else) commit together; after a
//! run that deleted something the store is compacted, so no ciphertext lingers in free pages
//! or the WAL (no-plaintext-at-rest).

use time::{Date, OffsetDateTime};

use super::audit::{action, entry};
use crate::domain::audit::SYSTEM_ACTOR;
use crate::domain::case::CaseStatus;
use crate::domain::deadlines::add_months;
use crate::domain::stats::CaseDays;
use crate::store::{Store, StoreResult};

/// The longest period an admin may set, in months (10 years).
pub const MAX_MONTHS: u8 = 120;

/// Deletes the closed cases whose retention period ended before `today`; returns how many.
pub async fn apply(
    store: &dyn Store,
    months: u8,
    today: Date,
    now: OffsetDateTime,
) -> StoreResult<usize> {
    if months == 0 {
        return Ok(0);
    }
    let mut deleted = 0;
    for c in store.cases().await? {
        let Some(closed) = c.closed_on else { continue };
        if c.status != CaseStatus::Closed || add_months(closed, months) > today {
            continue;
        }
        let detail = format!("retention: closed on {closed}, kept {months} months");
        let audit = entry(
            now,
            SYSTEM_ACTOR,
            action::CASE_DELETED,
            &c.reference,
            &detail,
        );
        // What the yearly figures keep of the case (issue 11), written with the deletion.
        let left = CaseDays {
            received: c.received_on,
            acknowledged: c.acknowledged_on,
            feedback: c.feedback_on,
            closed: c.closed_on,
        }
        .facts(
            &c.category,
            c.mode,
            c.status,
            store.case_outcome(&c.id).await?,
            today,
        );
        store.delete_case(&c.id, &left, &audit).await?;
        deleted += 1;
    }
    if deleted > 0 {
        store.compact().await?;
    }
    Ok(deleted)
}
