//! Retention: closed cases are deleted, with all their ciphertext, once the period for their
//! outcome (or the organisation's period) has passed since closing (GDPR storage limitation;
//! the Directive's art. 18 asks that reports be kept no longer than necessary). Off unless an
//! admin sets a period; a case under a legal hold is kept, and a case never closed is only
//! flagged to officers (`domain::retention` decides). Each deletion, the anonymous statistics
//! row it leaves (month received, category, outcome, days to each deadline) and its audit row
//! ("which case, and why", nothing else) commit together; after a run that deleted something
//! the store is compacted, so no ciphertext lingers in free pages or the WAL
//! (no-plaintext-at-rest).

use std::collections::HashMap;

use time::{Date, OffsetDateTime};

use super::audit::{action, entry};
use super::entities::Entity;
use super::settings::Site;
use crate::domain::audit::SYSTEM_ACTOR;
use crate::domain::entity::EntitySlug;
use crate::domain::retention::{CaseState, Policy, Verdict, judge};
use crate::domain::stats::CaseDays;
use crate::store::{CaseRecord, Store, StoreResult};

pub use crate::domain::retention::MAX_MONTHS;

/// Deletes the closed cases whose retention period ended before `today`; returns how many.
pub async fn apply(
    store: &dyn Store,
    policy: &Policy,
    today: Date,
    now: OffsetDateTime,
) -> StoreResult<usize> {
    let policies = Policies {
        instance: policy.clone(),
        by_entity: HashMap::new(),
    };
    apply_per_entity(store, &policies, today, now).await
}

/// The retention periods of the instance and of each entity that sets its own (issue 12).
pub struct Policies {
    pub instance: Policy,
    pub by_entity: HashMap<EntitySlug, Policy>,
}

impl Policies {
    /// The instance's policy, and each entity's (its own period, else the instance's).
    pub fn of(site: &Site, entities: &[Entity]) -> Self {
        Self {
            instance: site.retention(),
            by_entity: entities
                .iter()
                .map(|e| (e.slug.clone(), e.site(site).retention()))
                .collect(),
        }
    }

    fn for_case(&self, entity: Option<&EntitySlug>) -> &Policy {
        entity
            .and_then(|e| self.by_entity.get(e))
            .unwrap_or(&self.instance)
    }
}

/// As [`apply`], each case under its entity's period.
pub async fn apply_per_entity(
    store: &dyn Store,
    policies: &Policies,
    today: Date,
    now: OffsetDateTime,
) -> StoreResult<usize> {
    if !policies.instance.is_on() && !policies.by_entity.values().any(Policy::is_on) {
        return Ok(0);
    }
    let held = store.held_cases().await?;
    let mut deleted = 0;
    for c in store.cases().await? {
        let policy = policies.for_case(c.entity.as_ref());
        if !policy.is_on() {
            continue;
        }
        let outcome = store.case_outcome(&c.id).await?;
        let state = CaseState {
            status: c.status,
            outcome,
            received: c.received_on,
            closed: c.closed_on,
            held: held.contains(&c.id),
        };
        let Verdict::Delete { closed, months } = judge(policy, &state, today) else {
            continue;
        };
        delete(store, &c, state, (closed, months), today, now).await?;
        deleted += 1;
    }
    if deleted > 0 {
        store.compact().await?;
    }
    Ok(deleted)
}

async fn delete(
    store: &dyn Store,
    c: &CaseRecord,
    state: CaseState,
    (closed, months): (Date, u8),
    today: Date,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let outcome = state.outcome.map(|o| format!(" ({o})")).unwrap_or_default();
    let detail = format!("retention: closed on {closed}{outcome}, kept {months} months");
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
    .facts(&c.category, c.mode, c.status, state.outcome, today)
    .via(c.channel);
    store.delete_case(&c.id, &left, &audit).await
}
