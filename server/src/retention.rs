//! Retention: closed cases are deleted, with all their ciphertext, a set number of months
//! after they were closed (GDPR storage limitation; the Directive's art. 18 asks that
//! reports be kept no longer than necessary). Off unless an admin sets a period. The audit
//! log keeps a row saying which case was deleted and why, and nothing else about it.

use time::Date;

use crate::audit::{self, action};
use crate::domain::case::{CaseStatus, add_months};
use crate::store::{SharedStore, StoreResult};

/// The longest period an admin may set, in months (10 years).
pub const MAX_MONTHS: u8 = 120;

/// Deletes the closed cases whose retention period ended before `today`; returns how many.
pub async fn apply(
    store: &SharedStore,
    months: u8,
    today: Date,
    now: time::OffsetDateTime,
) -> StoreResult<usize> {
    if months == 0 {
        return Ok(0);
    }
    let mut deleted = 0;
    for c in store.cases().await? {
        let Some(closed) = c.closed_on else { continue };
        if c.status != CaseStatus::Closed.as_str() || add_months(closed, months) > today {
            continue;
        }
        store.delete_case(&c.id).await?;
        let detail = format!("retention: closed on {closed}, kept {months} months");
        audit::record(
            store,
            now,
            "system",
            action::CASE_DELETED,
            &c.reference,
            &detail,
        )
        .await?;
        deleted += 1;
    }
    Ok(deleted)
}
