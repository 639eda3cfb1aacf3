//! What admins change in the web UI without a restart, and the one source of truth for it:
//! the organisation's name, the notice shown on the landing page (per language), the report
//! categories, the escrow recipient, the retention period, and (routing before sealing) each
//! category's triage group and whether reporters may leave officers out. The configuration
//! file gives the starting values; rows in `site_settings` override them. Every page, the
//! intake and the mailbox read them from [`Site`]. All of it is public or metadata: none of it is case content.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::audit::{action, entry};
use super::{App, Error};
use crate::config::{Category, Settings};
use crate::domain::case::Outcome;
use crate::domain::officer::parse_recipient;
use crate::domain::retention::{MAX_MONTHS, Policy};
use crate::i18n::Lang;
use crate::store::{OfficerRecord, Store, StoreResult};

pub const ORG_NAME: &str = "org_name";
pub const NOTICE: &str = "landing_notice";
pub const CATEGORIES: &str = "categories";
pub const ESCROW: &str = "escrow_recipient";
pub const RETENTION: &str = "retention_months";
pub const RETENTION_BY_OUTCOME: &str = "retention_by_outcome";
// --- routing before sealing (issue 12) ---
pub const CATEGORY_ROUTES: &str = "category_routes";
pub const REPORTER_LEAVE_OUT: &str = "reporter_leave_out";

#[derive(Debug, Clone)]
pub struct Site {
    pub org_name: String,
    /// Extra text on the landing page, by language code; empty when unset.
    pub notice: HashMap<String, String>,
    pub categories: Vec<Category>,
    pub escrow: Option<age::x25519::Recipient>,
    /// Months after closing that a case is deleted; 0 keeps cases until deleted by hand.
    pub retention_months: u8,
    /// Periods for particular outcomes, replacing `retention_months` for those cases.
    pub retention_by_outcome: Vec<(Outcome, u8)>,
    /// Categories that route to a triage group instead of every triage officer, as
    /// (category code, group name); see `app::routing`.
    pub routes: Vec<(String, String)>,
    /// Whether the reporter sees who would read the report and may leave out up to two of
    /// them (default off).
    pub reporter_leave_out: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredCategory {
    code: String,
    en: Option<String>,
    nl: Option<String>,
    fr: Option<String>,
    de: Option<String>,
}

impl Site {
    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The retention periods as `domain::retention` applies them.
    pub fn retention(&self) -> Policy {
        Policy {
            months: self.retention_months,
            by_outcome: self.retention_by_outcome.clone(),
        }
    }

    /// The triage group a category routes to, if it routes.
    pub fn route(&self, category: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|(c, _)| c == category)
            .map(|(_, g)| g.as_str())
    }

    pub fn notice(&self, lang: Lang) -> &str {
        self.notice.get(lang.code()).map_or("", String::as_str)
    }

    fn from_rows(settings: &Settings, rows: Vec<(String, String)>) -> Self {
        let mut site = Site {
            org_name: settings.site.org_name.clone(),
            notice: HashMap::new(),
            categories: settings.site.categories.clone(),
            escrow: settings.site.escrow_recipient.clone(),
            retention_months: 0,
            retention_by_outcome: Vec::new(),
            routes: Vec::new(),
            reporter_leave_out: false,
        };
        for (name, value) in rows {
            let ok = match name.as_str() {
                ORG_NAME => serde_json::from_str(&value)
                    .map(|v| site.org_name = v)
                    .is_ok(),
                NOTICE => serde_json::from_str(&value)
                    .map(|v| site.notice = v)
                    .is_ok(),
                CATEGORIES => serde_json::from_str::<Vec<StoredCategory>>(&value)
                    .map(|v| site.categories = v.into_iter().map(Into::into).collect())
                    .is_ok(),
                ESCROW => match serde_json::from_str::<String>(&value) {
                    Ok(s) if s.is_empty() => {
                        site.escrow = None;
                        true
                    }
                    Ok(s) => parse_recipient(&s).map(|r| site.escrow = Some(r)).is_ok(),
                    Err(_) => false,
                },
                RETENTION => serde_json::from_str::<u8>(&value)
                    .map(|v| site.retention_months = v.min(MAX_MONTHS))
                    .is_ok(),
                RETENTION_BY_OUTCOME => by_outcome_from_json(&value)
                    .map(|v| site.retention_by_outcome = v)
                    .is_some(),
                CATEGORY_ROUTES => {
                    serde_json::from_str::<std::collections::BTreeMap<String, String>>(&value)
                        .map(|v| site.routes = v.into_iter().collect())
                        .is_ok()
                }
                REPORTER_LEAVE_OUT => serde_json::from_str(&value)
                    .map(|v| site.reporter_leave_out = v)
                    .is_ok(),
                _ => true,
            };
            if !ok {
                tracing::warn!(setting = %name, "ignoring a malformed site setting");
            }
        }
        site
    }
}

impl From<StoredCategory> for Category {
    fn from(c: StoredCategory) -> Self {
        Category {
            code: c.code,
            en: c.en,
            nl: c.nl,
            fr: c.fr,
            de: c.de,
        }
    }
}

pub fn categories_json(categories: &[Category]) -> String {
    let v: Vec<StoredCategory> = categories
        .iter()
        .map(|c| StoredCategory {
            code: c.code.clone(),
            en: c.en.clone(),
            nl: c.nl.clone(),
            fr: c.fr.clone(),
            de: c.de.clone(),
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

/// The current settings, readable without waiting: refreshed after every change on this
/// instance and every few seconds from the database (for other instances' changes).
pub struct SiteHolder(std::sync::RwLock<Arc<Site>>);

/// How long an instance may show settings another instance has just changed.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

impl SiteHolder {
    pub async fn load(store: &dyn Store, settings: &Settings) -> StoreResult<Self> {
        let site = Site::from_rows(settings, store.site_settings().await?);
        Ok(Self(std::sync::RwLock::new(Arc::new(site))))
    }

    pub fn get(&self) -> Arc<Site> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub async fn refresh(&self, store: &dyn Store, settings: &Settings) -> StoreResult<()> {
        let site = Arc::new(Site::from_rows(settings, store.site_settings().await?));
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = site;
        Ok(())
    }
}

/// What an admin submits on the settings page, as typed.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub org_name: String,
    /// Landing notice per language code.
    pub notices: HashMap<String, String>,
    /// One category per line: `code | English | Nederlands | Français | Deutsch`.
    pub categories: String,
    pub escrow: String,
    pub retention_months: String,
    /// Per outcome word, the months as typed; empty: the organisation's period.
    pub retention_by_outcome: HashMap<String, String>,
    /// Per category code, the triage group chosen (empty: every triage officer).
    pub routes: HashMap<String, String>,
    /// The reporter may leave out officers.
    pub reporter_leave_out: bool,
}

impl SettingsInput {
    /// The current settings as the form shows them.
    pub fn from_site(site: &Site) -> Self {
        Self {
            org_name: site.org_name.clone(),
            notices: Lang::ALL
                .iter()
                .map(|l| (l.code().to_owned(), site.notice(*l).to_owned()))
                .collect(),
            categories: categories_text(&site.categories),
            escrow: site
                .escrow
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            retention_months: site.retention_months.to_string(),
            retention_by_outcome: site
                .retention_by_outcome
                .iter()
                .map(|(o, m)| (o.as_str().to_owned(), m.to_string()))
                .collect(),
            routes: site.routes.iter().cloned().collect(),
            reporter_leave_out: site.reporter_leave_out,
        }
    }
}

/// Validates and saves the settings with their audit row, then reloads them on this
/// instance. On refusal, the catalog keys of every problem.
pub async fn save(
    app: &App,
    admin: &OfficerRecord,
    input: &SettingsInput,
) -> Result<Result<(), Vec<&'static str>>, Error> {
    super::accounts::require(admin, crate::domain::permission::Permission::ChangeSettings)?;
    let groups = app.store.triage_groups().await?;
    let (rows, detail) = match validate(input, &groups) {
        Ok(v) => v,
        Err(errors) => return Ok(Err(errors)),
    };
    let audit = entry(
        app.clock.now(),
        &admin.email,
        action::SETTINGS_CHANGED,
        "",
        &detail,
    );
    let rows: Vec<(&str, String)> = rows.into_iter().collect();
    app.store.set_site_settings(&rows, &audit).await?;
    app.site.refresh(app.store(), &app.settings).await?;
    Ok(Ok(()))
}

type Rows = Vec<(&'static str, String)>;

fn validate(
    input: &SettingsInput,
    groups: &[crate::store::GroupRecord],
) -> Result<(Rows, String), Vec<&'static str>> {
    let mut errors = Vec::new();
    let org = input.org_name.trim().to_owned();
    if org.is_empty() || org.chars().count() > 200 {
        errors.push("settings.error.org_name");
    }
    let mut notice = HashMap::new();
    for l in Lang::ALL {
        let text = input.notices.get(l.code()).map_or("", |t| t.trim());
        if text.chars().count() > 2000 {
            errors.push("settings.error.notice");
        }
        if !text.is_empty() {
            notice.insert(l.code().to_owned(), text.to_owned());
        }
    }
    let categories = parse_categories(&input.categories);
    if categories.is_none() {
        errors.push("settings.error.categories");
    }
    let retention = months(&input.retention_months).map(|m| m.unwrap_or(0));
    if retention.is_none() {
        errors.push("settings.error.retention");
    }
    let by_outcome = by_outcome(input);
    if by_outcome.is_none() {
        errors.push("retention.error_outcome");
    }
    let escrow = input.escrow.trim().to_owned();
    if !escrow.is_empty() && parse_recipient(&escrow).is_err() {
        errors.push("settings.error.escrow");
    }
    let routes = categories
        .as_deref()
        .map(|c| super::routing::routes_of(input, c, groups));
    if let Some(Err(e)) = &routes {
        errors.push(*e);
    }
    let (Some(categories), Some(retention), Some(by_outcome), Some(Ok(routes)), true) =
        (categories, retention, by_outcome, routes, errors.is_empty())
    else {
        errors.dedup();
        return Err(errors);
    };
    let periods: String = by_outcome
        .iter()
        .map(|(o, m)| format!(", {o} {m}"))
        .collect();
    let detail = format!(
        "organisation name, landing notices, {} categories, escrow {}, retention {retention} months{periods}{}",
        categories.len(),
        if escrow.is_empty() {
            "none"
        } else {
            escrow.as_str()
        },
        super::routing::routes_detail(&routes, input.reporter_leave_out),
    );
    let rows = vec![
        (ORG_NAME, json(&org)),
        (NOTICE, json(&notice)),
        (CATEGORIES, categories_json(&categories)),
        (ESCROW, json(&escrow)),
        (RETENTION, json(&retention)),
        (RETENTION_BY_OUTCOME, by_outcome_json(&by_outcome)),
        (CATEGORY_ROUTES, json(&routes)),
        (REPORTER_LEAVE_OUT, json(&input.reporter_leave_out)),
    ];
    Ok((rows, detail))
}

/// A period as typed: empty is `Some(None)`; a whole number of months up to the maximum is
/// `Some(Some(m))`; anything else `None`.
fn months(typed: &str) -> Option<Option<u8>> {
    match typed.trim() {
        "" => Some(None),
        t => t.parse::<u8>().ok().filter(|m| *m <= MAX_MONTHS).map(Some),
    }
}

/// The periods typed for particular outcomes (the empty ones left out).
fn by_outcome(input: &SettingsInput) -> Option<Vec<(Outcome, u8)>> {
    let mut out = Vec::new();
    for o in Outcome::ALL {
        let typed = input.retention_by_outcome.get(o.as_str()).map_or("", |s| s);
        if let Some(m) = months(typed)? {
            out.push((*o, m));
        }
    }
    Some(out)
}

fn by_outcome_json(v: &[(Outcome, u8)]) -> String {
    let map: std::collections::BTreeMap<&str, u8> =
        v.iter().map(|(o, m)| (o.as_str(), *m)).collect();
    json(&map)
}

fn by_outcome_from_json(value: &str) -> Option<Vec<(Outcome, u8)>> {
    let map: std::collections::BTreeMap<String, u8> = serde_json::from_str(value).ok()?;
    map.into_iter()
        .map(|(k, m)| Some((k.parse::<Outcome>().ok()?, m.min(MAX_MONTHS))))
        .collect()
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The categories as the settings form's text: one per line.
pub fn categories_text(categories: &[Category]) -> String {
    categories
        .iter()
        .map(|c| {
            let mut line = c.code.clone();
            for l in [&c.en, &c.nl, &c.fr, &c.de] {
                line.push_str(" | ");
                line.push_str(l.as_deref().unwrap_or(""));
            }
            line.trim_end_matches([' ', '|']).to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One category per line: `code | English | Nederlands | Français | Deutsch`; built-in
/// codes may leave the labels out.
pub fn parse_categories(text: &str) -> Option<Vec<Category>> {
    let mut out: Vec<Category> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.split('|').map(str::trim);
        let code = parts.next()?.to_owned();
        let mut label = || parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
        let c = Category {
            code,
            en: label(),
            nl: label(),
            fr: label(),
            de: label(),
        };
        if !c.is_valid() || out.iter().any(|o| o.code == c.code) {
            return None;
        }
        out.push(c);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_through_text() {
        let cats =
            parse_categories("fraud\nsafety-rail | Rail safety | Spoorveiligheid\n").unwrap();
        assert_eq!(cats.len(), 2);
        assert_eq!(cats[1].nl.as_deref(), Some("Spoorveiligheid"));
        assert_eq!(parse_categories(&categories_text(&cats)).unwrap(), cats);
        assert!(parse_categories("custom-without-label").is_none());
        assert!(parse_categories("fraud\nfraud").is_none());
        assert!(parse_categories("Bad Code | x").is_none());
        assert!(parse_categories("").is_none());
    }
}
