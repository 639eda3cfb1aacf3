//! Moving a case to another legal entity (issue 12): an officer's browser seals the case key
//! (and the officer key, when the case has one) to each member of the new entity's triage
//! group who lacks a working copy, the way a grant does; the server checks it got exactly one
//! envelope for each of them, and in one transaction with its `case_moved` row marks the case
//! with the new entity and removes the copies and grants of every officer outside the new
//! group. Exclusions stay: an excluded officer gets no copy in any group.

use age::x25519::Recipient;

use super::accounts::require;
use super::audit::{action, entry};
use super::casework::Opened;
use super::entities;
use super::intake::group_recipients;
use super::{App, Error, Result};
use crate::domain::entity::EntitySlug;
use crate::domain::holder::{AccessKind, Holder, OfficerId};
use crate::domain::permission::Permission;
use crate::i18n::Lang;
use crate::store::{MovedCase, NewEnvelope, OfficerRecord};

/// Where a case can go: an entity (or the instance's own intake, `slug` empty), and who the
/// browser must seal the case key to for it.
pub struct Target {
    pub slug: String,
    pub name: String,
    pub holders: Vec<(Holder, Recipient)>,
}

/// The entity a form names: empty is the instance's own; an unknown slug is `Invalid`.
async fn destination(app: &App, slug: &str) -> Result<Option<EntitySlug>> {
    match slug.trim() {
        "" => Ok(None),
        s => match entities::find(app, s).await {
            Ok(e) => Ok(Some(e.slug)),
            Err(Error::NotFound) => Err(Error::Invalid),
            Err(e) => Err(e),
        },
    }
}

/// The members of the new group who need a copy: not excluded from the case, and holding no
/// copy sealed to their current key.
async fn needing(
    app: &App,
    o: &Opened,
    to: Option<&EntitySlug>,
) -> Result<Vec<(Holder, Recipient)>> {
    let envelopes = app.store.envelopes(&o.case.id).await?;
    let excluded = |id: &OfficerId| {
        o.access
            .iter()
            .any(|a| &a.officer_id == id && a.kind == AccessKind::Exclusion)
    };
    Ok(group_recipients(app.store(), to)
        .await?
        .into_iter()
        .filter(|(h, r)| {
            let working = envelopes
                .iter()
                .any(|e| &e.holder == h && e.recipient == r.to_string());
            let out = matches!(h, Holder::Officer(id) if excluded(id));
            !working && !out
        })
        .collect())
}

/// Every place the case could move to, with the holders to seal to; empty when the instance
/// has no entity.
pub async fn targets(
    app: &App,
    who: &OfficerRecord,
    o: &Opened,
    lang: Lang,
) -> Result<Vec<Target>> {
    require(who, Permission::ManageCaseAccess)?;
    let all = entities::list(app).await?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if o.case.entity.is_some() {
        let holders = needing(app, o, None).await?;
        out.push(Target {
            slug: String::new(),
            name: app.site.get().org_name.clone(),
            holders,
        });
    }
    for e in all
        .iter()
        .filter(|e| Some(&e.slug) != o.case.entity.as_ref())
    {
        out.push(Target {
            slug: e.slug.to_string(),
            name: e.name(lang).to_owned(),
            holders: needing(app, o, Some(&e.slug)).await?,
        });
    }
    Ok(out)
}

/// Moves the case to `slug` (empty: the instance's own), with the browser's envelopes
/// (`holder`, sealed case key) and, when the case has an officer key, its sealed copies.
pub async fn move_case(
    app: &App,
    who: &OfficerRecord,
    o: &Opened,
    slug: &str,
    envelopes: &[(String, Vec<u8>)],
    officer_envelopes: &[(String, Vec<u8>)],
) -> Result<()> {
    require(who, Permission::ManageCaseAccess)?;
    let to = destination(app, slug).await?;
    if to == o.case.entity {
        return Err(Error::Invalid);
    }
    let added = sealed_copies(app, o, to.as_ref(), envelopes, officer_envelopes).await?;
    let membership = app.store.membership().await?;
    let removed: Vec<OfficerId> = app
        .store
        .envelopes(&o.case.id)
        .await?
        .into_iter()
        .filter_map(|e| match e.holder {
            Holder::Officer(id) if !membership.in_group(&id, to.as_ref()) => Some(id),
            _ => None,
        })
        .collect();
    let name = |e: &Option<EntitySlug>| e.as_ref().map_or("-".to_owned(), |s| s.to_string());
    let detail = format!(
        "{} -> {}; {} sealed, {} removed",
        name(&o.case.entity),
        name(&to),
        added.len(),
        removed.len()
    );
    let audit = entry(
        app.clock.now(),
        &who.email,
        action::CASE_MOVED,
        &o.case.reference,
        &detail,
    );
    let moved = MovedCase {
        to,
        added,
        removed,
        had_officer_key: o.case.officer_recipient.is_some(),
    };
    match app.store.move_case(&o.case.id, &moved, &audit).await? {
        true => Ok(()),
        false => Err(Error::Forbidden),
    }
}

/// The copies for the new group, exactly one per member who needs one (and one officer-key
/// copy each when the case has an officer key); anything else is `Invalid`.
async fn sealed_copies(
    app: &App,
    o: &Opened,
    to: Option<&EntitySlug>,
    envelopes: &[(String, Vec<u8>)],
    officer_envelopes: &[(String, Vec<u8>)],
) -> Result<Vec<(NewEnvelope, Option<Vec<u8>>)>> {
    let expected = needing(app, o, to).await?;
    let with_key = o.case.officer_recipient.is_some();
    let wanted_officer = if with_key { expected.len() } else { 0 };
    if envelopes.len() != expected.len() || officer_envelopes.len() != wanted_officer {
        return Err(Error::Invalid);
    }
    let mut out = Vec::new();
    for (holder, recipient) in expected {
        let name = holder.to_db();
        let one = |list: &[(String, Vec<u8>)]| {
            let mut found = list.iter().filter(|(h, _)| *h == name);
            match (found.next(), found.next()) {
                (Some((_, b)), None) => Some(b.clone()),
                _ => None,
            }
        };
        let envelope = one(envelopes).ok_or(Error::Invalid)?;
        let officer = match with_key {
            true => Some(one(officer_envelopes).ok_or(Error::Invalid)?),
            false => None,
        };
        let new = NewEnvelope {
            holder,
            recipient: recipient.to_string(),
            envelope,
        };
        out.push((new, officer));
    }
    Ok(out)
}
