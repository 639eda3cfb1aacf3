//! The reporter pages every visitor gets alike (the landing pages and the empty intake
//! forms), kept rendered. Keeps rule `reporter-anonymity`: a cached page holds nothing of any
//! visitor, only what every visitor of that language sees in that minute (the form's CSRF
//! token is a MAC over the minute alone), so serving it again links nobody to anybody.
//!
//! A page is rendered again when anything it was made from changes: the minute (the form's
//! token), the site settings (a reload swaps them), the officer directory (`holder_cache`:
//! any account, entity or group change in this process, and every few seconds) or, for an
//! entity's page, the entity as read for this request. Each stamp holds the `Arc`s it was
//! made from, so a pointer compared is never a pointer reused.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::body::Bytes;
use axum::response::{Html, IntoResponse, Response};

use crate::app::entities::Entity;
use crate::app::holder_cache::Directory;
use crate::app::routing::Plan;
use crate::app::settings::Site;
use crate::i18n::Lang;
use crate::web::SharedState;
use crate::web::shared::error::AppError;

/// Which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Page {
    Landing,
    Intake,
}

/// What a cached page was made from; equal stamps make equal pages.
#[derive(Clone)]
pub struct Stamp {
    /// The minute of the form's token (`None` for a page with no form).
    pub minute: Option<i64>,
    pub site: Arc<Site>,
    pub directory: Arc<Directory>,
    pub entity: Option<Entity>,
}

impl Stamp {
    /// What a page of `entity`'s intake would be made from now. `form`: the page carries the
    /// form's token, so the minute counts.
    pub async fn now(
        state: &SharedState,
        form: bool,
        entity: Option<&Entity>,
    ) -> Result<Self, AppError> {
        Ok(Self {
            minute: form.then(|| state.clock.now().unix_timestamp() / 60),
            site: state.site.get(),
            directory: state.intake_holders.get(state.store()).await?,
            entity: entity.cloned(),
        })
    }

    /// The routing plan of the page's intake, from the directory the stamp holds.
    pub fn plan(&self, state: &SharedState) -> Plan {
        Plan::of(state, self.entity.as_ref(), self.directory.clone())
    }

    fn same(&self, other: &Stamp) -> bool {
        self.minute == other.minute
            && Arc::ptr_eq(&self.site, &other.site)
            && Arc::ptr_eq(&self.directory, &other.directory)
            && self.entity == other.entity
    }
}

type Key = (Page, Lang, Option<String>);

/// Rendered pages by page, language and entity slug. Entries exist only for entities that
/// were found, so the map is bounded by the entities an admin made, times 2 pages and 4
/// languages.
#[derive(Default)]
pub struct PageCache(RwLock<HashMap<Key, (Stamp, Bytes)>>);

impl PageCache {
    /// The page kept for `stamp`, if it was made from the same things.
    pub fn get(&self, page: Page, lang: Lang, stamp: &Stamp) -> Option<Response> {
        let kept = self.0.read().unwrap_or_else(PoisonError::into_inner);
        let (s, body) = kept.get(&key(page, lang, stamp))?;
        s.same(stamp).then(|| Html(body.clone()).into_response())
    }

    /// Keeps a page just rendered from `stamp` (or the rendering's failure, as an error page)
    /// and serves it.
    pub fn keep(
        &self,
        page: Page,
        lang: Lang,
        stamp: Stamp,
        rendered: Result<String, askama::Error>,
    ) -> Result<Response, AppError> {
        let body = Bytes::from(rendered.map_err(AppError::internal)?);
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key(page, lang, &stamp), (stamp, body.clone()));
        Ok(Html(body).into_response())
    }
}

fn key(page: Page, lang: Lang, stamp: &Stamp) -> Key {
    (
        page,
        lang,
        stamp.entity.as_ref().map(|e| e.slug.to_string()),
    )
}
