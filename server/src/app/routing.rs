//! Routing before sealing (issue 12): who a new report's key is sealed to, decided before
//! anyone holds it. The candidates come from `intake::recipients` (the triage officers whose
//! keys work); a category that routes to a triage group narrows them to that group's
//! members; the reporter, where the organisation allows it, may leave out up to two of them.
//! Those left out get no envelope and are recorded as excluded from the case (only an
//! auditor lifts that). Also the admins' triage groups (each change audited) and what the
//! landing page and the report form say about who reads a report. The pure rules are in
//! `domain::routing`.

use std::collections::BTreeMap;
use std::sync::Arc;

use age::x25519::Recipient;

use super::audit::{action, entry};
use super::entities::Entity;
use super::holder_cache::Directory;
use super::settings::{SettingsInput, Site};
use super::{App, Error, Result};
use crate::config::Category;
use crate::domain::audit::CLI_ACTOR;
use crate::domain::holder::{Holder, OfficerId};
use crate::domain::officer::Role;
use crate::domain::permission::Permission;
use crate::domain::routing::{self, RouteError};
use crate::store::{GroupRecord, OfficerRecord};

/// One officer who may read reports, as the reporter sees them: a name and a role (their
/// triage groups, or the organisation's compliance officers).
#[derive(Debug, Clone)]
pub struct Reader {
    pub id: OfficerId,
    pub name: String,
    /// The triage groups they belong to, by name (empty: only the default group).
    pub groups: Vec<String>,
}

/// Who a new case's key is sealed to, once the category and the leave-outs are known.
pub struct Sealing {
    pub holders: Vec<(Holder, Recipient)>,
    /// The officers the reporter left out (excluded from the case at filing).
    pub left_out: Vec<OfficerId>,
    /// The triage group the category routed the case to, kept on the case so that only
    /// that group's members see it (`None`: the whole triage group).
    pub routed_to: Option<String>,
}

/// Everything the intake needs to route a report, read once per request (the directory is
/// shared, not copied: a page view builds only the entity's candidates).
pub struct Plan {
    candidates: Vec<(Holder, Recipient)>,
    directory: Arc<Directory>,
    site: Arc<Site>,
}

impl Plan {
    /// The plan for an entity's intake (`None`: the instance's own) as the database holds it
    /// now (filing: the holders expected must be current; `HolderCache::current` checks the
    /// directory's version). Its triage group are the candidates, and its settings
    /// (categories) apply; a category's route can only narrow the group, never reach past it.
    pub async fn load(app: &App, entity: Option<&Entity>) -> Result<Self> {
        let directory = app.intake_holders.current(app.store()).await?;
        Ok(Self::of(app, entity, directory))
    }

    /// The plan from a directory the caller already holds (a cached page's stamp).
    pub fn of(app: &App, entity: Option<&Entity>, d: Arc<Directory>) -> Self {
        let instance = app.site.get();
        let site = match entity {
            Some(e) => Arc::new(e.site(&instance)),
            None => instance,
        };
        let slug = entity.map(|e| &e.slug);
        let all = d.holders.clone();
        let candidates = super::intake::in_group(all, &d.membership, slug);
        Self {
            candidates,
            directory: d,
            site,
        }
    }

    /// Every triage officer whose key works: the intake is open when there is one.
    pub fn candidates(&self) -> &[(Holder, Recipient)] {
        &self.candidates
    }

    fn candidate_ids(&self) -> Vec<OfficerId> {
        self.candidates
            .iter()
            .filter_map(|(h, _)| h.officer().cloned())
            .collect()
    }

    /// The members of the group a category routes to; `None` when it does not route. A
    /// route to a group that is gone routes to nobody (refused, never widened).
    fn route_members(&self, category: &str) -> Option<Vec<OfficerId>> {
        let group = self.site.route(category)?;
        Some(
            self.directory
                .groups
                .iter()
                .find(|g| g.name == group)
                .map(|g| g.members.clone())
                .unwrap_or_default(),
        )
    }

    /// Who reads a report in this category, before any leave-out.
    pub fn readers(&self, category: &str) -> Vec<OfficerId> {
        routing::readers(
            &self.candidate_ids(),
            self.route_members(category).as_deref(),
        )
    }

    /// Whether the reporter may leave officers out (and sees their names).
    pub fn offered(&self) -> bool {
        self.site.reporter_leave_out
    }

    /// Checks the reporter's leave-outs (officer ids as the form sent them) for a category.
    pub fn check(&self, category: &str, chosen: &[String]) -> Result<Vec<OfficerId>, RouteError> {
        let chosen: Vec<OfficerId> = chosen
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .map(OfficerId::from)
            .collect();
        routing::leave_out(
            &self.readers(category),
            &self.candidate_ids(),
            &chosen,
            self.offered(),
        )
    }

    /// The holders a report in `category` is sealed to, the reporter's leave-outs removed.
    pub fn seal_to(&self, category: &str, chosen: &[String]) -> Result<Sealing, RouteError> {
        let left_out = self.check(category, chosen)?;
        let readers = self.readers(category);
        let holders = self
            .candidates
            .iter()
            .filter(|(h, _)| h.officer().is_some_and(|id| readers.contains(id)))
            .filter(|(h, _)| !h.officer().is_some_and(|id| left_out.contains(id)))
            .cloned()
            .collect();
        let routed_to = self.site.route(category).map(str::to_owned);
        Ok(Sealing {
            holders,
            left_out,
            routed_to,
        })
    }

    /// The officers who may read reports, with their names and groups, for the form's
    /// leave-out choice and the landing page (only shown when the organisation allows it).
    pub fn listed(&self) -> Vec<Reader> {
        self.candidate_ids()
            .into_iter()
            .filter_map(|id| {
                let o = self.directory.officers.iter().find(|o| o.id == id)?;
                Some(Reader {
                    groups: self
                        .directory
                        .groups
                        .iter()
                        .filter(|g| g.members.contains(&id))
                        .map(|g| g.name.clone())
                        .collect(),
                    name: o.name.clone(),
                    id,
                })
            })
            .collect()
    }

    /// The categories that route, as (category, group name, its readers' names).
    pub fn routed(&self) -> Vec<(&Category, &str, Vec<String>)> {
        self.site
            .categories
            .iter()
            .filter_map(|c| {
                let group = self.site.route(&c.code)?;
                Some((c, group, self.names(&self.readers(&c.code))))
            })
            .collect()
    }

    /// The names of the officers with these ids, in that order.
    pub fn names(&self, ids: &[OfficerId]) -> Vec<String> {
        ids.iter()
            .filter_map(|id| self.directory.officers.iter().find(|o| &o.id == id))
            .map(|o| o.name.clone())
            .collect()
    }

    /// `script#intake-keys`'s routes: for each category that routes, the holders (as stored,
    /// `officer:<id>`) the browser seals to instead of every holder.
    pub fn routes_for_browser(&self) -> BTreeMap<String, Vec<String>> {
        self.site
            .routes
            .iter()
            .map(|(category, _)| {
                let readers = self.readers(category);
                let holders = readers
                    .into_iter()
                    .map(|id| Holder::Officer(id).to_db())
                    .collect();
                (category.clone(), holders)
            })
            .collect()
    }

    /// `script#intake-keys` for a form the browser seals (the reporter's, an officer's
    /// entered report): every candidate holder, the escrow, and each category's route.
    /// `<` is escaped so the JSON cannot close its script element.
    pub fn intake_keys(&self) -> String {
        #[derive(serde::Serialize)]
        struct Key<'a> {
            holder: String,
            recipient: std::borrow::Cow<'a, str>,
        }
        #[derive(serde::Serialize)]
        struct Keys<'a> {
            holders: Vec<Key<'a>>,
            escrow: Option<String>,
            routes: BTreeMap<String, Vec<String>>,
        }
        // Each officer's key as stored (it parsed, so it is a recipient): encoding the parsed
        // key again on every view of the form was a noticeable part of the page's cost.
        let text = |h: &Holder, r: &Recipient| {
            let stored = self.directory.officers.iter().find(|o| h.is_officer(&o.id));
            match stored {
                Some(o) => std::borrow::Cow::Borrowed(o.recipient.trim()),
                None => std::borrow::Cow::Owned(r.to_string()),
            }
        };
        let keys = Keys {
            holders: (self.candidates.iter())
                .map(|(h, r)| Key {
                    holder: h.to_db(),
                    recipient: text(h, r),
                })
                .collect(),
            escrow: self.site.escrow.as_ref().map(|r| r.to_string()),
            routes: self.routes_for_browser(),
        };
        serde_json::to_string(&keys)
            .unwrap_or_default()
            .replace('<', "\\u003c")
    }
}

/// The routes an admin chose on the settings page, checked against the categories saved
/// with them and the triage groups: each names a group with at least one member.
pub fn routes_of(
    input: &SettingsInput,
    categories: &[Category],
    groups: &[GroupRecord],
) -> Result<BTreeMap<String, String>, &'static str> {
    let mut out = BTreeMap::new();
    for c in categories {
        let chosen = input.routes.get(&c.code).map_or("", |g| g.trim());
        if chosen.is_empty() {
            continue;
        }
        match groups.iter().find(|g| g.name == chosen) {
            Some(g) if !g.members.is_empty() => {
                out.insert(c.code.clone(), g.name.clone());
            }
            _ => return Err("routing.error.route"),
        }
    }
    Ok(out)
}

/// The routes as the `settings_changed` audit row describes them: each routed category, and
/// whether reporters may leave officers out, when they may (nothing when routing is unused).
pub fn routes_detail(routes: &BTreeMap<String, String>, leave_out: bool) -> String {
    let routes: String = routes
        .iter()
        .map(|(c, g)| format!(", {c} routed to {g}"))
        .collect();
    let leave = if leave_out {
        ", reporter leave-outs on"
    } else {
        ""
    };
    format!("{routes}{leave}")
}

/// Who manages groups: an admin on the web, or the machine's operator on the command line.
fn actor(who: Option<&OfficerRecord>) -> Result<String> {
    match who {
        Some(a) => {
            super::accounts::require(a, Permission::ChangeSettings)?;
            Ok(a.email.clone())
        }
        None => Ok(CLI_ACTOR.to_owned()),
    }
}

/// Every triage group with its members.
pub async fn groups(app: &App) -> Result<Vec<GroupRecord>> {
    Ok(app.store.triage_groups().await?)
}

/// Adds a triage group (audited `triage_group_added`). `Invalid` for a name that does not
/// read or is taken.
pub async fn add_group(app: &App, who: Option<&OfficerRecord>, typed: &str) -> Result<String> {
    let actor = actor(who)?;
    let name = routing::group_name(typed).ok_or(Error::Invalid)?;
    let audit = entry(
        app.clock.now(),
        &actor,
        action::TRIAGE_GROUP_ADDED,
        "",
        &name,
    );
    if app.store.add_triage_group(&name, &audit).await? {
        Ok(name)
    } else {
        Err(Error::Invalid)
    }
}

/// Puts an officer in a group or takes them out (audited `triage_group_member_added` /
/// `_removed`). Members must have the officer role: only they open cases without a grant.
/// The last member of a group a category routes to stays (the route would reach nobody).
pub async fn set_member(
    app: &App,
    who: Option<&OfficerRecord>,
    group: &str,
    email: &str,
    member: bool,
) -> Result<()> {
    let actor = actor(who)?;
    let email = email.trim().to_lowercase();
    let officer = app
        .store
        .officers()
        .await?
        .into_iter()
        .find(|o| o.email == email)
        .ok_or(Error::NotFound)?;
    if member && !officer.roles.has(Role::Officer) {
        return Err(Error::Invalid);
    }
    let groups = app.store.triage_groups().await?;
    let g = groups
        .iter()
        .find(|g| g.name == group.trim())
        .ok_or(Error::NotFound)?;
    let routed = app.site.get().routes.iter().any(|(_, r)| r == &g.name);
    if !member && routed && g.members.len() == 1 {
        return Err(Error::Invalid);
    }
    let name = if member {
        action::TRIAGE_GROUP_MEMBER_ADDED
    } else {
        action::TRIAGE_GROUP_MEMBER_REMOVED
    };
    let detail = format!("{} {}", g.name, officer.email);
    let audit = entry(app.clock.now(), &actor, name, "", &detail);
    if app
        .store
        .set_group_member(&g.name, &officer.id, member, &audit)
        .await?
    {
        Ok(())
    } else {
        Err(Error::Invalid)
    }
}

/// Renames a triage group (audited `triage_group_renamed`, "old to new"): its members, the
/// categories that route to it and the cases routed to it follow, in one transaction.
/// `NotFound` for no such group; `Invalid` for a name that does not read or is taken (or
/// routes an admin saved meanwhile: try again).
pub async fn rename_group(
    app: &App,
    who: Option<&OfficerRecord>,
    from: &str,
    typed: &str,
) -> Result<String> {
    let actor = actor(who)?;
    let to = routing::group_name(typed).ok_or(Error::Invalid)?;
    let groups = app.store.triage_groups().await?;
    let from = &groups
        .iter()
        .find(|g| g.name == from.trim())
        .ok_or(Error::NotFound)?
        .name;
    // The routes as stored (not as cached), so the rename writes over exactly what it read.
    let (seen, routes) = stored_routes(app).await?;
    let renamed: BTreeMap<String, String> = routes
        .iter()
        .map(|(c, g)| (c.clone(), if g == from { to.clone() } else { g.clone() }))
        .collect();
    let renamed = serde_json::to_string(&renamed).map_err(|_| Error::Invalid)?;
    let routes = match &seen {
        Some(seen) if routes.values().any(|g| g == from) => Some((seen.as_str(), renamed.as_str())),
        _ => None,
    };
    let detail = format!("{from} to {to}");
    let audit = entry(
        app.clock.now(),
        &actor,
        action::TRIAGE_GROUP_RENAMED,
        "",
        &detail,
    );
    if !app
        .store
        .rename_triage_group(from, &to, routes, &audit)
        .await?
    {
        return Err(Error::Invalid);
    }
    app.site.refresh(app.store(), &app.settings).await?;
    Ok(to)
}

/// The `category_routes` setting as stored (its text, and the routes it holds), read afresh
/// rather than from the cache another instance's save may not have reached yet.
async fn stored_routes(app: &App) -> Result<(Option<String>, BTreeMap<String, String>)> {
    let seen = app
        .store
        .site_settings()
        .await?
        .into_iter()
        .find(|(name, _)| name == super::settings::CATEGORY_ROUTES)
        .map(|(_, value)| value);
    let routes = seen
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    Ok((seen, routes))
}

/// Deletes a triage group (audited `triage_group_deleted`). `NotFound` for no such group;
/// `Invalid` while a category routes to it or any case was routed to it: those cases are
/// seen only by its members, and deleting it would leave them to nobody (rename it instead).
pub async fn delete_group(app: &App, who: Option<&OfficerRecord>, name: &str) -> Result<()> {
    let actor = actor(who)?;
    let groups = app.store.triage_groups().await?;
    let name = &groups
        .iter()
        .find(|g| g.name == name.trim())
        .ok_or(Error::NotFound)?
        .name;
    if stored_routes(app).await?.1.values().any(|g| g == name) {
        return Err(Error::Invalid);
    }
    let audit = entry(
        app.clock.now(),
        &actor,
        action::TRIAGE_GROUP_DELETED,
        "",
        name,
    );
    if app.store.delete_triage_group(name, &audit).await? {
        Ok(())
    } else {
        Err(Error::Invalid)
    }
}

/// One reporter's leave-out in force: the case, and the officer left out of it.
pub struct LeaveOut {
    pub reference: String,
    pub received_on: time::Date,
    pub officer: OfficerRecord,
}

/// Every leave-out in force, for the auditors (the only ones who may lift one).
pub async fn leave_outs(app: &App, who: &OfficerRecord) -> Result<Vec<LeaveOut>> {
    super::accounts::require(who, Permission::ReadAudit)?;
    let access = app.store.all_case_access().await?;
    let cases = app.store.cases().await?;
    let officers = app.store.officers().await?;
    let mut out: Vec<LeaveOut> = access
        .iter()
        .filter(|a| {
            a.kind == crate::domain::holder::AccessKind::Exclusion
                && a.by_officer.as_str() == routing::BY_REPORTER
        })
        .filter_map(|a| {
            let case = cases.iter().find(|c| c.id == a.case_id)?;
            let officer = officers.iter().find(|o| o.id == a.officer_id)?;
            Some(LeaveOut {
                reference: case.reference.clone(),
                received_on: case.received_on,
                officer: officer.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.reference, &a.officer.email).cmp(&(&b.reference, &b.officer.email)));
    Ok(out)
}

/// An auditor lifts a reporter's leave-out (audited `leave_out_lifted`, with the officer's
/// address): the officer is no longer excluded and may then be granted the case like any
/// colleague. `NotFound` when there is no such leave-out.
pub async fn lift_leave_out(
    app: &App,
    who: &OfficerRecord,
    reference: &str,
    account: &str,
) -> Result<()> {
    super::accounts::require(who, Permission::ReadAudit)?;
    let case = app
        .store
        .case_by_reference(reference.trim())
        .await?
        .ok_or(Error::NotFound)?;
    let officer = app
        .store
        .officer(&OfficerId::from(account.trim()))
        .await?
        .ok_or(Error::NotFound)?;
    let audit = entry(
        app.clock.now(),
        &who.email,
        action::LEAVE_OUT_LIFTED,
        &case.reference,
        &officer.email,
    );
    if app
        .store
        .lift_leave_out(&case.id, &officer.id, &audit)
        .await?
    {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// A report draft's problems (the intake's checks), and the routing's: the category must
/// reach someone and the leave-outs must be acceptable. Catalog keys, as the form lists them.
pub fn problems(site: &Site, plan: &Plan, d: &super::intake::Draft) -> Vec<&'static str> {
    let mut errors = super::intake::check(site, d);
    if site.category(&d.category).is_some()
        && let Err(e) = plan.check(&d.category, &d.leave_out)
    {
        errors.push(e.key());
    }
    errors
}
