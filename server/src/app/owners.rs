//! The case owner: one officer responsible for each case. Keeps these rules, in this one place:
//! only an officer who holds access to the case (a copy of its key sealed to their current
//! key, not excluded, an active account with a case role) may become its owner; the first
//! officer who opens or acknowledges an unowned case becomes its owner; an officer who may
//! manage case access can hand the case to another such holder; an owner whose account is
//! disabled (or lost its case role) counts as none, so the case shows as unowned and the next
//! officer who works on it takes it. Every change commits with its `owner_changed` audit row.

use time::OffsetDateTime;

use super::accounts::require;
use super::audit::{action, entry};
use super::{App, Error, Result};
use crate::domain::holder::{AccessKind, OfficerId};
use crate::domain::permission::Permission;
use crate::store::{AccessRecord, CaseRecord, EnvelopeRecord, OfficerRecord, OwnerClaim};

/// Whether this account can be responsible for cases at all: active, enrolled, with a key and
/// a case role. Holding the particular case is checked by [`holds`].
fn may_own(a: &OfficerRecord) -> bool {
    !a.disabled
        && a.enrolled
        && !a.recipient.is_empty()
        && Permission::WorkOnCases.granted_to(&a.roles)
}

/// Whether the colleague holds access to the case: a copy sealed to their current key and
/// no exclusion.
pub fn holds(a: &OfficerRecord, envelopes: &[EnvelopeRecord], access: &[AccessRecord]) -> bool {
    envelopes
        .iter()
        .any(|e| e.holder.is_officer(&a.id) && e.recipient == a.recipient)
        && !access
            .iter()
            .any(|x| x.officer_id == a.id && x.kind == AccessKind::Exclusion)
}

/// The case's owner as pages show it: `None` when nobody is, or when the stored owner's
/// account no longer counts (disabled, no case role).
pub fn owner<'a>(case: &CaseRecord, officers: &'a [OfficerRecord]) -> Option<&'a OfficerRecord> {
    let id = case.owner.as_ref()?;
    officers
        .iter()
        .find(|a| &a.id == id)
        .filter(|a| !a.disabled && Permission::WorkOnCases.granted_to(&a.roles))
}

/// The claim to write with the first opening or acknowledgement of an unowned case by
/// someone who holds it (the caller has opened the case with their own copy of its key).
pub async fn claim(
    app: &App,
    who: &OfficerRecord,
    case: &CaseRecord,
    now: OffsetDateTime,
) -> Result<Option<OwnerClaim>> {
    let officers = app.store.officers().await?;
    if owner(case, &officers).is_some() || !may_own(who) {
        return Ok(None);
    }
    Ok(Some(OwnerClaim {
        owner: who.id.clone(),
        replacing: case.owner.clone(),
        audit: entry(
            now,
            &who.email,
            action::OWNER_CHANGED,
            &case.reference,
            &format!("{} (first to work on the case)", who.email),
        ),
    }))
}

/// The colleagues the case could be handed to: everyone who may own cases and holds this one,
/// except its current owner.
pub fn choices(
    case: &CaseRecord,
    officers: &[OfficerRecord],
    envelopes: &[EnvelopeRecord],
    access: &[AccessRecord],
) -> Vec<OfficerRecord> {
    let current = owner(case, officers).map(|a| a.id.clone());
    officers
        .iter()
        .filter(|a| may_own(a) && holds(a, envelopes, access))
        .filter(|a| current.as_ref() != Some(&a.id))
        .cloned()
        .collect()
}

/// Hands the case to a colleague who holds it (for example when its owner leaves). Needs the
/// permission to manage case access; the store checks again, in the writing transaction,
/// that the new owner holds a working copy and is not excluded.
pub async fn reassign(
    app: &App,
    who: &OfficerRecord,
    case: &CaseRecord,
    account: &str,
) -> Result<()> {
    require(who, Permission::ManageCaseAccess)?;
    let target = app
        .store
        .officer(&OfficerId::from(account))
        .await?
        .filter(may_own)
        .ok_or(Error::Invalid)?;
    let officers = app.store.officers().await?;
    let from = owner(case, &officers).map_or_else(|| "none".to_owned(), |a| a.email.clone());
    let audit = entry(
        app.clock.now(),
        &who.email,
        action::OWNER_CHANGED,
        &case.reference,
        &format!("{from} -> {}", target.email),
    );
    let set = app
        .store
        .set_owner(&case.id, &target.id, &target.recipient, &audit)
        .await?;
    if set { Ok(()) } else { Err(Error::Invalid) }
}
