//! Legal entities (issue 12), one implementation for the command line and the admin page:
//! adding an entity, its names and the settings it sets for itself (landing notice,
//! categories, retention period, escalation address; each absent one is the instance's),
//! and its triage group (members, and group-level officers who belong to every entity).
//! Every change commits with its audit row. The rule of who is in which group is
//! `domain::entity::Membership`; intake (`intake::recipients`) seals to it and casework
//! shows an officer only their entities' cases (`visible`).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::accounts::require;
use super::audit::{action, entry};
use super::settings::{Site, categories_json, categories_text, parse_categories};
use super::{App, Error, Result};
use crate::config::Category;
use crate::domain::audit::CLI_ACTOR;
use crate::domain::entity::{EntityNames, EntitySlug, LANGS, Membership};
use crate::domain::holder::{AccessKind, OfficerId};
use crate::domain::permission::Permission;
use crate::domain::retention::MAX_MONTHS;
use crate::i18n::Lang;
use crate::store::{AccessRecord, CaseRecord, EntityRecord, OfficerRecord};

/// The longest landing notice an entity may set, per language.
const NOTICE_MAX: usize = 2000;

/// What an entity sets for itself; `None` (or a missing language) is the instance's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Overrides {
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub notice: HashMap<String, String>,
    /// The categories as JSON (the site settings' stored form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_months: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_email: Option<String>,
    /// Whether reporters may leave officers out (`reporter_leave_out`); `None`: as the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter_leave_out: Option<bool>,
}

/// An entity with its settings read.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub slug: EntitySlug,
    pub names: EntityNames,
    pub overrides: Overrides,
    /// Whether it has a logo, served at `/e/{slug}/logo.png`.
    pub has_logo: bool,
}

impl Entity {
    fn of(r: EntityRecord) -> Self {
        let overrides = serde_json::from_str(&r.overrides).unwrap_or_else(|_| {
            tracing::warn!(entity = %r.slug, "ignoring an entity's malformed settings");
            Overrides::default()
        });
        Self {
            slug: r.slug,
            names: r.names,
            overrides,
            has_logo: r.has_logo,
        }
    }

    pub fn name(&self, lang: Lang) -> &str {
        self.names.get(lang.code())
    }

    /// The instance's settings with this entity's own in their place.
    pub fn site(&self, instance: &Site) -> Site {
        let mut site = instance.clone();
        for (lang, text) in &self.overrides.notice {
            site.notice.insert(lang.clone(), text.clone());
        }
        if let Some(c) = self.categories() {
            site.categories = c;
        }
        if let Some(m) = self.overrides.retention_months {
            site.retention_months = m;
        }
        if let Some(on) = self.overrides.reporter_leave_out {
            site.reporter_leave_out = on;
        }
        site
    }

    fn categories(&self) -> Option<Vec<Category>> {
        serde_json::from_str(self.overrides.categories.as_deref()?).ok()
    }
}

/// The settings a case of this entity (`None`: the instance's own) is read with on the
/// officer pages: its categories' labels, its retention period. An entity since removed
/// reads with the instance's.
pub async fn site_for(app: &App, entity: Option<&EntitySlug>) -> Result<Arc<Site>> {
    let instance = app.site.get();
    let Some(slug) = entity else {
        return Ok(instance);
    };
    Ok(
        match list(app).await?.into_iter().find(|e| &e.slug == slug) {
            Some(e) => Arc::new(e.site(&instance)),
            None => instance,
        },
    )
}

/// [`site_for`] for pages that show many cases: every entity's settings, read once.
pub struct Sites {
    instance: Arc<Site>,
    by_slug: HashMap<EntitySlug, Site>,
}

impl Sites {
    pub async fn load(app: &App) -> Result<Self> {
        let instance = app.site.get();
        let by_slug = list(app)
            .await?
            .into_iter()
            .map(|e| {
                let site = e.site(&instance);
                (e.slug, site)
            })
            .collect();
        Ok(Self { instance, by_slug })
    }

    /// The settings a case of this entity is read with.
    pub fn of(&self, entity: Option<&EntitySlug>) -> &Site {
        entity
            .and_then(|e| self.by_slug.get(e))
            .unwrap_or(&self.instance)
    }
}

/// Every entity, by slug.
pub async fn list(app: &App) -> Result<Vec<Entity>> {
    Ok(app
        .store
        .entities()
        .await?
        .into_iter()
        .map(Entity::of)
        .collect())
}

/// The entities an officer may enter a report into: those whose triage group they are in
/// (every entity for a group-level officer). The instance's own intake is always offered too.
pub async fn of_officer(app: &App, who: &OfficerId) -> Result<Vec<Entity>> {
    let membership = app.store.membership().await?;
    Ok(list(app)
        .await?
        .into_iter()
        .filter(|e| membership.in_group(who, Some(&e.slug)))
        .collect())
}

/// The entity a reporter's address names; `NotFound` for a slug that is malformed or unknown.
pub async fn find(app: &App, slug: &str) -> Result<Entity> {
    let slug = EntitySlug::parse(slug).map_err(|_| Error::NotFound)?;
    let record = app.store.entity(&slug).await?.ok_or(Error::NotFound)?;
    Ok(Entity::of(record))
}

/// Who changes entities: a signed-in admin, or the operator on the command line.
#[derive(Clone, Copy)]
pub enum By<'a> {
    Admin(&'a OfficerRecord),
    Cli,
}

impl<'a> By<'a> {
    pub(crate) fn actor(self) -> Result<&'a str> {
        match self {
            By::Admin(a) => {
                require(a, Permission::ManageAccounts)?;
                Ok(&a.email)
            }
            By::Cli => Ok(CLI_ACTOR),
        }
    }
}

/// Adds an entity named `name` in every language. `Invalid` for a malformed slug or name;
/// `Ok(false)` when the slug is taken.
pub async fn create(app: &App, by: By<'_>, slug: &str, name: &str) -> Result<bool> {
    let actor = by.actor()?;
    let slug = EntitySlug::parse(slug).map_err(|_| Error::Invalid)?;
    let names = EntityNames::same(name).map_err(|_| Error::Invalid)?;
    let now = app.clock.now();
    let record = EntityRecord {
        slug,
        names,
        overrides: "{}".into(),
        created_at: now.unix_timestamp(),
        has_logo: false,
    };
    let audit = entry(now, actor, action::ENTITY_CREATED, "", record.slug.as_str());
    Ok(app.store.create_entity(&record, &audit).await?)
}

/// What an admin types for an entity's settings: a name and a notice per language, the
/// categories (one per line as on the settings page; empty: the instance's), the retention
/// period in months (empty: the instance's) and an escalation address (empty: the instance's).
#[derive(Debug, Clone, Default)]
pub struct EntityInput {
    pub names: HashMap<String, String>,
    pub notices: HashMap<String, String>,
    pub categories: String,
    pub retention_months: String,
    pub escalation_email: String,
    /// `on`, `off`, or empty for the instance's setting.
    pub reporter_leave_out: String,
}

impl EntityInput {
    pub fn from_entity(e: &Entity) -> Self {
        let names = LANGS
            .iter()
            .map(|l| ((*l).to_owned(), e.names.get(l).to_owned()))
            .collect();
        let categories = e
            .categories()
            .map(|c| categories_text(&c))
            .unwrap_or_default();
        Self {
            names,
            notices: e.overrides.notice.clone(),
            categories,
            retention_months: e
                .overrides
                .retention_months
                .map(|m| m.to_string())
                .unwrap_or_default(),
            escalation_email: e.overrides.escalation_email.clone().unwrap_or_default(),
            reporter_leave_out: match e.overrides.reporter_leave_out {
                Some(true) => "on".into(),
                Some(false) => "off".into(),
                None => String::new(),
            },
        }
    }
}

/// Checks the input; the catalog keys of its problems on refusal.
fn validate(
    input: &EntityInput,
) -> std::result::Result<(EntityNames, Overrides), Vec<&'static str>> {
    let mut errors = Vec::new();
    let pairs: Vec<(&str, &str)> = LANGS
        .iter()
        .map(|l| (*l, input.names.get(*l).map_or("", String::as_str)))
        .collect();
    let names = EntityNames::each(&pairs);
    if names.is_err() {
        errors.push("entities.error.name");
    }
    let mut o = Overrides::default();
    for lang in LANGS {
        let text = input.notices.get(lang).map_or("", |s| s.trim());
        if text.chars().count() > NOTICE_MAX {
            errors.push("entities.error.notice");
        } else if !text.is_empty() {
            o.notice.insert(lang.to_owned(), text.to_owned());
        }
    }
    if !input.categories.trim().is_empty() {
        match parse_categories(&input.categories) {
            Some(c) => o.categories = Some(categories_json(&c)),
            None => errors.push("entities.error.categories"),
        }
    }
    match input.retention_months.trim() {
        "" => {}
        m => match m.parse::<u8>() {
            Ok(m) if m <= MAX_MONTHS => o.retention_months = Some(m),
            _ => errors.push("entities.error.retention"),
        },
    }
    match input.escalation_email.trim() {
        "" => {}
        e if crate::domain::officer::OfficerEmail::parse(e).is_ok() => {
            o.escalation_email = Some(e.to_owned())
        }
        _ => errors.push("entities.error.escalation"),
    }
    match input.reporter_leave_out.trim() {
        "" => {}
        "on" => o.reporter_leave_out = Some(true),
        "off" => o.reporter_leave_out = Some(false),
        _ => errors.push("entity_leave_out.error"),
    }
    match names {
        Ok(n) if errors.is_empty() => Ok((n, o)),
        _ => Err(errors),
    }
}

/// Saves an entity's names and settings with their audit row.
pub async fn save(
    app: &App,
    admin: &OfficerRecord,
    slug: &str,
    input: &EntityInput,
) -> Result<std::result::Result<(), Vec<&'static str>>> {
    let actor = By::Admin(admin).actor()?;
    let entity = find(app, slug).await?;
    let (names, overrides) = match validate(input) {
        Ok(v) => v,
        Err(errors) => return Ok(Err(errors)),
    };
    let record = EntityRecord {
        slug: entity.slug,
        names,
        overrides: serde_json::to_string(&overrides).map_err(Error::internal)?,
        created_at: 0,
        has_logo: false,
    };
    let audit = entry(
        app.clock.now(),
        actor,
        action::ENTITY_CHANGED,
        "",
        record.slug.as_str(),
    );
    match app.store.update_entity(&record, &audit).await? {
        true => Ok(Ok(())),
        false => Err(Error::NotFound),
    }
}

/// Puts an officer in an entity's triage group or takes them out; `Ok(false)` when that
/// was already so. `NotFound` for an unknown entity or officer.
pub async fn set_member(
    app: &App,
    by: By<'_>,
    slug: &str,
    officer: &OfficerId,
    member: bool,
) -> Result<bool> {
    let actor = by.actor()?;
    let entity = find(app, slug).await?;
    let who = app.store.officer(officer).await?.ok_or(Error::NotFound)?;
    let act = match member {
        true => action::ENTITY_MEMBER_ADDED,
        false => action::ENTITY_MEMBER_REMOVED,
    };
    let detail = format!("{} {}", entity.slug, who.email);
    let audit = entry(app.clock.now(), actor, act, "", &detail);
    Ok(app
        .store
        .set_entity_member(&entity.slug, officer, member, &audit)
        .await?)
}

/// Gives an officer access to every entity, or takes it away.
pub async fn set_group_level(app: &App, by: By<'_>, officer: &OfficerId, on: bool) -> Result<bool> {
    let actor = by.actor()?;
    let who = app.store.officer(officer).await?.ok_or(Error::NotFound)?;
    let act = match on {
        true => action::GROUP_ACCESS_GIVEN,
        false => action::GROUP_ACCESS_REMOVED,
    };
    let audit = entry(app.clock.now(), actor, act, "", &who.email);
    Ok(app.store.set_group_level(officer, on, &audit).await?)
}

/// Whether a case is within this person's reach: they are in its entity's triage group (and,
/// for a routed case, in the group it was routed to), or a colleague granted it to them.
pub fn visible(
    m: &Membership,
    who: &OfficerId,
    case: &CaseRecord,
    access: &[AccessRecord],
) -> bool {
    let granted = access
        .iter()
        .any(|a| a.case_id == case.id && &a.officer_id == who && a.kind == AccessKind::Grant);
    granted || m.reads(who, case.entity.as_ref(), case.routed_to.as_deref())
}

/// Makes an entity's triage group exactly `wanted` (the admin page's checkboxes): each officer
/// added or taken out is one audited change.
pub async fn set_members(
    app: &App,
    admin: &OfficerRecord,
    slug: &str,
    wanted: &[OfficerId],
) -> Result<()> {
    By::Admin(admin).actor()?;
    let entity = find(app, slug).await?;
    let membership = app.store.membership().await?;
    for o in app.store.officers().await? {
        let now = membership
            .members
            .contains(&(entity.slug.clone(), o.id.clone()));
        let want = wanted.contains(&o.id);
        if now != want {
            set_member(app, By::Admin(admin), slug, &o.id, want).await?;
        }
    }
    Ok(())
}

/// Makes the group-level officers exactly `wanted`, one audited change per officer.
pub async fn set_group(app: &App, admin: &OfficerRecord, wanted: &[OfficerId]) -> Result<()> {
    By::Admin(admin).actor()?;
    let membership = app.store.membership().await?;
    for o in app.store.officers().await? {
        let want = wanted.contains(&o.id);
        if membership.group_level.contains(&o.id) != want {
            set_group_level(app, By::Admin(admin), &o.id, want).await?;
        }
    }
    Ok(())
}
