//! What admins change in the web UI without a restart: the organisation's name, the notice
//! shown on the landing page (per language), the report categories and the escrow
//! recipient. The configuration file gives the defaults; rows in `site_settings` override
//! them. All of it is public or metadata: none of it is case content.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Category, Settings};
use crate::domain::officer::parse_recipient;
use crate::i18n::Lang;
use crate::store::{Store, StoreResult};

pub const ORG_NAME: &str = "org_name";
pub const NOTICE: &str = "landing_notice";
pub const CATEGORIES: &str = "categories";
pub const ESCROW: &str = "escrow_recipient";
pub const RETENTION: &str = "retention_months";

#[derive(Debug, Clone)]
pub struct Site {
    pub org_name: String,
    /// Extra text on the landing page, by language code; empty when unset.
    pub notice: HashMap<String, String>,
    pub categories: Vec<Category>,
    pub escrow: Option<age::x25519::Recipient>,
    /// Months after closing that a case is deleted; 0 keeps cases until deleted by hand.
    pub retention_months: u8,
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

    pub fn notice(&self, lang: Lang) -> &str {
        self.notice.get(lang.code()).map_or("", String::as_str)
    }

    fn from_rows(settings: &Settings, rows: Vec<(String, String)>) -> Self {
        let mut site = Site {
            org_name: settings.org_name.clone(),
            notice: HashMap::new(),
            categories: settings.categories.clone(),
            escrow: settings.escrow_recipient.clone(),
            retention_months: 0,
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
                    .map(|v| site.retention_months = v.min(crate::retention::MAX_MONTHS))
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
